/* overlay.c - qcow2 overlays over drive images (see overlay.h). */
#include "overlay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/process.h"

/* Run qemu-img with args (after the binary), waiting at most timeout_ms:
 * 0, or -errno with qemu-img's first line of output in why. */
static int qemu_img(const char *qemu_img, const char *const args[],
		    int timeout_ms, const char *what, char *why, size_t whylen)
{
	char *bin = process_find_binary(qemu_img);
	if (!bin) {
		snprintf(why, whylen, "%s: %s", qemu_img, strerror(errno));
		return -EIO;
	}
	char *argv[16] = { bin };
	for (size_t i = 0; args[i] && i + 2 < sizeof argv / sizeof *argv; i++)
		argv[i + 1] = (char *)args[i];
	struct process p;
	int rc = process_spawn(argv, NULL, &p, why, whylen);
	free(bin);
	if (rc)
		return -EIO;
	char out[512];
	size_t got = 0;
	int ws = 0;
	struct pollfd pf = { p.pidfd, POLLIN, 0 };
	if (poll(&pf, 1, timeout_ms) <= 0) {
		process_signal(&p, SIGKILL);
		waitpid(p.pid, NULL, 0);
		process_release(&p);
		snprintf(why, whylen, "qemu-img did not finish in %d ms",
			 timeout_ms);
		return -ETIMEDOUT;
	}
	waitpid(p.pid, &ws, 0);
	ssize_t n;
	while (got < sizeof out - 1 &&
	       (n = read(p.outfd, out + got, sizeof out - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	process_release(&p);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	snprintf(why, whylen, "%s: %s", what, got ? out : "qemu-img failed");
	return strstr(out, "No space left") ? -ENOSPC : -EIO;
}

int overlay_create(const char *qemu_img_bin, const char *base,
		   const char *fmt, const char *overlay, int timeout_ms,
		   char *why, size_t whylen)
{
	const char *const args[] = { "create", "-q", "-f", "qcow2", "-b", base,
				     "-F", fmt, overlay, NULL };
	char what[64 + 1024];
	snprintf(what, sizeof what, "overlay for %s", base);
	int rc = qemu_img(qemu_img_bin, args, timeout_ms, what, why, whylen);
	if (rc && rc != -ETIMEDOUT)
		unlink(overlay);
	return rc;
}

int overlay_create_empty(const char *qemu_img_bin, const char *file,
			 const char *size, int timeout_ms, char *why,
			 size_t whylen)
{
	const char *const args[] = { "create", "-q", "-f", "qcow2", file, size,
				     NULL };
	int rc = qemu_img(qemu_img_bin, args, timeout_ms, file, why, whylen);
	if (rc && rc != -ETIMEDOUT)
		unlink(file);
	return rc;
}
