/* pollers.c - poll() on growing logs and pins: the open files waiting for
 * a log to grow or a pin to change, and the wake-up when it does.
 *
 * An open file with a pending poll is on fs->pollers. When the core
 * appends to a log (from the I/O loop, or a worker logging a refusal) or a
 * pin's level changes (I/O loop, pin watcher), it calls fs_log_grew() or
 * fs_pin_changed(), which notify and drop every handle that waits for it.
 * The kernel then calls poll again and gets the new state.
 */
#include <fuse_lowlevel.h>

#include "pollers.h"
#include "waiters.h"

static void unlink_locked(struct fh *fh)
{
	if (!fh->poll_prev)
		return;
	*fh->poll_prev = fh->poll_next;
	if (fh->poll_next)
		fh->poll_next->poll_prev = fh->poll_prev;
	fh->poll_next = NULL;
	fh->poll_prev = NULL;
}

void fs_poll_arm(struct emufs_fs *fs, struct fh *fh, const void *what,
		 struct fuse_pollhandle *ph)
{
	pthread_mutex_lock(&fs->poll_lock);
	if (fh->ph)
		fuse_pollhandle_destroy(fh->ph);
	fh->ph = ph;
	fh->watched = what;
	if (!fh->poll_prev) {
		fh->poll_next = fs->pollers;
		if (fs->pollers)
			fs->pollers->poll_prev = &fh->poll_next;
		fs->pollers = fh;
		fh->poll_prev = &fs->pollers;
	}
	pthread_mutex_unlock(&fs->poll_lock);
}

void fs_poll_forget(struct emufs_fs *fs, struct fh *fh)
{
	pthread_mutex_lock(&fs->poll_lock);
	unlink_locked(fh);
	if (fh->ph)
		fuse_pollhandle_destroy(fh->ph);
	fh->ph = NULL;
	pthread_mutex_unlock(&fs->poll_lock);
}

/* Wake and drop the polls of every fh that match accepts. */
static void notify_matching(struct emufs_fs *fs,
			    bool (*match)(const struct fh *, const void *),
			    const void *what)
{
	pthread_mutex_lock(&fs->poll_lock);
	for (struct fh *fh = fs->pollers, *next; fh; fh = next) {
		next = fh->poll_next;
		if (!match(fh, what))
			continue;
		fuse_lowlevel_notify_poll(fh->ph);
		fuse_pollhandle_destroy(fh->ph);
		fh->ph = NULL;
		unlink_locked(fh);
	}
	pthread_mutex_unlock(&fs->poll_lock);
}

static bool watches(const struct fh *fh, const void *what)
{
	return fh->watched == what;
}

static bool follows(const struct fh *fh, const void *unused)
{
	return fh->follow != NULL;
}

void fs_poll_notify(struct emufs_fs *fs, const void *what)
{
	notify_matching(fs, watches, what);
}

void fs_poll_notify_follow(struct emufs_fs *fs)
{
	notify_matching(fs, follows, NULL);
}

void fs_log_grew(struct logfile *lf, void *opaque)
{
	fs_poll_notify(opaque, lf);
	waiters_wake(opaque, lf);     /* follow/'s parked reads */
}

void fs_pin_changed(struct pin *p, void *opaque)
{
	fs_poll_notify(opaque, p);
}
