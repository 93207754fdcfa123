/* logs.c - growing logs (log, events, a serial channel) and a channel's
 * pty link.
 *
 * A log's st_size is its length and every open is direct_io, so `cat`
 * reads to the end and `tail -f` (which polls st_size, attr_timeout 0)
 * sees it grow. poll() gives POLLIN when this open file has not read to
 * the end yet, or the log started over (a new run) since it read.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/channel.h"
#include "fs.h"
#include "handlers.h"
#include "pollers.h"
#include "core/instance.h"

/* The growing log a node reads from, or NULL. A channel's lives in the
 * binding *b gets a reference on (NULL for the instance's own logs):
 * binding_put() it when done. */
static struct logfile *log_of(struct node *n, struct binding **b)
{
	*b = NULL;
	switch (n->kind) {
	case N_LOG:
		return &n->inst->log;
	case N_EVENTS:
		return &n->inst->events;
	case N_TRACE_LOG:
		return &n->inst->trace;
	case N_CHANNEL: {
		*b = instance_binding(n->inst);
		struct channel *ch = binding_channel(*b, n->name);
		return ch ? &ch->log : NULL;
	}
	default:
		return NULL;
	}
}

int log_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	struct binding *b;
	struct logfile *lf = log_of(n, &b);
	if (lf)
		logfile_stat(lf, &st->st_size, &st->st_mtim);
	binding_put(b);
	return lf ? 0 : -ENOENT;
}

ssize_t log_read(struct fh *fh, char *buf, size_t size, off_t off)
{
	struct binding *b;
	struct logfile *lf = log_of(&fh->node, &b);
	if (!lf) {
		binding_put(b);
		return -ENOENT;
	}
	struct logfile_pos pos;
	logfile_pos(lf, &pos);
	ssize_t r = logfile_read(lf, buf, size, off);
	binding_put(b);
	if (r >= 0) {
		fh->seen = off + r;
		fh->seen_gen = pos.generation;
	}
	return r;
}

int log_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
	     unsigned *revents)
{
	struct binding *b;
	struct logfile *lf = log_of(&fh->node, &b);
	if (!lf) {
		binding_put(b);
		if (ph)
			fuse_pollhandle_destroy(ph);
		*revents = POLLIN | POLLOUT;
		return 0;
	}
	struct logfile_pos pos;
	/* Arm first, then look: a growth in between still wakes us. */
	if (ph)
		fs_poll_arm(fs, fh, lf, ph);
	logfile_pos(lf, &pos);
	binding_put(b);
	*revents = POLLOUT;
	if (pos.size > fh->seen || pos.generation != fh->seen_gen)
		*revents |= POLLIN;
	return 0;
}

int channel_refresh(struct node *n)
{
	struct binding *b = instance_binding(n->inst);
	bool found = binding_channel(b, n->name) != NULL;
	binding_put(b);
	return found ? 0 : -ENOENT;
}

ssize_t channel_file_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct binding *b = instance_binding(n->inst);
	struct channel *ch = binding_channel(b, n->name);
	ssize_t w = ch ? channel_write(ch, buf, size) : 0;
	binding_put(b);
	if (!ch)
		return -ENOENT;
	if (w == -ESRCH)
		instance_log(n->inst, "write to %s refused: the instance is %s",
			     n->name, inst_state_name(instance_state(n->inst)));
	else if (w < 0)
		instance_log(n->inst, "write to %s refused: %s", n->name,
			     strerror((int)-w));
	return w;
}

/* The pty path of "<channel>.pty": 0, or -ENOENT while not running. */
int pty_readlink(struct node *n, char *buf, size_t len)
{
	size_t l = strlen(n->name), sl = strlen(KIND_PTY_SUFFIX);
	if (l <= sl || strcmp(n->name + l - sl, KIND_PTY_SUFFIX))
		return -ENOENT;
	char chname[128];
	snprintf(chname, sizeof chname, "%.*s", (int)(l - sl), n->name);
	struct binding *b = instance_binding(n->inst);
	struct channel *ch = binding_channel(b, chname);
	int rc = ch ? channel_pty_path(ch, buf, len) : -ENOENT;
	binding_put(b);
	return rc;
}

int pty_refresh(struct node *n)
{
	char pty[64];
	return pty_readlink(n, pty, sizeof pty);
}

int pty_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	char buf[128];
	if (pty_readlink(n, buf, sizeof buf))
		return -ENOENT;
	st->st_size = strlen(buf);
	return 0;
}
