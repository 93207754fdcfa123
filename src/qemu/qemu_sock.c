/* qemu_sock.c - the endpoints of a QEMU launch: unix socket and FIFOs
 * for a local QEMU, TCP listeners for a launched one (see qemu_sock.h).
 */
#include "qemu_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
#include "core/config.h"
#include "core/run.h"
#include "core/tcplink.h"
#include "core/tls.h"
#include "core/tlsrelay.h"

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

/* ---- a launch's endpoints ------------------------------------------ */

/* One TCP listener on settings.listen into *fd, *port. */
static int listen_tcp(struct run *r, int *fd, int *port, const char *what,
		      char *why, size_t whylen)
{
	int rc = tcplink_listen(r->target->listen, port);
	if (rc < 0) {
		snprintf(why, whylen, "listen on %s for %s: %s",
			 r->target->listen, what, strerror(-rc));
		return rc;
	}
	*fd = rc;
	return 0;
}

int qemu_links_open(struct run *r, struct qemu_links *l, char *why,
		    size_t whylen)
{
	const struct cfg_target *t = r->target;
	char path[PATH_MAX - 16];   /* room for qemu_fifo_* suffixes */
	size_t n = t->nchannels;

	l->tcp = t->launcher != NULL;
	l->qmp_fd = l->gdb_fd = -1;
	l->fd = malloc((n + 1) * sizeof *l->fd);
	l->wfd = malloc((n + 1) * sizeof *l->wfd);
	l->port = calloc(n + 1, sizeof *l->port);
	if (!l->fd || !l->wfd || !l->port) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		l->fd[i] = l->wfd[i] = -1;
	l->n = n;
	int rc;
	if (l->tcp) {
		/* QMP, then the gdb stub (-gdb chardev:emufs-gdb). */
		if (!(rc = listen_tcp(r, &l->qmp_fd, &l->qmp_port, "QMP", why,
				      whylen)))
			rc = listen_tcp(r, &l->gdb_fd, &l->gdb_port, "gdb",
					why, whylen);
	} else if ((rc = qemu_sock_path(r, "qmp", path, sizeof path)) ||
		   (rc = l->qmp_fd = qemu_sock_listen(path)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(-rc));
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *name = t->channels[i].name;
		if (l->tcp) {
			rc = listen_tcp(r, &l->fd[i], &l->port[i], name, why,
					whylen);
		} else if ((rc = qemu_fifo_path(r, name, path, sizeof path)) ||
			   (rc = qemu_fifo_open(path, &l->fd[i],
						&l->wfd[i]))) {
			snprintf(why, whylen, "%s: %s", path, strerror(-rc));
		}
		if (rc)
			return rc;
	}
	return 0;
}

void qemu_relays_free(struct qemu_relays *t)
{
	for (size_t i = 0; i < t->n; i++)
		tls_relay_free(t->v[i]);
	free(t->v);
	tls_creds_free(t->tls);
	memset(t, 0, sizeof *t);
}

/* With settings.tls: the TLS handshake on fd as the server (QEMU must
 * present a client certificate of our CA), then a relay on the I/O loop;
 * the plain end of the relay, or -EPROTO with l->tls_why. The run keeps
 * the credentials and the relay (qemu_release frees them). */
static int tls_up(struct run *r, struct qemu_links *l, int fd,
		  const char *what, long long deadline)
{
	struct qemu_relays *t = l->relays;
	char why[224] = "";
	int rc = 0;
	if (!t->tls && (rc = tls_creds_load(r->target->tls_dir, &t->tls, why,
					    sizeof why))) {
		close(fd);
	} else if (!t->v && !(t->v = calloc(l->n + 2, sizeof *t->v))) {
		/* QMP, gdb, and each channel */
		close(fd);
		rc = -ENOMEM;
	}
	struct tls_link *link = NULL;
	if (!rc)
		rc = tls_open(t->tls, fd, true, NULL, clock_ms_left(deadline),
			      &link, why, sizeof why);
	int plain = -1;
	/* One byte per record towards QEMU (core/tlsrelay.h says why). */
	if (!rc && (rc = tls_relay_start(run_loop(r), link, 1, &plain,
					 &t->v[t->n])) == 0) {
		t->n++;
		run_log(r, "%s link: TLS, QEMU's client certificate verified",
			what);
		return plain;
	}
	if (rc == -ENOMEM || (!why[0] && rc))
		snprintf(why, sizeof why, "%s", strerror(-rc));
	snprintf(l->tls_why, sizeof l->tls_why, "%s link: %s", what, why);
	return -EPROTO;
}

/* The connection QEMU made to listener lfd, tuned for a dead peer when
 * it is TCP, and TLS with settings.tls; lfd is closed, its name
 * removed. */
static int accept_link(struct run *r, struct qemu_links *l, int *lfd,
		       const char *what, long long deadline)
{
	int fd = qemu_sock_accept(r, *lfd, deadline);
	close(*lfd);
	*lfd = -1;
	if (fd >= 0 && l->tcp) {
		int rc = tcplink_tune(fd, r->timeout_ms);
		if (rc) {
			close(fd);
			return rc;
		}
		if (r->target->tls_dir)
			fd = tls_up(r, l, fd, what, deadline);
	}
	return fd;
}

int qemu_links_qmp(struct run *r, struct qemu_links *l, long long deadline)
{
	return accept_link(r, l, &l->qmp_fd, "QMP", deadline);
}

int qemu_links_gdb(struct run *r, struct qemu_links *l, long long deadline)
{
	return accept_link(r, l, &l->gdb_fd, "gdb", deadline);
}

int qemu_links_channel(struct run *r, struct qemu_links *l, size_t i,
		       long long deadline, int *fd, int *wfd)
{
	if (!l->tcp) {
		/* QEMU opened every FIFO before its monitor answered. */
		*fd = l->fd[i];
		*wfd = l->wfd[i];
		l->fd[i] = l->wfd[i] = -1;
		return 0;
	}
	/* QEMU dialled every chardev during its start-up: the connection
	 * waits in the backlog. */
	int c = accept_link(r, l, &l->fd[i], r->target->channels[i].name,
			    deadline);
	if (c < 0)
		return c;
	*fd = *wfd = c;
	return 0;
}

void qemu_links_close(struct run *r, struct qemu_links *l)
{
	char path[PATH_MAX - 16];   /* room for qemu_fifo_* suffixes */

	if (l->qmp_fd >= 0)
		close(l->qmp_fd);
	if (l->tcp && l->gdb_fd >= 0)
		close(l->gdb_fd);
	if (!l->tcp && qemu_sock_path(r, "qmp", path, sizeof path) == 0)
		unlink(path);
	for (size_t i = 0; i < l->n; i++) {
		if (l->fd[i] >= 0)
			close(l->fd[i]);
		if (l->wfd[i] >= 0)
			close(l->wfd[i]);
		if (!l->tcp && qemu_fifo_path(r, r->target->channels[i].name,
					      path, sizeof path) == 0)
			qemu_fifo_unlink(path);
	}
	free(l->fd);
	free(l->wfd);
	free(l->port);
	memset(l, 0, sizeof *l);
	l->qmp_fd = -1;
}
