/* follow_lines.h - follow/state and follow/gpio/<pin>: a line per value,
 * the one at open first, then each change in order; a reader more than
 * FOLLOW_LINES_MAX lines behind reads `lost N` in place of the oldest
 * (follow_lines.c). And the one open-file record of follow/ (struct
 * follow), which follow.c shares. */
#ifndef EMUFS_FS_FOLLOW_LINES_H
#define EMUFS_FS_FOLLOW_LINES_H

#include <stdbool.h>
#include <sys/types.h>

#include "fs.h"

struct instance;
struct pin;

/* Lines a reader may fall behind before the oldest are replaced by one
 * `lost N` line. */
#define FOLLOW_LINES_MAX 1000

/* An open follow/ file (fh->follow). */
struct follow {
	struct fh *fh;
	/* Logs (follow.c): the log, and the binding that holds a
	 * channel's (a reference; NULL for log and events); set at open. */
	struct logfile *log;
	struct binding *binding;
	/* Under fh->text_lock: */
	unsigned want_run;          /* a channel's run it reads */
	off_t skew;                 /* bytes the cap made it skip since
				     * it last sought (fh->text_lock) */
	/* Lines, all under fs->follow_lock: */
	const struct pin *pin;      /* the pin it follows (compared only) */
	int *values;                /* a ring of cap values from head */
	unsigned head, n, cap;
	unsigned long long lost;    /* dropped, not yet told */
	char carry[32];             /* the part of a line a short read
				     * left, from carry_off */
	size_t carry_len, carry_off;
	struct follow *next, **prev;  /* fs->followers */
};

/* Open: register, and queue the value now. -errno. */
int follow_lines_open(struct fh *fh);
void follow_lines_release(struct fh *fh);
/* Whole lines queued (and the carry), up to size: bytes, or -EAGAIN. */
ssize_t follow_lines_read(struct fh *fh, char *buf, size_t size);
bool follow_lines_ready(struct fh *fh);

/* The core's hooks (core_hooks): a state change, a pin's level. */
void fs_state_changed(struct instance *inst, int st, void *opaque);
void fs_pin_level(struct pin *p, int level, void *opaque);

#endif
