/* pinset.h - the pins of a bound target (docs/reference.md 3.5): their
 * levels and the shim backend that reads them from a channel.
 *
 * A pin keeps the last level emufs saw and a generation that moves on
 * every change, so an open file can tell whether the level changed since
 * it last read (poll's POLLPRI|POLLERR). Levels come from the emulator
 * (qom and renode backends: read on demand, and polled by the pin watcher
 * while a pin file is open) or from the guest's shim lines, which this
 * module reads through the channel's tap. What a pin file does through
 * its instance (read, write, watch) is pin.h.
 */
#ifndef EMUFS_PINSET_H
#define EMUFS_PINSET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct cfg_pin;
struct cfg_target;
struct channel;
struct core_hooks;
struct logfile;
struct pinwatch;

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

/* What the pins of one instance tell, and whom (lives in the instance). */
struct pinset_env {
	const struct core_hooks *hooks;   /* pin_changed: a level moved */
	struct logfile *log;              /* the instance's `log` */
	struct pinwatch *watch;           /* the core's pin watcher */
};

/* The pins of t, shim pins tapping their channels; on error what was
 * made is left for pinset_free. */
int pinset_bind(const struct pinset_env *env, const struct cfg_target *t,
		struct channel *channels, size_t nchannels,
		struct pin **pins, size_t *npins);
/* Unbind (before the channels are destroyed); watched pins leave the
 * watcher's count. */
void pinset_free(const struct pinset_env *env, struct pin *pins,
		 size_t npins, struct channel *channels, size_t nchannels);
/* A new run: levels unknown again, shim parsers start over. */
void pinset_new_run(struct pin *pins, size_t npins,
		    struct channel *channels, size_t nchannels);
/* Record a level; tells the hooks when it changed. Returns the
 * generation at which level is the recorded one. */
unsigned pinset_record(const struct pinset_env *env, struct pin *p,
		       int level);

#endif
