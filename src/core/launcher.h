/* launcher.h - how an emulator process comes to exist, apart from how
 * emufs talks to it (the connector, connector.h), as pw_emu's
 * Launcher/Connector split.
 *
 * A launcher turns an argv (built by the connector) into a process that
 * emufs can signal, reap and read the output of: a local fork
 * (launch_local.c), which also serves a scheduler's prefix (srun: the
 * prefixed argv is one more local child, run.c); or, for an emulator
 * someone else started (targets.*.attach), no process at all
 * (launch_attach.c): what the run watches, signals and reaps is then the
 * attachment itself, which ends when emufs disconnects or the link
 * breaks. The run (run.h) holds the launcher it was started with and
 * calls it for every step of the process's life.
 */
#ifndef EMUFS_LAUNCHER_H
#define EMUFS_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>

struct ioloop;
struct process;

struct launcher {
	const char *name;
	/* Whether the process is emufs's to end: false for an attachment,
	 * whose emulator `stop` leaves running and `kill` may not touch. */
	bool owns_process;
	/* Make the process of argv, with env's NAME=VALUE strings added
	 * to its environment (env may be NULL), filling p: a pidfd that
	 * turns readable when it ends and a non-blocking fd of its
	 * output. Called from a command's thread; loop is the core's I/O
	 * loop. -errno and one line in why on failure. */
	int (*spawn)(struct ioloop *loop, char *const argv[],
		     char *const env[], struct process *p, char *why,
		     size_t whylen);
	/* Send sig; a no-op once reaped. */
	void (*signal)(struct process *p, int sig);
	/* Without blocking: 1 and the wait status when it ended, 0 while it
	 * runs, -errno. */
	int (*reap)(struct process *p, int *wstatus);
	/* Close what spawn opened (after reaping). */
	void (*release)(struct process *p);
	/* One line for `log` on how it ended (from reap's status). */
	void (*describe)(int wstatus, char *buf, size_t len);
};

/* A child of emufs, forked from the I/O loop thread (launch_local.c). */
extern const struct launcher launcher_local;
/* No process: an emulator someone else started (launch_attach.c). */
extern const struct launcher launcher_attach;

#endif
