/* options.h - emufs's command line (options.c), read with libfuse's
 * option parser so that mount(8), fstab and systemd can start emufs the
 * way they start every FUSE file system (docs/mounting.md):
 *
 *   emufs [-c CONFIG] [--state-dir DIR] [-f] [-d] [-o OPT,...] MOUNTPOINT
 *   emufs CONFIG MOUNTPOINT -o config=...,state_dir=...,rw,nodev,...
 *
 * The second form is mount.fuse3's: the mount's source (the config) comes
 * first.
 */
#ifndef EMUFS_FS_OPTIONS_H
#define EMUFS_FS_OPTIONS_H

#include <stdbool.h>

struct emufs_options {
	char *config;           /* -c, -o config=, or the source argument */
	char *state_dir;        /* --state-dir, -o state_dir= */
	char *mountpoint;       /* as given */
	bool foreground, debug;
	char *fuse_opts;        /* the -o options for libfuse, each escaped
				 * as fuse_opt_parse reads them, joined by
				 * commas; NULL if none */
};

/* Parse argv into o. -1 when emufs goes on, else the exit status after
 * the message: 0 after --help or --version, 2 for a bad command line
 * (one line naming the option). */
int options_parse(int argc, char **argv, struct emufs_options *o);
void options_free(struct emufs_options *o);

#endif
