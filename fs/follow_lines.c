/* follow_lines.c - follow/state and follow/gpio/<pin> (follow_lines.h).
 *
 * Every open line file is on fs->followers. The core's hooks
 * (fs_state_changed, with the instance's lock held; fs_pin_level, with the
 * pin's) queue the new value on each follower of it, so each sees every
 * change in order, and wake its parked reads and polls. At open the file
 * registers first and reads the value now second, so no change falls
 * between; the value now goes first unless the first change queued
 * already is that same value. A state read now is newer than every
 * change queued before it: with one queued it would come first out of
 * order (`running starting running`), so it goes first only alone. A
 * pin has two levels and each change queued is to the other one, so a
 * level now that is not the first change queued is the level before it,
 * at open: it goes first.
 *
 * Lock order: inst->lock or pin->lock, then fs->follow_lock, then
 * fs->poll_lock. Nothing here takes the first two under the third.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/binding.h"
#include "core/instance.h"
#include "core/pin.h"
#include "follow_lines.h"
#include "handlers.h"
#include "pollers.h"
#include "waiters.h"

#define LINES_FIRST_CAP 8

static bool is_state(const struct follow *f)
{
	return f->fh->node.kind == N_FOLLOW_STATE;
}

static int format(const struct follow *f, int v, char *line, size_t len)
{
	if (is_state(f))
		return snprintf(line, len, "%s\n", inst_state_name(v));
	return snprintf(line, len, "%d\n", v);
}

static int *slot(struct follow *f, unsigned i)
{
	return &f->values[(f->head + i) % f->cap];
}

/* Room for one more value: grow the ring up to FOLLOW_LINES_MAX, then
 * drop the oldest (told as `lost N`). follow_lock held. */
static bool make_room(struct follow *f)
{
	if (f->n < f->cap)
		return true;
	if (f->cap < FOLLOW_LINES_MAX) {
		unsigned cap = f->cap ? f->cap * 2 : LINES_FIRST_CAP;
		if (cap > FOLLOW_LINES_MAX)
			cap = FOLLOW_LINES_MAX;
		int *v = malloc(cap * sizeof *v);
		if (v) {
			for (unsigned i = 0; i < f->n; i++)
				v[i] = *slot(f, i);
			free(f->values);
			f->values = v;
			f->cap = cap;
			f->head = 0;
			return true;
		}
		if (!f->cap) {                /* nowhere to keep any */
			f->lost++;
			return false;
		}
	}
	f->head = (f->head + 1) % f->cap;
	f->n--;
	f->lost++;
	return true;
}

/* A change: queued unless it repeats the last value queued. */
static void push_locked(struct follow *f, int v)
{
	if (f->n && *slot(f, f->n - 1) == v)
		return;
	if (make_room(f))
		*slot(f, f->n++) = v;
}

/* The value at open: first, unless the first change queued is it. */
static void push_front_locked(struct follow *f, int v)
{
	if (f->n && *slot(f, 0) == v)
		return;
	if (!make_room(f))
		return;
	f->head = (f->head + f->cap - 1) % f->cap;
	f->n++;
	*slot(f, 0) = v;
}

static void link_locked(struct emufs_fs *fs, struct follow *f)
{
	f->next = fs->followers;
	if (f->next)
		f->next->prev = &f->next;
	fs->followers = f;
	f->prev = &fs->followers;
}

/* Test hook (tests/integration/test_follow_attack.sh):
 * EMUFS_TEST_FOLLOW_OPEN_DELAY_MS makes an open of follow/state linger
 * between joining the followers and reading the state now, where changes
 * get queued first. Unset (0) in normal use; read at the first open. */
static void open_delay(void)
{
	static atomic_int delay_ms = -1;
	int ms = atomic_load(&delay_ms);
	if (ms < 0) {
		const char *e = getenv("EMUFS_TEST_FOLLOW_OPEN_DELAY_MS");
		atomic_store(&delay_ms, (ms = e ? atoi(e) : 0));
	}
	if (ms > 0)
		nanosleep(&(struct timespec){ ms / 1000,
					      ms % 1000 * 1000000L }, NULL);
}

int follow_lines_open(struct fh *fh)
{
	struct emufs_fs *fs = fh->fs;
	struct follow *f = fh->follow;
	struct instance *inst = fh->node.inst;
	int now;
	if (is_state(f)) {
		pthread_mutex_lock(&fs->follow_lock);
		link_locked(fs, f);
		pthread_mutex_unlock(&fs->follow_lock);
		open_delay();
		now = instance_state(inst);
	} else {
		/* A watcher (levels get polled) holding the pin's binding
		 * (fh->binding), so f->pin stays that pin. */
		pin_open(fh, 0);
		struct pin *p = fh->binding ? binding_pin(fh->binding,
							  fh->node.name) : NULL;
		if (!p)
			return -ENOENT;
		f->pin = p;
		pthread_mutex_lock(&fs->follow_lock);
		link_locked(fs, f);
		pthread_mutex_unlock(&fs->follow_lock);
		/* -ESRCH while not running: the next run's levels come. */
		now = pin_read(inst, p, NULL);
	}
	pthread_mutex_lock(&fs->follow_lock);
	if (now >= 0 && !(is_state(f) && (f->n || f->lost)))
		push_front_locked(f, now);
	pthread_mutex_unlock(&fs->follow_lock);
	return 0;
}

void follow_lines_release(struct fh *fh)
{
	struct emufs_fs *fs = fh->fs;
	struct follow *f = fh->follow;
	pthread_mutex_lock(&fs->follow_lock);
	if (f->prev) {
		*f->prev = f->next;
		if (f->next)
			f->next->prev = f->prev;
	}
	pthread_mutex_unlock(&fs->follow_lock);
	if (!is_state(f))
		pin_release(fh);
	free(f->values);
}

ssize_t follow_lines_read(struct fh *fh, char *buf, size_t size)
{
	struct emufs_fs *fs = fh->fs;
	struct follow *f = fh->follow;
	size_t out = 0;
	pthread_mutex_lock(&fs->follow_lock);
	while (out < size) {
		if (f->carry_off == f->carry_len) {
			f->carry_off = f->carry_len = 0;
			int l;
			if (f->lost) {
				l = snprintf(f->carry, sizeof f->carry,
					     "lost %llu\n", f->lost);
				f->lost = 0;
			} else if (f->n) {
				l = format(f, *slot(f, 0), f->carry,
					   sizeof f->carry);
				f->head = (f->head + 1) % f->cap;
				f->n--;
			} else {
				break;
			}
			f->carry_len = (size_t)l;
		}
		size_t take = f->carry_len - f->carry_off;
		if (take > size - out)
			take = size - out;
		memcpy(buf + out, f->carry + f->carry_off, take);
		f->carry_off += take;
		out += take;
	}
	pthread_mutex_unlock(&fs->follow_lock);
	return out ? (ssize_t)out : -EAGAIN;
}

bool follow_lines_ready(struct fh *fh)
{
	struct emufs_fs *fs = fh->fs;
	struct follow *f = fh->follow;
	pthread_mutex_lock(&fs->follow_lock);
	bool ready = f->n || f->lost || f->carry_off < f->carry_len;
	pthread_mutex_unlock(&fs->follow_lock);
	return ready;
}

/* Queue v on every follower `match` accepts; wake their reads and
 * polls. */
static void deliver(struct emufs_fs *fs, bool (*match)(struct follow *,
						       const void *),
		    const void *what, int v)
{
	bool kick = false;
	pthread_mutex_lock(&fs->follow_lock);
	for (struct follow *f = fs->followers; f; f = f->next) {
		if (!match(f, what))
			continue;
		push_locked(f, v);
		kick |= waiters_wake_locked(fs, f);
		fs_poll_notify(fs, f);
	}
	pthread_mutex_unlock(&fs->follow_lock);
	if (kick)
		waiters_kick(fs);
}

static bool follows_state(struct follow *f, const void *inst)
{
	return is_state(f) && f->fh->node.inst == inst;
}

static bool follows_pin(struct follow *f, const void *p)
{
	return !is_state(f) && f->pin == p;
}

void fs_state_changed(struct instance *inst, int st, void *opaque)
{
	deliver(opaque, follows_state, inst, st);
}

void fs_pin_level(struct pin *p, int level, void *opaque)
{
	deliver(opaque, follows_pin, p, level);
}
