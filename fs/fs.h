/* fs.h - the FUSE adapter's shared types: the mount, an open file, a
 * directory listing. Their functions are mount.c's (mount.h). */
#ifndef EMUFS_FS_FS_H
#define EMUFS_FS_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "core/ioloop.h"
#include "node.h"

struct binding;
struct core;
struct follow;
struct fuse_pollhandle;
struct inode_table;
struct io_watch;
struct propcache;
struct waiter;

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
	/* follow/ (follow_lines.c, waiters.c): */
	pthread_mutex_t follow_lock;   /* protects followers and their
					* lines, waiting, spare, every
					* waiter, follow_stopped */
	struct follow *followers;      /* open line files of follow/ */
	struct waiter *waiting;        /* parked reads */
	struct waiter *spare;          /* recycled waiter slots */
	bool follow_stopped;           /* the mount ends: no more waiting */
	unsigned long wake_seq;        /* wakes so far (waiters_seq) */
	int kickfd;                    /* eventfd: the loop looks at the
					* parked reads marked ready */
	struct io_watch *kick;
	struct io_soon kick_soon;      /* the same, asked by the loop itself */
	/* What the kernel keeps of props/ (propcache.c): set once the
	 * session exists, NULL before. */
	struct propcache *_Atomic propcache;
	/* Bumped by every props/ change (fs_props_changed), before its
	 * notifications are queued (propcache_gen). */
	atomic_ulong props_gen;
};

/* An open file: what it names, resolved once at open. */
struct fh {
	struct node node;
	struct emufs_fs *fs;           /* the mount it is open on */
	struct follow *follow;         /* follow/ files: their reader */
	const void *wait_on;           /* follow/: what wakes a parked read
					* (its log, or its follow) */
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
	/* plus[i]: READDIRPLUS may give names[i]'s attributes (looking it
	 * up costs the emulator nothing); else the kernel asks a LOOKUP if
	 * it wants them. */
	bool *plus;
	size_t n, cap;
	bool filled;
};

#endif
