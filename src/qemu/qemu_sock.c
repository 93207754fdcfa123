/* qemu_sock.c - the unix sockets a QEMU launch listens on, the FIFOs of
 * its serial channels (see qemu_sock.h).
 */
#include "qemu_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/run.h"

int qemu_sock_path(struct run *r, const char *name, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s/%s.sock", run_dir(r), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int qemu_sock_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 4) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Accept QEMU's connection on lfd before the deadline; -EIO if the
 * process ends first. */
int qemu_sock_accept(struct run *r, int lfd, long long deadline)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (run_exited(r))
			return -EIO;
		long long left = deadline - clock_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p[2] = { { lfd, POLLIN, 0 },
				       { run_exit_fd(r), POLLIN, 0 } };
		poll(p, 2, left > 100 ? 100 : (int)left);
	}
}

int qemu_fifo_path(struct run *r, const char *name, char *buf, size_t len)
{
	/* Room for the ".in"/".out" QEMU appends. */
	int n = snprintf(buf, len, "%s/%s.pipe", run_dir(r), name);
	return n < 0 || (size_t)n + 4 >= len ? -ENAMETOOLONG : 0;
}

/* path + suffix into buf (qemu_fifo_path left room for it). */
static void fifo_name(char *buf, size_t len, const char *path,
		      const char *suffix)
{
	snprintf(buf, len, "%s%s", path, suffix);
}

int qemu_fifo_open(const char *path, int *out, int *in)
{
	char name[PATH_MAX];
	int fds[2] = { -1, -1 };
	static const char *const suffix[2] = { ".out", ".in" };
	for (int i = 0; i < 2; i++) {
		fifo_name(name, sizeof name, path, suffix[i]);
		unlink(name);
		if (mkfifo(name, 0600) < 0 ||
		    (fds[i] = open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
			int e = -errno;
			if (fds[0] >= 0)
				close(fds[0]);
			qemu_fifo_unlink(path);
			return e;
		}
	}
	*out = fds[0];
	*in = fds[1];
	return 0;
}

void qemu_fifo_unlink(const char *path)
{
	char name[PATH_MAX];
	fifo_name(name, sizeof name, path, ".out");
	unlink(name);
	fifo_name(name, sizeof name, path, ".in");
	unlink(name);
}
