/* session.c - the FUSE session: libfuse's low-level API, its mount, and
 * the loop of worker threads that serves it.
 *
 * The workers (up to SESSION_MAX_THREADS, since 3.14 ignores
 * `-o max_threads`) each answer one request at a time; after a burst the
 * pool shrinks back to SESSION_IDLE_THREADS waiting ones: libfuse 3.12+
 * never ends an idle worker unless told (its default is -1), so one
 * burst of 60 concurrent requests kept 60 threads and their stacks for
 * the mount's life.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"

#include "fs.h"
#include "session.h"
#include "ops.h"

#define SESSION_MAX_THREADS 64
#define SESSION_IDLE_THREADS 4

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

int fs_session_loop(struct fuse_session *se)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	if (!lc)
		return 1;
	fuse_loop_cfg_set_max_threads(lc, SESSION_MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(lc, SESSION_IDLE_THREADS);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	/* The loop returns the signal that ended it (SIGINT, SIGTERM,
	 * SIGHUP: a clean stop, exit 0) or a negative errno. */
	int res = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return res == 0 || res == SIGINT || res == SIGTERM ||
	       res == SIGHUP ? 0 : 1;
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
