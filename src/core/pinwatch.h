/* pinwatch.h - the pin watcher: one thread for the whole core that polls
 * the levels of watched emulator-side pins (qom, renode) and sleeps while
 * none is watched.
 *
 * Why a thread and not the I/O loop: a qom-get waits for its reply, which
 * the I/O loop itself reads, so the loop cannot ask. The watcher knows
 * nothing of instances: its owner (core.c) gives it the function that
 * polls them all, and pin files count themselves in and out.
 */
#ifndef EMUFS_PINWATCH_H
#define EMUFS_PINWATCH_H

#include <pthread.h>
#include <stdbool.h>

/* Every 15 ms keeps a change's wake-up near 8 ms on average and under
 * 20 ms nearly always, well inside the contract's 50 ms, for about 2% of
 * a core per watched pin (one QMP round trip, ~0.3 ms, per poll). */
#define PINWATCH_INTERVAL_MS 15

struct pinwatch {
	pthread_t thread;
	bool started;
	void (*poll)(void *opaque);    /* polls every watched pin */
	void *opaque;
	pthread_mutex_t lock;          /* protects active, stop */
	pthread_cond_t cond;           /* active or stop changed */
	int active;                    /* watched qom/renode pins, all
					* instances */
	bool stop;
};

/* Start the thread; poll(opaque) runs on it every interval while pins
 * are watched. */
int pinwatch_start(struct pinwatch *w, void (*poll)(void *), void *opaque);
void pinwatch_stop(struct pinwatch *w);
/* delta more (or fewer) watched pins. */
void pinwatch_count(struct pinwatch *w, int delta);

#endif
