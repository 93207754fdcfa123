/* core.h - the emufs core: the configuration, the instances, the state
 * directory and the I/O loop. Knows nothing of FUSE; the adapter in fs/
 * maps paths onto these calls and their -errno results onto replies.
 */
#ifndef EMUFS_CORE_H
#define EMUFS_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct instance;
struct ioloop;
struct logfile;
struct pin;

/* How the core tells the adapter that a log grew (poll wake-ups). Called
 * from any thread, never from inside a FUSE request of the same file. */
struct core_hooks {
	void (*log_grew)(struct logfile *lf, void *opaque);
	void (*pin_changed)(struct pin *p, void *opaque);
	void *opaque;
};

struct pinwatch {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;          /* protects active, stop */
	pthread_cond_t cond;           /* active or stop changed */
	int active;                    /* watched qom/renode pins, all
					* instances */
	bool stop;
};

struct core {
	struct emufs_config *cfg;
	struct core_hooks hooks;
	char *state_dir;               /* 0700, owned by us */
	struct ioloop *loop;

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
