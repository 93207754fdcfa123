/* follow.c - follow/, the blocking twins of the files that change
 * (docs/reference.md 3.8):
 *
 *   follow/state, follow/gpio/<pin>   a line per value: the one at open,
 *                                     then each change (follow_lines.c)
 *   follow/log, events, trace,        the log from its first byte, then
 *   follow/<channel>                  what is appended
 *
 * Here: the directories, the open files, and reading the logs. A read
 * that finds nothing returns -EAGAIN, and fs/ops.c parks it (waiters.h)
 * unless the file is O_NONBLOCK; what the file waits on (fh->wait_on)
 * wakes it.
 *
 * Positions: the kernel keeps each open file's offset, and emufs counts
 * it in bytes of the run (the log's origin plus the file offset), so the
 * cap cutting the log's oldest bytes moves nothing under a reader, and
 * st_size is the run's end: lseek(fd, 0, SEEK_END) starts at the end. A
 * reader the cap overtook (its next bytes are gone) goes on from the
 * oldest byte kept; its `skew` remembers the jump, for as long as it
 * reads on from where it was (fh->seen), not after a seek.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binding.h"
#include "core/channel.h"
#include "core/core.h"
#include "core/instance.h"
#include "core/pin.h"
#include "follow_lines.h"
#include "handlers.h"
#include "mount.h"
#include "pollers.h"
#include "resolve.h"
#include "waiters.h"

/* ---- directories ---------------------------------------------------- */

int follow_lookup(struct emufs_fs *fs, const struct node *dir,
		  const char *name, struct node *out)
{
	if (!strcmp(name, "state"))
		return node_named_child(dir, N_FOLLOW_STATE, name, out);
	if (!strcmp(name, "gpio"))
		return node_named_child(dir, N_FOLLOW_GPIO, name, out);
	return node_named_child(dir, N_FOLLOW_LOG, name, out);
}

int follow_readdir(struct emufs_fs *fs, const struct node *dir,
		   struct dirlist *out)
{
	struct instance *inst = dir->inst;
	static const char *const fixed[] = { "state", "log", "events",
					     "gpio", "trace" };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof fixed / sizeof *fixed; i++)
		rc = dirlist_add(out, fixed[i]);
	struct binding *b = instance_binding(inst);
	for (size_t i = 0; rc == 0 && i < b->nchannels; i++)
		rc = dirlist_add(out, b->channels[i].cfg->name);
	binding_put(b);
	return rc;
}

int follow_gpio_lookup(struct emufs_fs *fs, const struct node *dir,
		       const char *name, struct node *out)
{
	return node_named_child(dir, N_FOLLOW_PIN, name, out);
}

int follow_log_refresh(struct node *n)
{
	if (!strcmp(n->name, "log") || !strcmp(n->name, "events") ||
	    !strcmp(n->name, "trace"))
		return 0;
	return channel_refresh(n);
}

int follow_pin_refresh(struct node *n)
{
	int rc = pin_refresh(n);
	n->mode = S_IFREG | 0444;
	return rc;
}

/* ---- the logs ------------------------------------------------------- */

/* The log a follow/ log file reads, or NULL. A channel's lives in the
 * binding *b gets a reference on (NULL for the instance's own logs). */
static struct logfile *log_of(struct node *n, struct binding **b)
{
	*b = NULL;
	if (!strcmp(n->name, "log"))
		return &n->inst->log;
	if (!strcmp(n->name, "events"))
		return &n->inst->events;
	if (!strcmp(n->name, "trace"))
		return &n->inst->trace;
	*b = instance_binding(n->inst);
	struct channel *ch = binding_channel(*b, n->name);
	return ch ? &ch->log : NULL;
}

/* Whether a follow/ log is one run's, started over by each (a channel,
 * trace): a reader follows one run, as a channel's does. */
static bool per_run(const struct node *n, const struct binding *b)
{
	return b || !strcmp(n->name, "trace");
}

/* The run's end, in bytes of the run: where SEEK_END starts. A channel
 * file that waits for the next run has nothing yet. */
int follow_log_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	struct binding *b;
	struct logfile *lf = log_of(n, &b);
	struct logfile_pos pos;
	if (lf)
		logfile_pos(lf, &pos);
	binding_put(b);
	if (!lf)
		return -ENOENT;
	st->st_size = per_run(n, b) && !pos.live ? 0 : pos.origin + pos.size;
	return 0;
}

void follow_fh_stat(struct fh *fh, struct stat *st)
{
	struct follow *f = fh->follow;
	if (fh->node.kind != N_FOLLOW_LOG || !per_run(&fh->node, f->binding))
		return;           /* lines; log and events: as named */
	struct logfile_pos pos;
	logfile_pos(f->log, &pos);
	/* Its run (over or not) ends at its end; a run to come has none
	 * yet; one that came and went is end of file anywhere. */
	st->st_size = pos.runs == f->want_run ? pos.origin + pos.size : 0;
}

/* What the file at off holds now: bytes of the followed run, 0 (it
 * ended) or -EAGAIN. With buf NULL only whether a read would block
 * (1 if not). fh->text_lock held. */
static ssize_t log_follow_read(struct follow *f, struct logfile *lf,
			       bool channel, char *buf, size_t size,
			       off_t off)
{
	/* The skew is the jump of a reader going on where it was; one
	 * that put itself elsewhere (lseek: SEEK_END is st_size, a byte of
	 * the run) is at off itself. */
	if (off != f->fh->seen)
		f->skew = 0;
	for (int tries = 0; tries < 3; tries++) {
		struct logfile_pos pos, after;
		logfile_pos(lf, &pos);
		if (channel && pos.runs != f->want_run)  /* its run came and
							  * went, or never will */
			return pos.runs < f->want_run && !pos.last ? -EAGAIN
								   : 0;
		off_t at = off + f->skew;
		if (at < pos.origin) {            /* the cap overtook it */
			f->skew += pos.origin - at;
			at = pos.origin;
		}
		off_t in_file = at - pos.origin;
		if (in_file >= pos.size)
			return channel && !pos.live ? 0 : -EAGAIN;
		if (!buf)                         /* poll: only whether */
			return 1;
		size_t want = size;
		if ((off_t)want > pos.size - in_file)
			want = pos.size - in_file;
		ssize_t r = logfile_read(lf, buf, want, in_file);
		logfile_pos(lf, &after);
		if (after.generation == pos.generation)
			return r;
		/* The log moved under the read: take it again. */
	}
	return -EAGAIN;
}

/* No lookup and no lock of the instance: the open file holds its log
 * (a channel's through its binding), so the I/O loop may read it. */
static ssize_t log_try_read(struct fh *fh, char *buf, size_t size,
			    off_t off)
{
	struct follow *f = fh->follow;
	pthread_mutex_lock(&fh->text_lock);
	ssize_t r = log_follow_read(f, f->log, per_run(&fh->node, f->binding),
				    buf, size, off);
	if (buf)
		fh->seen = r > 0 ? off + r : off;
	pthread_mutex_unlock(&fh->text_lock);
	return r;
}

/* ---- open files ----------------------------------------------------- */

/* Bytes, 0 (end of file), or -EAGAIN: nothing yet (fs/ops.c parks the
 * read). Any thread: a worker, or the I/O loop (waiters.c). Once the
 * mount ends nothing more comes: end of file, O_NONBLOCK or not, as
 * poll() says. */
ssize_t follow_read(struct fh *fh, char *buf, size_t size, off_t off)
{
	ssize_t r = fh->node.kind == N_FOLLOW_LOG
		? log_try_read(fh, buf, size, off)
		: follow_lines_read(fh, buf, size);
	return r == -EAGAIN && waiters_stopped(fh->fs) ? 0 : r;
}

int follow_open(struct fh *fh, int flags)
{
	struct follow *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	fh->follow = f;
	f->fh = fh;
	fh->wait_on = f;
	if (fh->node.kind != N_FOLLOW_LOG) {
		int rc = follow_lines_open(fh);
		if (rc) {
			fh->follow = NULL;
			free(f);
		}
		return rc;
	}
	struct logfile *lf = log_of(&fh->node, &f->binding);
	if (!lf) {
		binding_put(f->binding);
		fh->follow = NULL;
		free(f);
		return -ENOENT;
	}
	struct logfile_pos pos;
	logfile_pos(lf, &pos);
	/* A channel's current run, or (stopped) the next one. A target
	 * change leaves it its channel, whose run is over: end of file. */
	f->want_run = pos.live ? pos.runs : pos.runs + 1;
	f->log = lf;
	fh->wait_on = lf;
	return 0;
}

void follow_release(struct fh *fh)
{
	if (!fh->follow)
		return;
	if (fh->node.kind != N_FOLLOW_LOG)
		follow_lines_release(fh);
	binding_put(fh->follow->binding);
	free(fh->follow);
	fh->follow = NULL;
}

void follow_end(void *opaque)
{
	waiters_end(opaque);
	/* A reader waiting in poll() is blocked too: it polls again, sees
	 * POLLIN (waiters_stopped) and reads end of file. */
	fs_poll_notify_follow(opaque);
}

int follow_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
		unsigned *revents)
{
	/* Arm first, then look: a change in between still wakes us (and
	 * the end of the mount, after follow_stopped, wakes every poll). */
	if (ph)
		fs_poll_arm(fs, fh, fh->wait_on, ph);
	ssize_t r;
	if (waiters_stopped(fs)) {
		r = 0;                    /* a read gives end of file now */
	} else if (fh->node.kind == N_FOLLOW_LOG) {
		pthread_mutex_lock(&fh->text_lock);
		off_t seen = fh->seen;
		pthread_mutex_unlock(&fh->text_lock);
		r = log_try_read(fh, NULL, 0, seen);
	} else {
		r = follow_lines_ready(fh) ? 1 : -EAGAIN;
	}
	*revents = r == -EAGAIN ? 0 : POLLIN;
	return 0;
}
