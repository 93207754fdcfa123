/* core.h - the emufs core: the configuration, the instances, the state
 * directory and the I/O loop. Knows nothing of FUSE; the adapter in fs/
 * maps paths onto these calls and their -errno results onto replies.
 *
 * The modules, bottom up (each uses only those before it; the table of
 * emulators, src/emulators.c, names the connectors):
 *   clock, logfile, ioloop, process, shim, statedir, propval, config*
 *   hooks, channel, event, lognotice, pinwatch, pinset, launcher,
 *   launch_local
 *   binding      a target's channels and pins, immutable, refcounted
 *   run          a run: process, watches, the API of connectors
 *   instance     binding, state machine, the runs it owns
 *   lifecycle    start, stop, kill, pause, resume, reset
 *   pin, ctl, firmware   what pin files, `ctl` and `firmware` do
 *                through an instance
 *   core         the registry of instances (this file)
 *
 * LOCK ORDER (while holding a lock, take only locks below it here):
 *   core->lock                      the registry
 *   inst->lock                      state, run, busy
 *   inst->bind_lock, run->lock, channel->lock, pin->lock,
 *   pinwatch->lock, a logfile's,
 *   a connector's own               leaves: nothing is taken under them
 *   but a logfile's
 * and apart from all of them, the I/O loop's dispatch lock: the loop
 * holds it while callbacks run, and those take inst->lock (a run's end,
 * an emulator's event), run->lock, channel->lock, logfile locks and, by
 * the hooks (hooks.h), the adapter's. So ioloop_remove() (and what calls
 * it: channel_detach, run_close, a connector's shutdown) waits for a
 * running callback, and must never be called with any of those locks
 * held. The binding has no lock of its own to hold across a wait: a
 * reference (binding.h) keeps its channels and pins alive, and the last
 * binding_put, wherever it happens (a run freed on the loop), detaches
 * channels that no run uses any more, so it removes no watch. A callback
 * may remove its own watch (the lock is recursive).
 */
#ifndef EMUFS_CORE_H
#define EMUFS_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "hooks.h"
#include "instance.h"
#include "pinwatch.h"

struct ioloop;

struct core {
	struct emufs_config *cfg;
	struct core_hooks hooks;
	char *state_dir;               /* 0700, owned by us */
	struct ioloop *loop;
	struct instance_env env;       /* what instances see of the above */

	pthread_mutex_t lock;          /* protects inst, ninst, and every
					* instance's refs */
	struct instance **inst;
	size_t ninst;

	struct pinwatch pinwatch;
};

/* Takes ownership of cfg; hooks may be NULL. */
int core_new(struct emufs_config *cfg, const char *state_dir,
	     const struct core_hooks *hooks, struct core **out,
	     char *err, size_t errlen);
/* Start instances with autostart; failures are logged per instance. */
void core_autostart(struct core *core);
/* Stop every running emulator (in parallel, bounded by the stop
 * sequence's 5 s), then free everything. */
void core_free(struct core *core);

/* Instance by name with a reference (instance_put() it), or NULL. */
struct instance *core_get(struct core *core, const char *name);
/* One more reference of an instance the caller holds one of. */
void instance_get(struct instance *inst);
void instance_put(struct instance *inst);
/* Names of all instances, in order; a NULL-terminated malloc'd array of
 * malloc'd strings. */
char **core_names(struct core *core);
void core_names_free(char **names);

/* mkdir: a new stopped instance without target (EEXIST, EINVAL). */
int core_mkdir(struct core *core, const char *name);
/* rmdir: only a stopped instance (EBUSY, ENOENT). */
int core_rmdir(struct core *core, const char *name);

#endif
