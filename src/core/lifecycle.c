/* lifecycle.c - the lifecycle commands (see lifecycle.h) on the state
 * machine of instance.h.
 *
 * Each command looks at the state and claims the instance in one
 * critical section, talks to the emulator without any lock held, and
 * gives its claim up through instance_release (the run goes on) or
 * instance_release_stopped (the run is over).
 */
#include "lifecycle.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "connector.h"
#include "binding.h"
#include "channel.h"
#include "instance.h"
#include "launcher.h"
#include "pinset.h"

/* The stop sequence of docs/reference.md 3.1: quit, SIGTERM, SIGKILL at
 * 5 s. */
#define STOP_QUIT_MS 2500
#define STOP_TERM_MS 2500
#define KILL_WAIT_MS 5000

/* The one line that says why a start failed, after everything the
 * emulator printed (it was killed and reaped: its output is complete),
 * and quoting the last lines of that: the emulator's own reason ("could
 * not load kernel ...") comes first, emufs's ("QMP handshake failed") in
 * parentheses. So `tail -n 1 log` after a failed start is this line. */
static void log_start_failure(struct instance *inst, struct run *r,
			      const char *why)
{
	char said[512];
	run_finish_output(r);
	run_last_output(r, said, sizeof said);
	if (said[0])
		instance_log(inst, "start failed: %s (%s)", said, why);
	else
		instance_log(inst, "start failed: %s", why);
}

int instance_start(struct instance *inst, bool paused)
{
	return instance_start_from(inst, paused, NULL);
}

int instance_start_from(struct instance *inst, bool paused,
			const char *snapshot)
{
	char why[512] = "";

	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	enum inst_state st = inst->state;
	if (inst->retired) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start refused: the instance was removed");
		return -ENOENT;
	}
	if (inst->busy || !inst_state_stopped(st)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	/* The current binding: set_target swaps it only under a claim, and
	 * busy is free. The run holds a reference of its own. */
	struct binding *b = instance_binding(inst);
	const struct cfg_target *t = b->target;
	if (!t) {
		pthread_mutex_unlock(&inst->lock);
		binding_put(b);
		instance_log(inst, "start refused: no target "
			     "(write a target's name to target first)");
		return -EINVAL;
	}
	struct run *r = instance_run_new_locked(inst, b, snapshot);
	if (!r) {
		pthread_mutex_unlock(&inst->lock);
		binding_put(b);
		instance_log(inst, "start failed: out of memory");
		return -EIO;
	}
	inst_token token = instance_claim_locked(inst);
	inst->run = r;
	instance_transition_locked(inst, ST_STARTING);
	pthread_mutex_unlock(&inst->lock);

	for (size_t i = 0; i < b->nchannels; i++)
		channel_new_run(&b->channels[i]);
	logfile_reset(&inst->trace);      /* a new run traces nothing yet */
	pinset_new_run(b->pins, b->npins, b->channels, b->nchannels);
	binding_put(b);         /* r holds it */
	instance_log(inst, "starting target %s%s", t->name,
		     paused ? " paused" : "");
	int rc = r->conn->launch(r, paused, why, sizeof why);
	if (rc) {
		run_signal(r, SIGKILL);
		if (run_exit_fd(r) >= 0)
			run_wait_exit(r, KILL_WAIT_MS);
		log_start_failure(inst, r, why[0] ? why : strerror(-rc));
		instance_release_stopped(inst, token, r);
		return -EIO;
	}
	/* An attached emulator runs as it was found (launch says how). */
	if (r->found_running >= 0)
		paused = !r->found_running;
	pthread_mutex_lock(&inst->lock);
	if (inst->run == r && !run_exited(r))
		instance_transition_locked(inst, paused ? ST_PAUSED
							: ST_RUNNING);
	pthread_mutex_unlock(&inst->lock);
	instance_release(inst, token, r);
	if (run_exited(r)) {
		log_start_failure(inst, r, "the emulator ended at once");
		return -EIO;
	}
	return 0;
}

int instance_stop(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	enum inst_state st = inst->state;
	struct run *r = inst->run;
	if (inst->busy || !r || (st != ST_RUNNING && st != ST_PAUSED)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "stop refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	inst_token token = instance_claim_locked(inst);
	instance_transition_locked(inst, ST_STOPPING);
	pthread_mutex_unlock(&inst->lock);

	/* The whole sequence: SIGKILL at 5 s, however the emulator behaves
	 * (a stopped or hung one does not answer quit). An emulator emufs
	 * did not start is not emufs's to end: ending its launcher lets go
	 * of it (launch_attach.c), and it runs on. */
	const char *how = "quit";
	long long quit_end = clock_now_ms() + STOP_QUIT_MS;
	if (!r->launcher->owns_process) {
		how = "disconnect";
		run_signal(r, SIGTERM);
	} else if (r->conn->quit) {
		r->conn->quit(r, STOP_QUIT_MS);
	}
	if (run_wait_exit(r, clock_ms_left(quit_end))) {
		how = "SIGTERM";
		run_signal(r, SIGTERM);
		if (run_wait_exit(r, STOP_TERM_MS)) {
			how = "SIGKILL";
			run_signal(r, SIGKILL);
			run_wait_exit(r, KILL_WAIT_MS);
		}
	}
	if (run_exited(r))
		instance_log_exit(inst, r, how);
	else
		instance_log(inst, "stop: pid %d did not end after SIGKILL",
			     run_pid(r));
	instance_release_stopped(inst, token, r);
	run_put(r);
	return 0;
}

int instance_kill(struct instance *inst)
{
	struct binding *b = instance_binding(inst);
	bool attached = b->target && b->target->attach;
	binding_put(b);
	if (attached) {
		instance_log(inst, "kill refused: the emulator is attached, not "
			     "emufs's to kill (stop disconnects and leaves it "
			     "running)");
		return -EINVAL;
	}
	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	struct run *r = inst->run;
	if (!r) {
		enum inst_state st = inst->state;
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "kill refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	/* While another command holds the instance, that command takes
	 * the run down when the kill wakes it. */
	inst_token token = inst->busy ? 0 : instance_claim_locked(inst);
	pthread_mutex_unlock(&inst->lock);

	run_signal(r, SIGKILL);
	run_wait_exit(r, KILL_WAIT_MS);
	if (token) {
		instance_log_exit(inst, r, "kill");
		instance_release_stopped(inst, token, r);
	}
	run_put(r);
	return 0;
}

/* pause, resume, reset: one request to the emulator. */
enum simple_op { OP_PAUSE, OP_RESUME, OP_RESET };

static const struct simple_cmd {
	const char *name;
	enum inst_state need1, need2;   /* states it makes sense in */
	enum inst_state after;
} simple_cmds[] = {
	[OP_PAUSE] = { "pause", ST_RUNNING, ST_RUNNING, ST_PAUSED },
	[OP_RESUME] = { "resume", ST_PAUSED, ST_PAUSED, ST_RUNNING },
	[OP_RESET] = { "reset", ST_RUNNING, ST_PAUSED, 0 },
};

static int simple_command(struct instance *inst, enum simple_op op)
{
	const struct simple_cmd *c = &simple_cmds[op];

	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	enum inst_state st = inst->state;
	struct run *r = inst->run;
	if (inst->busy || !r || (st != c->need1 && st != c->need2)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "%s refused: the instance is %s", c->name,
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	inst_token token = instance_claim_locked(inst);
	pthread_mutex_unlock(&inst->lock);

	int (*fn)(struct run *) = op == OP_PAUSE ? r->conn->pause
				  : op == OP_RESUME ? r->conn->resume
						    : r->conn->reset;
	int rc = fn ? fn(r) : -EINVAL;
	if (rc)
		instance_log(inst, "%s failed: %s", c->name, strerror(-rc));
	pthread_mutex_lock(&inst->lock);
	if (rc == 0 && op != OP_RESET && inst->run == r &&
	    inst->state != c->after)
		instance_transition_locked(inst, c->after);
	pthread_mutex_unlock(&inst->lock);
	instance_release(inst, token, r);
	run_put(r);
	return rc;
}

int instance_pause(struct instance *inst)
{
	return simple_command(inst, OP_PAUSE);
}

int instance_resume(struct instance *inst)
{
	return simple_command(inst, OP_RESUME);
}

int instance_reset(struct instance *inst)
{
	return simple_command(inst, OP_RESET);
}

/* A serial BREAK on a channel, in order with what was written to it. */
int instance_break(struct instance *inst, const char *name)
{
	struct binding *b = instance_binding(inst);
	struct channel *ch = binding_channel(b, name);
	int rc = ch ? channel_break(ch) : -ENOENT;
	binding_put(b);
	if (rc == -ENOENT) {
		char shown[65];     /* the user's word, control bytes as ? */
		size_t i = 0;
		for (; name[i] && i < sizeof shown - 1; i++)
			shown[i] = (unsigned char)name[i] < 0x20 ||
				   name[i] == 0x7f ? '?' : name[i];
		shown[i] = '\0';
		instance_log(inst, "break refused: no channel \"%s\"", shown);
		return -EINVAL;
	}
	if (rc == -ESRCH)
		instance_log(inst, "break refused: the instance is %s",
			     inst_state_name(instance_state(inst)));
	else if (rc == -ENOTSUP)
		instance_log(inst, "break refused: this emulator has no serial "
			     "break (docs/serial.md)");
	else if (rc)
		instance_log(inst, "break on %s failed: %s", name,
			     strerror(-rc));
	return rc == -ENOTSUP ? -EINVAL : rc;
}
