/* binding.h - an instance's binding to a target: the target, its
 * channels and its pins, as one immutable, reference-counted object.
 *
 * Which channels and pins exist, and their configuration, never change
 * once a binding is published: a target change builds a new binding and
 * swaps the instance's pointer (instance_set_target). Whoever holds a
 * reference (a FUSE operation, an open pin file, a run, the pin watcher
 * across its QMP round trips) keeps every channel and pin of it alive;
 * the last binding_put frees them. What moves at run time inside a
 * channel or a pin (its log, queue, level, watchers) has its own locks
 * (channel.h, pinset.h).
 *
 * A binding points into its instance (the pins' pinset_env, the logs'
 * full-disk notice): it must not outlive it. Every holder but the
 * instance itself holds the instance too (a node, a run the instance
 * waits for), so the instance drops the last reference.
 */
#ifndef EMUFS_BINDING_H
#define EMUFS_BINDING_H

#include <stdatomic.h>
#include <stddef.h>

#include "channel.h"
#include "pinset.h"

struct cfg_target;
struct logfile;

struct binding {
	atomic_int refs;
	const struct cfg_target *target;   /* NULL: no target (mkdir) */
	struct channel *channels;          /* cfg order */
	size_t nchannels;
	struct pin *pins;                  /* cfg order */
	size_t npins;
	const struct pinset_env *pinenv;   /* the instance's */
};

/* What a binding is built with (the instance's). */
struct binding_env {
	const struct pinset_env *pinenv;
	const char *dir;                   /* channel logs: <dir>/<name>.log */
	long long log_cap;
	/* Called for each channel's log once opened (hooks, notices). */
	void (*watch_log)(void *opaque, struct logfile *lf, const char *name);
	void *opaque;
};

/* A new binding of t (NULL: an empty one) with one reference (the
 * caller's): 0, or -errno with nothing left behind. */
int binding_new(const struct binding_env *env, const struct cfg_target *t,
		struct binding **out);
/* One more reference on a binding the caller holds one of. */
struct binding *binding_get(struct binding *b);
/* Drop a reference (NULL: nothing); the last one frees the binding, its
 * channels (detached first) and its pins. Never with a lock held that a
 * channel's, a logfile's or the pin watcher's could wait for. */
void binding_put(struct binding *b);
/* The instance is bound anew: no run of b comes again. Its channels'
 * followers waiting for the next run reach end of file (logfile_retire).
 * Only while no run uses b. */
void binding_retire(struct binding *b);

/* A channel, a pin by name, or NULL: valid while the caller holds its
 * reference on b. */
struct channel *binding_channel(struct binding *b, const char *name);
struct pin *binding_pin(struct binding *b, const char *name);

/* Tests only (NULL in emufs): called with each binding being freed. */
extern void (*binding_freed_hook)(struct binding *b);

#endif
