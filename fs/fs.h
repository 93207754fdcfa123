/* fs.h - the FUSE adapter's shared types: the mount, an open file, a
 * directory listing. Their functions are mount.c's (mount.h). */
#ifndef EMUFS_FS_FS_H
#define EMUFS_FS_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "node.h"

struct binding;
struct core;
struct fuse_pollhandle;
struct inode_table;

struct emufs_fs {
	struct core *core;
	struct inode_table *inodes;    /* inode number -> node identity */
	struct timespec mounted_at;    /* times of the fixed files */
	pthread_mutex_t poll_lock;     /* protects the pollers list and
					* every fh's ph and poll links */
	struct fh *pollers;            /* open files with a poll pending */
	pthread_mutex_t files_lock;    /* protects files and each fh's
					* file links */
	struct fh *files;              /* every open file: after a lazy
					* unmount the kernel releases not
					* all of them, emufs frees the rest */
};

/* An open file: what it names, resolved once at open. */
struct fh {
	struct node node;
	/* Several threads may serve one open file at once (a shared fd, a
	 * reader thread beside a writer): text_lock protects text and
	 * text_off. Never held while waiting on an emulator. */
	pthread_mutex_t text_lock;
	/* Small files (state, ctl, target, gdb, a pin, a property): the
	 * snapshot that every read of this open file serves, so a read
	 * that goes on at an offset never mixes two values (text.c).
	 * qmp, monitor: the replies not read yet start at text_off. */
	char *text;
	size_t text_off;
	/* Growing logs: where the reader got to, for poll's POLLIN.
	 * Pins: the generation of the level last read, for POLLPRI. */
	off_t seen;
	unsigned seen_gen;
	/* A pin file counts as a watcher of its pin while open: the
	 * binding that pin belongs to (a reference), or NULL. */
	struct binding *binding;
	/* A pending poll: woken when watched (a log or a pin) changes.
	 * watched is compared, never dereferenced. */
	struct fuse_pollhandle *ph;
	const void *watched;
	struct fh *poll_next, **poll_prev;
	struct fh *file_next, **file_prev;
};

/* A directory listing, taken whole at the first readdir of an open
 * directory, so the offsets of the readdirs that follow stay valid. */
struct dirlist {
	char **names;
	size_t n, cap;
	bool filled;
};

#endif
