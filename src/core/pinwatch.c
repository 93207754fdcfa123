/* pinwatch.c - the pin watcher thread (see pinwatch.h). */
#include "pinwatch.h"

#include <assert.h>
#include <errno.h>
#include <time.h>

#include "clock.h"

void pinwatch_count(struct pinwatch *w, int delta)
{
	pthread_mutex_lock(&w->lock);
	w->active += delta;
	assert(w->active >= 0);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void pinwatch_next_due(struct timespec *due, const struct timespec *now,
		       int interval_ms)
{
	clock_advance(due, interval_ms);
	if (ts_before(due, now))
		*due = *now;
}

static void *pinwatch_main(void *arg)
{
	struct pinwatch *w = arg;

	/* A fixed rate: the next poll is due one interval after the last
	 * was due, not after it ended, so a slow round trip does not
	 * stretch the period. The first poll waits one interval too: the
	 * file that woke us has just read the level itself. */
	struct timespec due = clock_deadline(PINWATCH_INTERVAL_MS);
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (w->active <= 0) {
			pthread_cond_wait(&w->cond, &w->lock);
			due = clock_deadline(PINWATCH_INTERVAL_MS);
			continue;
		}
		while (!w->stop && w->active > 0 &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &due) == 0)
			;
		if (w->stop || w->active <= 0)
			continue;
		pthread_mutex_unlock(&w->lock);
		w->poll(w->opaque);
		pthread_mutex_lock(&w->lock);
		struct timespec now = clock_deadline(0);
		pinwatch_next_due(&due, &now, PINWATCH_INTERVAL_MS);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int pinwatch_start(struct pinwatch *w, void (*poll)(void *), void *opaque)
{
	w->poll = poll;
	w->opaque = opaque;
	pthread_mutex_init(&w->lock, NULL);
	clock_cond_init(&w->cond);
	if (pthread_create(&w->thread, NULL, pinwatch_main, w))
		return -EAGAIN;
	w->started = true;
	return 0;
}

void pinwatch_stop(struct pinwatch *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}
