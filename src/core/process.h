/* process.h - spawning and signalling emulator processes.
 *
 * Emulators are started from an argv array with execv(), never through a
 * shell. The child gets PR_SET_PDEATHSIG(SIGKILL) (and checks that its
 * parent is still the one that forked it, closing the race with a parent
 * that died during fork()), its own session (so a Ctrl-C on emufs's
 * terminal does not reach it), /dev/null as stdin, one pipe as stdout and
 * stderr, and no other file descriptor of emufs (no /dev/fuse, no socket).
 *
 * The parent-death signal follows the thread that forked, so callers fork
 * from the I/O loop thread, which lives as long as emufs.
 */
#ifndef EMUFS_PROCESS_H
#define EMUFS_PROCESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

struct process {
	pid_t pid;
	int pidfd;    /* readable once the process ended */
	int outfd;    /* read end of its stdout+stderr, non-blocking */
	/* A launcher without a process (launch_attach.c): the wait status
	 * the attachment ended with, -1 while it lasts; set once. */
	atomic_int ended;
};

/* Resolve a binary name against PATH (unless it holds a '/'). Returns a
 * malloc'd absolute or relative path, or NULL with errno set. */
char *process_find_binary(const char *name);

/* Fork and exec argv[0] (a path) with emufs's environment, in which the
 * NAME=VALUE strings of env (NULL-terminated; env may be NULL) replace or
 * add variables. The environment is set here, not through env(1), which
 * would read a binary path holding '=' as one more assignment. On failure
 * returns -errno and writes why to err; exec failures in the child are
 * reported here too. */
int process_spawn(char *const argv[], char *const env[], struct process *p,
		  char *err, size_t errlen);

/* Reap without blocking. Returns 1 and the wait status when the process
 * ended, 0 when it still runs, -errno on error. */
int process_reap(struct process *p, int *wstatus);

/* Send a signal; a no-op once the process was reaped. */
void process_signal(struct process *p, int sig);

/* Close the descriptors (after reaping). */
void process_release(struct process *p);

/* A one-line description of a wait status: "exited with status 1",
 * "killed by signal 9 (Killed)". */
void process_describe_status(int wstatus, char *buf, size_t len);

#endif
