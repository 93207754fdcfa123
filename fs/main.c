/* main.c - emufs's start and end: the command line (options.c), the
 * mount; the janitor that cleans up after an emufs that was killed:
 * janitor.c.
 *
 * Order matters: the command line and the configuration are validated
 * before anything is mounted (exit 2); then the mount point, before the
 * state directory's lock, so that a mounted one is refused at once, not
 * after waiting for the lock its emufs holds; the mount is made before
 * daemonizing (so a script can
 * use it when emufs returns); threads (the core's I/O loop) start only
 * after the fork of fuse_daemonize().
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_load.h"
#include "core/core.h"
#include "follow_lines.h"
#include "fs.h"
#include "handlers.h"
#include "janitor.h"
#include "mount.h"
#include "mountwatch.h"
#include "mountpoint.h"
#include "options.h"
#include "pollers.h"
#include "propcache.h"
#include "session.h"
#include "waiters.h"
#include "core/statedir.h"

static char *absolute(const char *path)
{
	char *out, cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		return strdup(path);
	return asprintf(&out, "%s/%s", cwd, path) < 0 ? NULL : out;
}

/* How the end of the mount goes on serving the files still open, so that
 * their close is answered rather than aborted: follow/'s readers, which
 * just got end of file and close (a thousand of them on a loaded machine
 * take seconds), as long as they keep closing; then, after the workers,
 * any other file mid-request, briefly. */
#define FOLLOW_LEAVE_IDLE_MS 5000
#define FOLLOW_LEAVE_MAX_MS 30000
#define DRAIN_IDLE_MS 200
#define DRAIN_MAX_MS 1000

/* The end of the session (fs_session_end.quiet): no props/ notification
 * may be left waiting in the kernel once the workers stop. */
static void props_quiet(void *opaque)
{
	propcache_stop(opaque);
}

static void *autostart_main(void *arg)
{
	core_autostart(arg);
	return NULL;
}

/* Refuse a mount point that is not free (mountpoint.h); 0 if it is.
 * A dead emufs mount is the janitor's to remove (janitor.h): it may be
 * doing so right now, holding the state directory's lock; unless
 * after_lock, let it be, and look again once the lock is ours. */
static int refuse_mountpoint(const char *given, struct mountpoint *mp,
			      bool after_lock)
{
	if (mp->state == MOUNTPOINT_FREE ||
	    (!after_lock && mp->state == MOUNTPOINT_STALE &&
	     !strcmp(mp->type, "fuse.emufs")))
		return 0;
	mountpoint_refuse(given, mp);
	return 2;
}

int main(int argc, char **argv)
{
	struct emufs_options o;
	struct emufs_config *cfg = NULL;
	struct mountpoint mp = { 0 };
	char *source = NULL, *state_dir = NULL, *mountpoint = NULL;
	char err[1024];
	int status;

	/* Two malloc arenas, not one per thread: FUSE workers come and go
	 * with the load, and each arena keeps pages of its own; emufs's
	 * threads mostly wait, so they hardly contend for the allocator.
	 * What runs free goes back to the system at each run's end
	 * (run_put). */
	mallopt(M_ARENA_MAX, 2);
	/* A peer gone mid-write (a reader, an emulator's socket or pipe,
	 * the janitor) is that write's EPIPE, never the end of emufs: for
	 * the process's whole life, set before any thread exists. */
	signal(SIGPIPE, SIG_IGN);

	status = options_parse(argc, argv, &o);
	if (status >= 0)
		goto out_options;
	status = 2;
	if (o.config) {
		if (config_load(o.config, &cfg, err, sizeof err)) {
			fprintf(stderr, "emufs: %s\n", err);
			goto out_options;
		}
	} else if (!(cfg = config_empty())) {
		status = 1;
		goto out_options;
	}
	/* Before the state directory: a refusal changes nothing, and does
	 * not wait for the lock of the emufs that has the mount. */
	mountpoint_probe(o.mountpoint, &mp);
	mountpoint = mp.path;
	if (refuse_mountpoint(o.mountpoint, &mp, false))
		goto out_options;
	/* The mount's source, as `mount` and findmnt show it: the config,
	 * absolute, since whoever reads the mount table has a working
	 * directory of their own. */
	source = o.config ? realpath(o.config, NULL) : strdup("emufs");
	status = 1;
	state_dir = o.state_dir ? absolute(o.state_dir)
				: statedir_default(mountpoint);
	int lock_fd = state_dir && source
		? statedir_prepare(state_dir, !o.state_dir, err, sizeof err)
		: -1;
	if (lock_fd < 0) {
		fprintf(stderr, "emufs: state directory: %s\n",
			state_dir && source ? err : "out of memory");
		goto out_options;
	}

	/* Its janitor killed too, an emufs may have left its dead mount. */
	janitor_clear_dead_mount(mountpoint);
	mountpoint_probe(o.mountpoint, &mp);
	free(mp.path);
	if ((status = refuse_mountpoint(o.mountpoint, &mp, true))) {
		statedir_remove(state_dir);
		goto out_options;
	}
	status = 1;

	/* A configured instance whose directory name is taken by something
	 * emufs did not make is refused now, not after the mount is live. */
	for (size_t i = 0; i < cfg->ninstances; i++) {
		char *d;
		if (asprintf(&d, "%s/%s", state_dir, cfg->instances[i].name) < 0)
			continue;
		bool ok = statedir_instance_free(d);
		if (!ok)
			fprintf(stderr, "emufs: state directory: %s exists and "
				"is not an emufs instance directory\n", d);
		free(d);
		if (!ok) {
			statedir_remove(state_dir);
			goto out_options;
		}
	}

	struct emufs_fs fs;
	struct fuse_session *se = NULL;
	bool core_made = false;
	if (fs_init(&fs))
		goto out_cfg;
	status = fs_session_new(&fs, argv[0], source, o.fuse_opts, o.debug,
				mountpoint, o.mountpoint, &se);
	if (status) {
		se = NULL;
		goto out_cfg;
	}
	status = 1;
	if (fuse_daemonize(o.foreground)) {
		fprintf(stderr, "emufs: cannot daemonize\n");
		goto out_unmount;
	}
	janitor_start(state_dir, mountpoint, lock_fd);
	struct core_hooks hooks = { .log_grew = fs_log_grew,
				    .pin_changed = fs_pin_changed,
				    .state_changed = fs_state_changed,
				    .pin_level = fs_pin_level,
				    .props_changed = fs_props_changed,
				    .opaque = &fs };
	core_made = true;   /* from here the core removes the state dir */
	if (core_new(cfg, state_dir, &hooks, &fs.core, err, sizeof err)) {
		cfg = NULL;     /* core_new took it */
		fprintf(stderr, "emufs: %s\n", err);
		goto out_unmount;
	}
	cfg = NULL;
	if (waiters_start(&fs)) {
		fprintf(stderr, "emufs: cannot start the follow/ replies\n");
		goto out_core;
	}
	if (propcache_start(&fs, se))
		fprintf(stderr, "emufs: cannot start the props/ cache "
			"notifications: changes show after %.0f s\n",
			PROPCACHE_TIMEOUT_S);
	/* Without it a lazy unmount leaves follow/'s readers blocked. */
	if (mountwatch_start(mountpoint, follow_end, &fs))
		fprintf(stderr, "emufs: cannot watch the mount table: a lazy "
			"unmount will wait for the last open file\n");
	pthread_t autostart;
	bool autostarted = pthread_create(&autostart, NULL, autostart_main,
					  fs.core) == 0;

	struct fs_session_end end = { .begin = follow_end,
				      .open = fs_follow_files_open,
				      .quiet = props_quiet,
				      .opaque = &fs,
				      .idle_ms = FOLLOW_LEAVE_IDLE_MS,
				      .max_ms = FOLLOW_LEAVE_MAX_MS };
	status = fs_session_loop(se, &end);   /* props_quiet ran */
	waiters_stop(&fs);          /* blocked readers: end of file, now */
	follow_end(&fs);            /* and those waiting in poll() */
	mountwatch_stop();
	fs_session_drain(se, fs_files_open, &fs, DRAIN_IDLE_MS, DRAIN_MAX_MS);

	if (autostarted)
		pthread_join(autostart, NULL);
out_core:
	fuse_session_unmount(se);
	fs_free_open_files(&fs);    /* their instance references first */
	core_free(fs.core);         /* stops every emulator */
	fs.core = NULL;
	goto out_destroy;
out_unmount:
	fuse_session_unmount(se);
out_destroy:
	fuse_session_destroy(se);
out_cfg:
	fs_destroy(&fs);
	if (!core_made)
		statedir_remove(state_dir);
	janitor_dismiss();
out_options:
	config_free(cfg);
	free(source);
	free(state_dir);
	free(mountpoint);
	options_free(&o);
	return status;
}
