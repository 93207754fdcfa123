/* launch_attach.c - the launcher of an emulator someone else started
 * (targets.*.attach, interface.md 6): there is no process of emufs's.
 * What the run watches, signals and reaps (run.c) is the attachment:
 * "spawn" makes an eventfd that stands for the pidfd, and "signal" ends
 * the attachment, which makes it readable, so the run's end takes the
 * path of a process's end:
 *
 * - SIGTERM: emufs let go (`stop`): status 0, the emulator runs on;
 * - any other signal (SIGKILL): the link broke, or the start failed:
 *   the status of that signal, which the instance turns into `crashed`.
 *
 * The connector sends them (qemu_attach.c, qemu_link.c); the emulator
 * itself never gets a signal from here.
 */
#include "launcher.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "process.h"

static int attach_spawn(struct ioloop *loop, char *const argv[],
			char *const env[], struct process *p, char *why,
			size_t whylen)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		snprintf(why, whylen, "eventfd: %s", strerror(errno));
		return -EIO;
	}
	p->pid = 0;
	p->pidfd = fd;
	p->outfd = -1;
	atomic_store(&p->ended, -1);
	return 0;
}

static void attach_signal(struct process *p, int sig)
{
	int want = -1;
	int status = sig == SIGTERM ? 0 : (sig & 0x7f);   /* as waitpid's */
	/* The first end is the one: a stop racing a broken link. */
	if (p->pidfd < 0 ||
	    !atomic_compare_exchange_strong(&p->ended, &want, status))
		return;
	uint64_t one = 1;
	/* Cannot fail: the counter is far from its maximum. */
	ssize_t n = write(p->pidfd, &one, sizeof one);
	(void)n;
}

static int attach_reap(struct process *p, int *wstatus)
{
	int st = atomic_load(&p->ended);
	if (st < 0)
		return 0;
	*wstatus = st;
	return 1;
}

static void attach_release(struct process *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

static void attach_describe(int wstatus, char *buf, size_t len)
{
	snprintf(buf, len, "%s", wstatus == 0
		 ? "was left running (emufs disconnected)"
		 : "can no longer be reached (its link broke)");
}

const struct launcher launcher_attach = {
	.name = "attach",
	.owns_process = false,
	.spawn = attach_spawn,
	.signal = attach_signal,
	.reap = attach_reap,
	.release = attach_release,
	.describe = attach_describe,
};
