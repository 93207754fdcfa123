/* instance.h - an emulator instance (one directory of the tree): its
 * binding to a target, its state machine (docs/reference.md 3.1, 3.2),
 * and its runs (run.h). The lifecycle commands are lifecycle.h.
 *
 * An instance lives as long as its directory. Each start creates a run:
 * the emulator process and everything connected to it.
 *
 * The states and the changes between them (instance_transition_locked
 * asserts each against this table, and writes an EMUFS_STATE event):
 *
 *   stopped, exited, crashed -> starting                 (start)
 *   starting -> running, paused                          (launched)
 *   starting, running, paused -> stopped                 (kill; a failed
 *                                                          start)
 *   starting, running, paused -> exited | crashed        (ended by itself:
 *                                                          status 0 | else)
 *   running <-> paused                    (pause, resume, the guest, raw)
 *   running, paused -> stopping -> stopped               (stop)
 */
#ifndef EMUFS_INSTANCE_H
#define EMUFS_INSTANCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "binding.h"
#include "channel.h"
#include "config.h"
#include "logfile.h"
#include "lognotice.h"
#include "pinset.h"
#include "run.h"

struct core;
struct core_hooks;
struct ioloop;
struct pinwatch;

enum inst_state {
	ST_STOPPED,
	ST_STARTING,
	ST_RUNNING,
	ST_PAUSED,
	ST_STOPPING,
	ST_EXITED,
	ST_CRASHED,
	ST_COUNT
};

const char *inst_state_name(enum inst_state st);

/* What all instances share; owned by the core (core.h), which outlives
 * them. */
struct instance_env {
	const struct emufs_config *cfg;
	const char *state_dir;
	struct ioloop *loop;
	const struct core_hooks *hooks;
	struct pinwatch *pinwatch;
	struct core *core;             /* the registry (core.c's) */
};

/* The claim of a lifecycle command on its instance: while a command
 * holds one, no other command runs. 0 is "nobody". */
typedef unsigned inst_token;

struct instance {
	struct core *core;             /* the registry that lists it */
	const struct instance_env *env;
	char *name;
	char *dir;                     /* state directory of this instance */
	int refs;                      /* protected by core->lock */

	/* Protects the pointer binding (never what it points to, which is
	 * immutable: binding.h): its swap by a target change and the
	 * reference instance_binding takes. Nothing is taken under it. */
	pthread_mutex_t bind_lock;
	struct binding *binding;       /* never NULL; the instance's ref */
	struct pinset_env pinenv;      /* what the pins tell, and whom */
	struct lognotice notice;       /* where a full disk is told */

	pthread_mutex_t lock;          /* protects state, run, busy,
					* busy_last, closing, runs, retired,
					* firmware */
	enum inst_state state;
	struct run *run;               /* current run, or NULL */
	/* The token of the lifecycle command that holds the instance (0:
	 * none). Only its holder clears it, so the exit path or a late
	 * release can never free a claim another command holds. */
	inst_token busy;
	inst_token busy_last;          /* the last token handed out */
	int closing;                   /* runs taken off, being closed
					* (run_close is detaching their
					* channels) */
	int runs;                      /* run objects not yet freed: each
					* points here, so instance_free
					* waits for them */
	pthread_cond_t finished;       /* signalled when closing or runs
					* drops */
	bool retired;                  /* removed by rmdir; files still open */
	/* The image written to `firmware` (firmware.h), for the runs
	 * that follow; NULL: the target's own. A target change resets it. */
	char *firmware;

	struct logfile log;            /* `log` */
	struct logfile events;         /* `events` */
	struct logfile trace;          /* `trace/log` (trace.h) */
};

/* Created stopped; target may be NULL (mkdir). */
struct instance *instance_new(const struct instance_env *env,
			      const char *name,
			      const struct cfg_target *target, int *err);
/* No run may be left (lifecycle.h: kill it first). */
void instance_free(struct instance *inst);

/* rmdir: a stopped instance leaves the tree. Its state directory moves
 * aside at once (a new instance of the same name gets a fresh one even
 * while files of the old are open), and it never runs again. -EBUSY
 * while it runs. */
int instance_retire(struct instance *inst);

enum inst_state instance_state(struct instance *inst);
bool instance_has_run(struct instance *inst);
/* Name of the target, "" when none. */
void instance_target_name(struct instance *inst, char *buf, size_t len);
/* Set the target by name; only while stopped (EBUSY), known names only. */
int instance_set_target(struct instance *inst, const char *buf, size_t len);

/* The image the next start boots into buf: the one written to
 * `firmware`, else the target's own; "" when it boots none. 0, or
 * -ENAMETOOLONG. */
int instance_image(struct instance *inst, char *buf, size_t len);
/* Boot path (malloc'd, taken over; NULL: the target's own) from the next
 * start on. The caller holds a claim on a stopped instance (firmware.c
 * checked path against the target). */
void instance_set_firmware(struct instance *inst, char *path);

/* For what needs files of the emulator's that emufs owns (`firmware`,
 * `snapshots/`, `trace/log`): 0, or -ENOTSUP with what refused in `log`
 * when the instance's target is attached (interface.md 6). */
int instance_refuse_attached(struct instance *inst, const char *what);

/* The current run with a reference, or NULL when not running. */
struct run *instance_get_run(struct instance *inst);

/* The current binding (target, channels, pins) with a reference: never
 * NULL; binding_put() it. binding_channel() and binding_pin() find one of
 * its channels or pins, valid while the reference is held (pin.h: what a
 * pin file does with one). A target change meanwhile does not touch it:
 * it leaves a binding of its own in the instance. */
struct binding *instance_binding(struct instance *inst);

/* One QMP-shaped event line of emufs's own in `events` (event.h). */
void instance_event(struct instance *inst, const char *event,
		    const char *data, bool notice);
/* A line in `log`. */
void instance_log(struct instance *inst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the state machine, for the lifecycle commands (lifecycle.c) --- */

static inline bool inst_state_stopped(enum inst_state st)
{
	return st == ST_STOPPED || st == ST_EXITED || st == ST_CRASHED;
}

/* Change the state (inst->lock held): asserts the change is in the
 * table above and writes the EMUFS_STATE event. */
void instance_transition_locked(struct instance *inst, enum inst_state to);
/* Let a run being closed go first (bounded; inst->lock held), before a
 * command looks at the state. */
void instance_wait_closed_locked(struct instance *inst);
/* Claim the instance for a command (inst->lock held, busy free). */
inst_token instance_claim_locked(struct instance *inst);
/* Claim a stopped (exited, crashed) instance for a change of what its
 * next start runs (target, firmware): 0, or -EBUSY with the line
 * "<what>: refused while <state>" in `log`. */
int instance_claim_stopped(struct instance *inst, const char *what,
			   inst_token *token);
/* Give up the claim; if r's process ended meanwhile, take r down as
 * ended by itself (exited or crashed), as the exit callback would have. */
void instance_release(struct instance *inst, inst_token token,
		      struct run *r);
/* Take r off the instance as stopped (stop, kill, a failed start) and
 * give up the claim. */
void instance_release_stopped(struct instance *inst, inst_token token,
			      struct run *r);
/* A new run of binding b's target (inst->lock held): counted in runs;
 * it holds a reference on b for its life. */
struct run *instance_run_new_locked(struct instance *inst,
				    struct binding *b, const char *snapshot);
/* "<how>: the emulator <exit status>" in `log`. */
void instance_log_exit(struct instance *inst, struct run *r,
		       const char *how);

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

#endif
