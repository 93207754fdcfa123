/* waiters.h - reads that wait (follow/): the FUSE request is kept, not a
 * thread, and answered later from one place, the core's I/O loop
 * (waiters.c; docs/design.md, "Deferred replies").
 *
 * A worker that finds nothing to read parks the request and returns.
 * When what the file follows changes, the change's hook marks its parked
 * reads ready and kicks the loop, which reads again for each and answers
 * the ones that now have bytes (or end of file). A signal to the reader
 * (FUSE_INTERRUPT) answers EINTR; the end of the mount answers every
 * parked read with end of file.
 */
#ifndef EMUFS_FS_WAITERS_H
#define EMUFS_FS_WAITERS_H

#include <fuse_lowlevel.h>

#include "fs.h"

/* Start answering from the core's I/O loop (fs->core must exist). */
int waiters_start(struct emufs_fs *fs);
/* The mount ends: every parked read, and any parked later, gets end of
 * file. Call before the open files are freed; again is harmless. */
void waiters_stop(struct emufs_fs *fs);
/* The same from any thread while the session goes on (the mount left
 * the namespace; opaque: the emufs_fs). */
void waiters_end(void *opaque);
/* Whether the mount ends: a read would not wait (end of file). */
bool waiters_stopped(struct emufs_fs *fs);
/* Free the spare slots (fs_destroy). */
void waiters_free(struct emufs_fs *fs);

/* How many wakes there were so far: taken before the read that may
 * park, and handed to waiters_park. */
unsigned long waiters_seq(struct emufs_fs *fs);
/* Keep req, a read of size bytes at off on fh that would block, and
 * answer it later. seq: waiters_seq() from before that read. */
void waiters_park(struct emufs_fs *fs, fuse_req_t req, struct fh *fh,
		  unsigned long seq, size_t size, off_t off);
/* What the parked reads of `what` follow changed: read again. With
 * fs->follow_lock held (waiters_wake_locked) or not. */
void waiters_wake(struct emufs_fs *fs, const void *what);
bool waiters_wake_locked(struct emufs_fs *fs, const void *what);
/* Kick the loop after waiters_wake_locked returned true. */
void waiters_kick(struct emufs_fs *fs);

#endif
