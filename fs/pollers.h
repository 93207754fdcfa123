/* pollers.h - poll() on open files: pending poll handles, woken when the
 * log or pin they watch changes (pollers.c). */
#ifndef EMUFS_FS_POLLERS_H
#define EMUFS_FS_POLLERS_H

#include "fs.h"

struct fuse_pollhandle;
struct logfile;
struct pin;

void fs_poll_arm(struct emufs_fs *fs, struct fh *fh, const void *what,
		 struct fuse_pollhandle *ph);
void fs_poll_forget(struct emufs_fs *fs, struct fh *fh);
/* Wake every poll waiting for what. */
void fs_poll_notify(struct emufs_fs *fs, const void *what);
/* Wake every poll of a follow/ file (the mount ends: they read end of
 * file now). */
void fs_poll_notify_follow(struct emufs_fs *fs);
/* The core's hooks (core_hooks): a log grew, a pin changed. */
void fs_log_grew(struct logfile *lf, void *opaque);
void fs_pin_changed(struct pin *p, void *opaque);

#endif
