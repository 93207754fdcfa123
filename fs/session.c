/* session.c - the FUSE session: libfuse's low-level API, its mount, the
 * workers that serve it (workers.c), and how it ends.
 *
 * A signal (SIGINT, SIGTERM, SIGHUP) ends the mount in order, on the
 * main thread, never in a handler: first follow/'s readers get end of
 * file and close while every worker still serves (their closes are
 * answered), then the workers stop, each after the request it holds.
 * libfuse's own signal handlers are not used: they mark the session
 * exited at once, and 3.14 drops the requests read after that mark.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

#include "fs.h"
#include "session.h"
#include "ops.h"
#include "workers.h"

/* How often the end checks whether follow/'s readers are leaving. */
#define SESSION_FOLLOW_POLL_MS 20

int fs_session_new(struct emufs_fs *fs, const char *argv0,
		   const char *source, const char *fuse_opts, bool debug,
		   const char *mountpoint, const char *shown,
		   struct fuse_session **out)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char *ours = NULL, *fsname = NULL;
	int status = 1;

	/* The user's -o options come after ours: theirs win. The source
	 * is escaped: a config path may hold a comma. */
	if (asprintf(&fsname, "fsname=%s", source) < 0) {
		fsname = NULL;
		goto out;
	}
	if (fuse_opt_add_opt(&ours, "subtype=emufs") ||
	    fuse_opt_add_opt_escaped(&ours, fsname) ||
	    fuse_opt_add_arg(&args, argv0) ||
	    fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, ours) ||
	    (fuse_opts && (fuse_opt_add_arg(&args, "-o") ||
			   fuse_opt_add_arg(&args, fuse_opts))) ||
	    (debug && fuse_opt_add_arg(&args, "-d")))
		goto out;
	se = fuse_session_new(&args, &emufs_ll_ops, sizeof emufs_ll_ops, fs);
	if (!se) {
		fprintf(stderr, "emufs: bad FUSE options\n");
		status = 2;
		goto out;
	}
	if (fuse_session_mount(se, mountpoint)) {
		fprintf(stderr, "emufs: cannot mount on %s\n", shown);
		goto out_destroy;
	}
	/* Emulators are forked later: they must not inherit /dev/fuse. */
	fcntl(fuse_session_fd(se), F_SETFD, FD_CLOEXEC);
	*out = se;
	status = 0;
	goto out;
out_destroy:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	free(ours);
	free(fsname);
	return status;
}

/* The signals that end the mount reach the loop's thread through a pipe
 * their handler writes to; so does the end of the session by itself. */
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t end_signal;
static volatile sig_atomic_t end_signals;   /* a second one: hurry */

static void wake_loop(void)
{
	int saved = errno;
	ssize_t n = write(wake_pipe[1], "", 1);  /* full: a wake is pending */
	(void)n;
	errno = saved;
}

static void on_end_signal(int sig)
{
	end_signal = sig;
	end_signals = end_signals + 1;
	wake_loop();
}

static int handle_signals(void (*handler)(int))
{
	static const int ends[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
		if (sigaction(ends[i], &sa, NULL))
			return -1;
	return 0;
}

/* Let follow/'s readers see end of file and close while every worker
 * still serves: each close is answered. Ends when none is open, when
 * none closed for end->idle_ms (the rest keep their files: tail -f), after
 * end->max_ms, at a second signal, or when the session ends by itself. */
static void let_followers_leave(const struct fs_session_end *end)
{
	end->begin(end->opaque);
	long long stop = clock_now_ms() + end->max_ms;
	long long quiet_since = clock_now_ms();
	size_t left = end->open(end->opaque);
	while (left > 0 && clock_ms_left(stop) > 0 && end_signals < 2 &&
	       clock_now_ms() - quiet_since < end->idle_ms) {
		if (workers_wait(SESSION_FOLLOW_POLL_MS))
			return;
		size_t now = end->open(end->opaque);
		if (now < left)
			quiet_since = clock_now_ms();
		left = now;
	}
}

/* Test hook (tests/integration/test_props_cache.sh):
 * EMUFS_TEST_WORKERS_STOPPED_DELAY_MS makes the end linger once no
 * worker reads requests any more, saying so on stderr, so a test can
 * send requests nobody will read. Unset (0) in normal use. */
static void workers_stopped_delay(void)
{
	const char *e = getenv("EMUFS_TEST_WORKERS_STOPPED_DELAY_MS");
	int ms = e ? atoi(e) : 0;
	if (ms <= 0)
		return;
	fprintf(stderr, "emufs: test: the workers stopped\n");
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L },
		  NULL);
}

int fs_session_loop(struct fuse_session *se, const struct fs_session_end *end)
{
	int status = 1;
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK)) {
		end->quiet(end->opaque);
		return 1;
	}
	end_signal = 0;
	end_signals = 0;
	if (handle_signals(on_end_signal) || workers_start(se, wake_loop)) {
		end->quiet(end->opaque);
		goto out;
	}
	/* Sleep until a signal, or the session's own end (an unmount). */
	while (!end_signal && !workers_wait(0)) {
		struct pollfd p = { wake_pipe[0], POLLIN, 0 };
		char drop[16];
		if (poll(&p, 1, -1) > 0)
			while (read(wake_pipe[0], drop, sizeof drop) > 0)
				;
	}
	if (end_signal)
		let_followers_leave(end);
	/* A notification waits in the kernel for a directory a LOOKUP
	 * holds: stopped after the workers, it would wait forever. */
	end->quiet(end->opaque);
	status = workers_stop() ? 1 : 0;
	workers_stopped_delay();
out:
	handle_signals(SIG_DFL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	return status;
}

void fs_session_drain(struct fuse_session *se, bool (*busy)(void *),
		      void *opaque, int idle_ms, int max_ms)
{
	struct fuse_buf buf = { 0 };
	long long end = clock_now_ms() + max_ms;
	/* The loop reset the session (fuse_session_reset): it serves. */
	while (busy(opaque)) {
		struct pollfd p = { fuse_session_fd(se), POLLIN, 0 };
		int left = clock_ms_left(end);
		if (left > idle_ms)
			left = idle_ms;
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		int res = fuse_session_receive_buf(se, &buf);
		if (res == -EINTR)
			continue;
		if (res <= 0)
			break;
		fuse_session_process_buf(se, &buf);
	}
	free(buf.mem);
}
