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

#include "process.h"

int overlay_create(const char *qemu_img, const char *base, const char *fmt,
		   const char *overlay, int timeout_ms, char *why,
		   size_t whylen)
{
	char *bin = process_find_binary(qemu_img);
	if (!bin) {
		snprintf(why, whylen, "%s: %s", qemu_img, strerror(errno));
		return -EIO;
	}
	char *const argv[] = { bin, "create", "-q", "-f", "qcow2", "-b",
			       (char *)base, "-F", (char *)fmt,
			       (char *)overlay, NULL };
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
	snprintf(why, whylen, "overlay for %s: %s", base,
		 got ? out : "qemu-img failed");
	unlink(overlay);
	return -EIO;
}
