/* workers.h - the threads that serve the FUSE session (workers.c): a
 * pool that grows with concurrent requests, shrinks when idle, and at
 * its end answers every request a worker has read. */
#ifndef EMUFS_FS_WORKERS_H
#define EMUFS_FS_WORKERS_H

#include <signal.h>
#include <stdbool.h>

struct fuse_session;

/* The signal that wakes a worker blocked in read(2) at the end (its
 * handler does nothing); emufs uses it for nothing else. */
#define WORKERS_WAKE_SIGNAL SIGUSR1

/* Start serving se with one worker; ended() is called (from a worker)
 * if the session ends by itself: an unmount, a read error. 0 or -errno. */
int workers_start(struct fuse_session *se, void (*ended)(void));
/* Wait up to ms for the session to end by itself (an unmount or a read
 * error); whether it did. */
bool workers_wait(int ms);
/* End the pool: each worker finishes the request it holds, and those
 * blocked in read(2) are woken. Returns when all have returned: 0, or
 * the -errno of a read error that ended the session. */
int workers_stop(void);

#endif
