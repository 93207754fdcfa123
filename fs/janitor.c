/* janitor.c - the janitor and its keeper (see janitor.h). */
#include "janitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/process.h"
#include "core/statedir.h"
#include "mountpoint.h"

/* Wait between attempts when a janitor cannot be started (no fork). */
#define JANITOR_RETRY_MS 1000

/* One janitor per emufs. Set by janitor_start() before the keeper thread
 * starts; from then on pid and sock belong to the keeper alone, and to
 * janitor_dismiss() once it has joined the keeper. */
static struct {
	char *state_dir, *mountpoint;
	char *fusermount;       /* found before any fork(): getenv, malloc */
	int lock_fd;
	pid_t pid;              /* the current janitor, or -1 */
	int sock;               /* emufs's end of the socket to it, or -1 */
	int stop[2];            /* pipe: janitor_dismiss() wakes the keeper */
	pthread_t keeper;
	bool keeping;           /* the keeper thread runs */
} jan = { .lock_fd = -1, .pid = -1, .sock = -1, .stop = { -1, -1 } };

/* Close every descriptor above 2 but keep_a and keep_b (> 2, or -1). */
static void close_all_but(int keep_a, int keep_b)
{
	if (keep_b < 0)
		keep_b = keep_a;
	int lo = keep_a < keep_b ? keep_a : keep_b;
	int hi = keep_a < keep_b ? keep_b : keep_a;
	if (lo > 3)
		close_range(3, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0U, 0);
}

/* fusermount3 -u -z: a dead mount goes at once, whoever still has it
 * open. */
static void unmount_dead(char *fusermount, char *mountpoint)
{
	if (!fusermount)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { fusermount, "-u", "-z", "-q", mountpoint,
				 NULL };
		execv(fusermount, argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* The janitor's whole life. It may be forked from a threaded emufs (a
 * restart): it calls only syscalls and the malloc family (which glibc
 * makes safe in the child of a fork) through statedir_salvage(). */
static void janitor_main(int sock)
{
	close_all_but(sock, jan.lock_fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_IGN);        /* terminal signals are for emufs */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "emufs-janitor");
	char byte;
	ssize_t n;
	do
		n = read(sock, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);       /* emufs cleaned up itself */
	/* Unmount first, so that the mount point is free soonest; the lock
	 * (lock_fd) is released only when this process exits, after the
	 * state directory is in order. */
	unmount_dead(jan.fusermount, jan.mountpoint);
	statedir_salvage(jan.state_dir);
	statedir_remove(jan.state_dir);
	_exit(0);
}

/* Fork a janitor; 0, or -errno. */
static int spawn(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		close(sv[0]);
		janitor_main(sv[1]);
	}
	close(sv[1]);
	jan.sock = sv[0];
	jan.pid = pid;
	return 0;
}

/* The keeper: the janitor never writes, so its end of the socket becomes
 * readable (EOF) only when it died. Then start another. */
static void *keeper_main(void *arg)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = jan.stop[0], .events = POLLIN },
			{ .fd = jan.sock, .events = POLLIN },
		};
		int timeout = jan.sock < 0 ? JANITOR_RETRY_MS : -1;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;                  /* janitor_dismiss() */
		if (jan.sock >= 0 && !p[1].revents)
			continue;
		if (jan.sock >= 0) {
			close(jan.sock);
			jan.sock = -1;
			while (waitpid(jan.pid, NULL, 0) < 0 && errno == EINTR)
				;
			fprintf(stderr, "emufs: the janitor (pid %d) died\n",
				(int)jan.pid);
			jan.pid = -1;
		}
		int rc = spawn();
		if (rc)
			fprintf(stderr, "emufs: cannot start a janitor: %s\n",
				strerror(-rc));
		else
			fprintf(stderr, "emufs: started a new janitor (pid %d)\n",
				(int)jan.pid);
	}
	return NULL;
}

/* Whether the mount on mountpoint is an emufs's. */
static bool is_emufs_mount(const char *mountpoint)
{
	char type[64], source[256];
	return mountpoint_mounted(mountpoint, type, sizeof type, source,
				  sizeof source) && !strcmp(type, "fuse.emufs");
}

void janitor_clear_dead_mount(const char *mountpoint)
{
	struct stat st;
	if (stat(mountpoint, &st) == 0 || errno != ENOTCONN ||
	    !is_emufs_mount(mountpoint))
		return;
	fprintf(stderr, "emufs: %s: unmounting the dead mount of an emufs "
		"that was killed\n", mountpoint);
	char *fusermount = process_find_binary("fusermount3");
	char *mp = strdup(mountpoint);
	if (mp)
		unmount_dead(fusermount, mp);
	free(mp);
	free(fusermount);
}

void janitor_start(const char *state_dir, const char *mountpoint,
		   int lock_fd)
{
	jan.state_dir = strdup(state_dir);
	jan.mountpoint = strdup(mountpoint);
	jan.fusermount = process_find_binary("fusermount3");
	jan.lock_fd = lock_fd;
	if (!jan.state_dir || !jan.mountpoint)
		return;
	int rc = spawn();       /* if it fails, the keeper tries again */
	if (rc)
		fprintf(stderr, "emufs: cannot start a janitor: %s\n",
			strerror(-rc));
	if (pipe2(jan.stop, O_CLOEXEC) < 0)
		return;
	jan.keeping = pthread_create(&jan.keeper, NULL, keeper_main,
				     NULL) == 0;
}

void janitor_dismiss(void)
{
	if (jan.keeping) {
		(void)!write(jan.stop[1], "x", 1);
		pthread_join(jan.keeper, NULL);
		jan.keeping = false;
	}
	/* A janitor killed meanwhile has closed its end: EPIPE
	 * (MSG_NOSIGNAL, though main ignores SIGPIPE anyway). */
	if (jan.sock >= 0) {
		(void)!send(jan.sock, "c", 1, MSG_NOSIGNAL);
		close(jan.sock);
		jan.sock = -1;
	}
	for (int i = 0; i < 2; i++)
		if (jan.stop[i] >= 0)
			close(jan.stop[i]);
	jan.stop[0] = jan.stop[1] = -1;
	free(jan.state_dir);
	free(jan.mountpoint);
	free(jan.fusermount);
	jan.state_dir = jan.mountpoint = jan.fusermount = NULL;
}
