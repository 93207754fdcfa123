/* main.c - emufs's command line (docs/reference.md, emufs(1)) and the mount;
 * the janitor that cleans up after an emufs that was killed: janitor.c.
 *
 * Order matters: the configuration is validated before anything is
 * mounted (exit 2); the mount is made before daemonizing (so a script can
 * use it when emufs returns); threads (the core's I/O loop) start only
 * after the fork of fuse_daemonize().
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "fs.h"
#include "janitor.h"
#include "follow_lines.h"
#include "mount.h"
#include "mountwatch.h"
#include "pollers.h"
#include "session.h"
#include "waiters.h"
#include "core/statedir.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: emufs [-c CONFIG] [--state-dir DIR] [-f] [-d] "
		"[-o OPT[,OPT...]] MOUNTPOINT\n"
		"\n"
		"Presents emulator instances (QEMU, Renode) as files.\n"
		"\n"
		"  -c CONFIG         JSON configuration (see emufs(1))\n"
		"  --state-dir DIR   sockets and logs (default "
		"${XDG_RUNTIME_DIR:-/tmp}/emufs-$UID/<mount id>)\n"
		"  -f                stay in the foreground\n"
		"  -d                debug output (implies -f)\n"
		"  -o OPT[,OPT...]   FUSE mount options (allow_other, ...)\n"
		"  -h, --help        this text\n"
		"  -V, --version     the version\n"
		"\n"
		"Unmount with: fusermount3 -u MOUNTPOINT\n");
}

struct options {
	const char *config;
	const char *state_dir;
	const char *mountpoint;
	int foreground, debug;
	char *fuse_opts;        /* joined -o values */
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:fdo:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'd': o->debug = o->foreground = 1; break;
		case 'S': o->state_dir = optarg; break;
		case 'o': {
			char *joined;
			if (asprintf(&joined, "%s%s%s",
				     o->fuse_opts ? o->fuse_opts : "",
				     o->fuse_opts ? "," : "", optarg) < 0)
				return -1;
			free(o->fuse_opts);
			o->fuse_opts = joined;
			break;
		}
		case 'h': usage(stdout); exit(0);
		case 'V': printf("emufs %s\n", EMUFS_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "emufs: %s\n", optind < argc
			? "too many arguments" : "no mount point given");
		usage(stderr);
		return -1;
	}
	o->mountpoint = argv[optind];
	return 0;
}

static char *absolute(const char *path)
{
	char *out, cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		return strdup(path);
	return asprintf(&out, "%s/%s", cwd, path) < 0 ? NULL : out;
}

/* How long the end of the mount waits for follow/'s readers to close
 * their files once they got end of file. */
#define DRAIN_MS 1000

static void *autostart_main(void *arg)
{
	core_autostart(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct emufs_config *cfg = NULL;
	char err[1024];
	int status = 1;

	/* Two malloc arenas, not one per thread: FUSE workers come and go
	 * with the load, and each arena keeps pages of its own; emufs's
	 * threads mostly wait, so they hardly contend for the allocator.
	 * What runs free goes back to the system at each run's end
	 * (run_put). */
	mallopt(M_ARENA_MAX, 2);

	if (parse_options(argc, argv, &o))
		return 2;
	if (o.config) {
		if (config_load(o.config, &cfg, err, sizeof err)) {
			fprintf(stderr, "emufs: %s\n", err);
			return 2;
		}
	} else if (!(cfg = config_empty())) {
		return 1;
	}
	/* Absolute paths: fuse_daemonize() changes to /. */
	char *mountpoint = realpath(o.mountpoint, NULL);
	if (!mountpoint) {
		fprintf(stderr, "emufs: %s: %s\n", o.mountpoint,
			strerror(errno));
		config_free(cfg);
		return 1;
	}
	char *state_dir = o.state_dir ? absolute(o.state_dir)
				      : statedir_default(mountpoint);
	int lock_fd = state_dir ? statedir_prepare(state_dir, !o.state_dir,
						   err, sizeof err) : -1;
	if (lock_fd < 0) {
		fprintf(stderr, "emufs: state directory: %s\n",
			state_dir ? err : "out of memory");
		config_free(cfg);
		free(state_dir);
		free(mountpoint);
		return 1;
	}

	/* Its janitor killed too, an emufs may have left its dead mount. */
	janitor_clear_dead_mount(mountpoint);

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
			config_free(cfg);
			free(state_dir);
			free(mountpoint);
			return 1;
		}
	}

	struct emufs_fs fs;
	struct fuse_session *se = NULL;
	bool core_made = false;
	if (fs_init(&fs))
		goto out_cfg;
	status = fs_session_new(&fs, argv[0], o.fuse_opts, o.debug,
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
	if (fuse_set_signal_handlers(se)) {
		fprintf(stderr, "emufs: cannot set signal handlers\n");
		goto out_core;
	}
	/* Without it a lazy unmount leaves follow/'s readers blocked. */
	if (mountwatch_start(se, mountpoint))
		fprintf(stderr, "emufs: cannot watch the mount table: a lazy "
			"unmount will wait for the last open file\n");
	pthread_t autostart;
	bool autostarted = pthread_create(&autostart, NULL, autostart_main,
					  fs.core) == 0;

	status = fs_session_loop(se);
	waiters_stop(&fs);          /* blocked readers: end of file, now */
	mountwatch_stop();
	fs_session_drain(se, fs_follow_files_open, &fs, DRAIN_MS);

	if (autostarted)
		pthread_join(autostart, NULL);
	fuse_remove_signal_handlers(se);
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
	config_free(cfg);
	free(state_dir);
	free(mountpoint);
	free(o.fuse_opts);
	return status;
}
