/* pin.h - GPIO pins as files (interface.md 3.5).
 *
 * A pin keeps the last level emufs saw and a generation that moves on
 * every change, so an open file can tell whether the level changed since
 * it last read (poll's POLLPRI|POLLERR). Levels come from the emulator
 * (qom and renode backends: read on demand, and polled by the pin watcher
 * while a pin file is open) or from the guest's shim lines.
 */
#ifndef EMUFS_PIN_H
#define EMUFS_PIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "shim.h"

struct cfg_pin;
struct channel;
struct core;
struct instance;

struct pin {
	const struct cfg_pin *cfg;
	struct channel *shim;       /* shim backend: the channel it uses */
	/* Protects the pair (level, gen) against writers: a level and the
	 * generation it was recorded at move together, so a reader can
	 * tell which change its level includes. Readers of one field alone
	 * (poll's gen compare) need no lock. */
	pthread_mutex_t lock;
	atomic_int level;           /* -1 until known */
	atomic_uint gen;            /* bumped on every change */
	atomic_int watchers;        /* open files of this pin */
};

/* A shim channel's parser state; lives in the channel (channel.h). */
struct shim_binding {
	struct shim_parser parser;
	struct instance *inst;
	struct channel *channel;
};

/* Bind the target's pins of inst (tlock held for writing). */
int pins_bind(struct instance *inst);
void pins_free(struct instance *inst);
/* A new run: levels unknown again. */
void pins_new_run(struct instance *inst);

/* Find a pin by name with inst->tlock held for reading on success:
 * instance_unlock_target() when done. */
struct pin *instance_lock_pin(struct instance *inst, const char *name);

/* The level now: 0 or 1, or -ESRCH (not running), -ETIMEDOUT, -EIO.
 * *gen (may be NULL) gets the generation that level was recorded at:
 * the one an open file compares against for poll. Taken in the same
 * step as the level, so a change recorded by another thread (the pin
 * watcher) after it is never counted as seen. */
int pin_read(struct instance *inst, struct pin *p, unsigned *gen);
/* Drive an `in` pin from text "0" or "1" (newline optional): 0, or
 * -EPERM (an `out` pin), -EINVAL, -ESRCH; each refusal logged. */
int pin_write(struct instance *inst, struct pin *p, const char *buf,
	      size_t len);
/* Record a level; tells the core's hooks when it changed. Returns the
 * generation at which level is the recorded one. */
unsigned pin_update(struct instance *inst, struct pin *p, int level);
void pin_watch(struct instance *inst, struct pin *p, int delta);

/* The pin watcher: one thread for the whole core that polls the levels
 * of watched qom/renode pins, and sleeps while none is watched. */
#define PINWATCH_INTERVAL_MS 15
int pinwatch_start(struct core *core);
void pinwatch_stop(struct core *core);

#endif
