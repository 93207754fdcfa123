/* instance.h - an emulator instance (one directory of the tree), its state
 * machine (interface.md 3.1, 3.2) and its runs.
 *
 * An instance lives as long as its directory. Each start creates a run:
 * the emulator process and everything connected to it. The run is
 * reference counted, so a FUSE worker that is talking to the emulator
 * keeps it valid while the emulator dies underneath.
 */
#ifndef EMUFS_INSTANCE_H
#define EMUFS_INSTANCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "channel.h"
#include "config.h"
#include "logfile.h"
#include "pin.h"
#include "process.h"

struct core;
struct connector_ops;
struct io_watch;

enum inst_state {
	ST_STOPPED,
	ST_STARTING,
	ST_RUNNING,
	ST_PAUSED,
	ST_STOPPING,
	ST_EXITED,
	ST_CRASHED,
};

const char *inst_state_name(enum inst_state st);

struct run {
	atomic_int refs;
	struct instance *inst;
	const struct connector_ops *conn;
	const struct cfg_target *target;
	int timeout_ms;                /* request timeout */
	struct process proc;
	/* Taken with atomic_exchange by whoever removes them: the I/O loop
	 * at EOF (a hung-up fd would wake it forever) or the run's end. */
	struct io_watch *_Atomic pid_watch;  /* pidfd: the process ended */
	struct io_watch *_Atomic out_watch;  /* stdout/stderr into log */
	pthread_mutex_t lock;          /* protects exited, wstatus */
	pthread_cond_t cond;           /* signalled when exited is set */
	bool exited;
	int wstatus;
	void *priv;                    /* the connector's */
};

struct instance {
	struct core *core;
	char *name;
	char *dir;                     /* state directory of this instance */
	int refs;                      /* protected by core->lock */

	pthread_rwlock_t tlock;        /* protects target, channels,
					* pins and their counts: written only
					* while stopped (target file) */
	const struct cfg_target *target;
	struct channel *channels;
	size_t nchannels;
	struct pin *pins;
	size_t npins;
	unsigned bind_gen;             /* bumped when the target changes */

	pthread_mutex_t lock;          /* protects state, run, busy,
					* busy_next, finishing, runs,
					* retired */
	enum inst_state state;
	struct run *run;               /* current run, or NULL */
	/* The lifecycle command that runs, by the token it claimed busy
	 * with (0: none). Only the holder clears it, so the exit path or a
	 * late release can never free a claim another command holds. */
	unsigned busy;
	unsigned busy_next;            /* the last token handed out */
	int finishing;                 /* runs being taken down (run_finish
					* is detaching their channels) */
	int runs;                      /* run objects not yet freed: each
					* points here, so instance_free
					* waits for them */
	pthread_cond_t finished;       /* signalled when finishing or runs
					* drops */
	bool retired;                  /* removed by rmdir; files still open */

	struct logfile log;            /* `log` */
	struct logfile events;         /* `events` */
};

/* Created stopped; target may be NULL (mkdir). */
struct instance *instance_new(struct core *core, const char *name,
			      const struct cfg_target *target, int *err);
void instance_free(struct instance *inst);

/* Run the lines of a ctl write, in order, stopping at the first error. */
int instance_ctl(struct instance *inst, const char *buf, size_t len);
int instance_start(struct instance *inst, bool paused);
int instance_stop(struct instance *inst);
int instance_kill(struct instance *inst);
int instance_pause(struct instance *inst);
int instance_resume(struct instance *inst);
int instance_reset(struct instance *inst);

/* rmdir: a stopped instance leaves the tree. Its state directory moves
 * aside at once (a new instance of the same name gets a fresh one even
 * while files of the old are open), and it never runs again. -EBUSY
 * while it runs. */
int instance_retire(struct instance *inst);

enum inst_state instance_state(struct instance *inst);
/* Name of the target, "" when none. */
void instance_target_name(struct instance *inst, char *buf, size_t len);
/* Set the target by name; only while stopped (EBUSY), known names only. */
int instance_set_target(struct instance *inst, const char *buf, size_t len);

/* The current run with a reference, or NULL when not running. */
struct run *instance_get_run(struct instance *inst);
/* Another reference on a run the caller holds one on, or that a watch
 * whose callback is running points to. */
struct run *run_get(struct run *r);
void run_put(struct run *r);

/* Find a channel by name, with inst->tlock held for reading on success:
 * the caller calls instance_unlock_target() when done. */
struct channel *instance_lock_channel(struct instance *inst,
				      const char *name);
void instance_unlock_target(struct instance *inst);

/* For connectors: spawn argv for this run (from the I/O loop thread) with
 * env's NAME=VALUE strings added to its environment (env may be NULL),
 * watch its exit and copy its output into `log`. */
int run_spawn(struct run *r, char *const argv[], char *const env[],
	      char *why, size_t whylen);
/* Wait until the process ended, at most timeout_ms: 0 or -ETIMEDOUT. */
int run_wait_exit(struct run *r, int timeout_ms);
bool run_exited(struct run *r);
/* An event line from the emulator (QMP event JSON) into `events`. line
 * NULL: the connector appended it itself (in a batch); only what the event
 * named name means for the state is left to do. */
void run_emulator_event(struct run *r, const char *line, const char *name);

/* One QMP-shaped event line of emufs's own in `events`: data holds the
 * JSON members that follow "instance" (names need no escaping). notice:
 * a full disk's notice (lognotice.c), which may use all the memory a log
 * holds while its disk is full. */
void instance_event(struct instance *inst, const char *event,
		    const char *data, bool notice);

/* Tests only (NULL in emufs): called by the exit callback at each point
 * where another thread may finish the run meanwhile, to widen that window
 * deterministically. EMUFS_TEST_EXIT_DELAY_MS (integration tests) sleeps
 * there instead. */
enum exit_hook_point {
	EXIT_HOOK_RECORDED,     /* exited is set and broadcast */
	EXIT_HOOK_DECIDED,      /* it looked at busy and the run */
	EXIT_HOOK_DONE,         /* the callback is about to return */
};
extern void (*instance_exit_hook)(struct run *r, enum exit_hook_point pt);

/* A line in `log`, and the same through the instance. */
void instance_log(struct instance *inst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
