/* instance.c - an instance: its binding, its state machine and the runs
 * it owns (see instance.h; the commands that drive it are lifecycle.c).
 *
 * A lifecycle command claims the instance (`busy`, a token) for its whole
 * duration, so two of them never interleave, but never holds a lock while
 * it waits on the emulator: FUSE readers of `state` and the I/O loop stay
 * free.
 *
 * When the process ends by itself, the I/O loop takes the run down (state
 * `exited` or `crashed`). When it ends during a command, the command does
 * when it gives up its claim. The exit callback looks at the claim and
 * takes the run in one critical section: it can never clear a claim, nor
 * act on a stale look at it.
 *
 * Taking a run down happens in two steps: off the instance (inst->run
 * NULL, counted in `closing`, under inst->lock), then run_close() outside
 * the lock. Commands wait for `closing` to drop before they look at the
 * state, and so does a target change. Every run counts in `runs` until freed, which
 * instance_free waits for: what a callback reaches through the run stays
 * valid as long as the run does.
 */
#include "instance.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "connector.h"
#include "emulator.h"
#include "event.h"
#include "hooks.h"
#include "launcher.h"
#include "statedir.h"

/* How long a command waits for a run being closed (its output drained,
 * its channels detached) before it looks at the state anyway. */
#define CLOSE_WAIT_MS 5000

void (*instance_exit_hook)(struct run *r, enum exit_hook_point pt);

/* The test hook, or the delay of EMUFS_TEST_EXIT_DELAY_MS (read once). */
static void exit_hook(struct run *r, enum exit_hook_point pt)
{
	static atomic_int delay_ms = -1;
	if (instance_exit_hook) {
		instance_exit_hook(r, pt);
		return;
	}
	int ms = atomic_load(&delay_ms);
	if (ms < 0) {
		const char *e = getenv("EMUFS_TEST_EXIT_DELAY_MS");
		ms = e ? atoi(e) : 0;
		atomic_store(&delay_ms, ms > 0 ? ms : 0);
	}
	if (ms > 0 && pt == EXIT_HOOK_RECORDED) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* ---- states -------------------------------------------------------- */

static const char *const state_names[ST_COUNT] = {
	[ST_STOPPED] = "stopped",   [ST_STARTING] = "starting",
	[ST_RUNNING] = "running",   [ST_PAUSED] = "paused",
	[ST_STOPPING] = "stopping", [ST_EXITED] = "exited",
	[ST_CRASHED] = "crashed",
};

/* The legal changes: legal[from][to] (the table of instance.h). */
#define ENDED [ST_STOPPED] = 1, [ST_EXITED] = 1, [ST_CRASHED] = 1
static const bool legal[ST_COUNT][ST_COUNT] = {
	[ST_STOPPED]  = { [ST_STARTING] = 1 },
	[ST_EXITED]   = { [ST_STARTING] = 1 },
	[ST_CRASHED]  = { [ST_STARTING] = 1 },
	[ST_STARTING] = { [ST_RUNNING] = 1, [ST_PAUSED] = 1, ENDED },
	[ST_RUNNING]  = { [ST_PAUSED] = 1, [ST_STOPPING] = 1, ENDED },
	[ST_PAUSED]   = { [ST_RUNNING] = 1, [ST_STOPPING] = 1, ENDED },
	[ST_STOPPING] = { [ST_STOPPED] = 1 },
};
#undef ENDED

const char *inst_state_name(enum inst_state st)
{
	assert(st < ST_COUNT);
	return state_names[st];
}

void instance_log(struct instance *inst, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	logfile_vprintf_emufs(&inst->log, fmt, ap);
	va_end(ap);
}

void instance_event(struct instance *inst, const char *event,
		    const char *data, bool notice)
{
	event_write(&inst->events, inst->name, event, data, notice);
}

void instance_transition_locked(struct instance *inst, enum inst_state to)
{
	assert(legal[inst->state][to]);
	inst->state = to;
	const struct core_hooks *h = inst->env->hooks;
	if (h && h->state_changed)
		h->state_changed(inst, to, h->opaque);
	char data[64];
	snprintf(data, sizeof data, "\"state\": \"%s\"", inst_state_name(to));
	instance_event(inst, "EMUFS_STATE", data, false);
}

enum inst_state instance_state(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	enum inst_state st = inst->state;
	pthread_mutex_unlock(&inst->lock);
	return st;
}

bool instance_has_run(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	bool has = inst->run != NULL;
	pthread_mutex_unlock(&inst->lock);
	return has;
}

/* ---- the claim ----------------------------------------------------- */

inst_token instance_claim_locked(struct instance *inst)
{
	assert(inst->busy == 0);
	if (++inst->busy_last == 0)      /* 0 means "nobody" */
		inst->busy_last = 1;
	inst->busy = inst->busy_last;
	return inst->busy;
}

int instance_claim_stopped(struct instance *inst, const char *what,
			   inst_token *token)
{
	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	enum inst_state st = inst->state;
	bool ok = !inst->busy && inst_state_stopped(st);
	if (ok)
		*token = instance_claim_locked(inst);
	pthread_mutex_unlock(&inst->lock);
	if (ok)
		return 0;
	instance_log(inst, "%s: refused while %s", what, inst_state_name(st));
	return -EBUSY;
}

void instance_wait_closed_locked(struct instance *inst)
{
	struct timespec dl = clock_deadline(CLOSE_WAIT_MS);
	while (inst->closing &&
	       pthread_cond_timedwait(&inst->finished, &inst->lock, &dl) == 0)
		;
}

/* ---- taking a run down --------------------------------------------- */

void instance_log_exit(struct instance *inst, struct run *r,
		       const char *how)
{
	char desc[128];
	r->launcher->describe(r->wstatus, desc, sizeof desc);
	instance_log(inst, "%s: the emulator %s", how, desc);
}

/* Take r off the instance into state `to` (inst->lock held): the caller
 * then calls close_run(). */
static void take_off_locked(struct instance *inst, struct run *r,
			    enum inst_state to)
{
	assert(inst->run == r);
	inst->run = NULL;
	instance_transition_locked(inst, to);
	inst->closing++;
}

/* Close a run taken off the instance, and drop the instance's reference
 * on it. Runs on the I/O loop too (a run that ended by itself): nothing
 * here may wait for the loop (core.h's lock order). */
static void close_run(struct instance *inst, struct run *r)
{
	run_close(r);
	pthread_mutex_lock(&inst->lock);
	assert(inst->closing > 0);
	inst->closing--;
	pthread_cond_broadcast(&inst->finished);
	pthread_mutex_unlock(&inst->lock);
	run_put(r);      /* the instance's reference */
}

/* If r is the current run, has ended and nobody holds the instance, take
 * it off as ended by itself (inst->lock held). True when the caller must
 * then end_by_itself() it. */
static bool take_ended_locked(struct instance *inst, struct run *r)
{
	if (inst->busy || !r || inst->run != r || !run_exited(r))
		return false;
	take_off_locked(inst, r, WIFEXITED(r->wstatus) &&
			WEXITSTATUS(r->wstatus) == 0 ? ST_EXITED
						     : ST_CRASHED);
	return true;
}

static void end_by_itself(struct instance *inst, struct run *r)
{
	instance_log_exit(inst, r, "ended by itself");
	close_run(inst, r);
}

void instance_release(struct instance *inst, inst_token token,
		      struct run *r)
{
	pthread_mutex_lock(&inst->lock);
	if (inst->busy == token)
		inst->busy = 0;
	bool finish = take_ended_locked(inst, r);
	pthread_mutex_unlock(&inst->lock);
	if (finish)
		end_by_itself(inst, r);
}

void instance_release_stopped(struct instance *inst, inst_token token,
			      struct run *r)
{
	pthread_mutex_lock(&inst->lock);
	bool mine = inst->run == r;
	if (mine)
		take_off_locked(inst, r, ST_STOPPED);
	if (inst->busy == token)
		inst->busy = 0;
	pthread_mutex_unlock(&inst->lock);
	if (mine)
		close_run(inst, r);
}

/* ---- what the runs tell their instance ----------------------------- */

/* On the I/O loop: r's process ended (run.c holds r meanwhile). During a
 * command, the command takes the run down when it gives up its claim;
 * whoever waits on the emulator is woken by its sockets' EOF, or by
 * run_exited(). Look and take in one critical section: a command
 * claiming the instance in between must find the run still there, or
 * gone for good. */
static void on_run_exited(struct run *r)
{
	struct instance *inst = r->inst;
	exit_hook(r, EXIT_HOOK_RECORDED);
	pthread_mutex_lock(&inst->lock);
	bool finish = take_ended_locked(inst, r);
	pthread_mutex_unlock(&inst->lock);
	exit_hook(r, EXIT_HOOK_DECIDED);
	if (finish)
		end_by_itself(inst, r);
	exit_hook(r, EXIT_HOOK_DONE);
}

static void on_run_event(struct run *r, const char *line, const char *name)
{
	struct instance *inst = r->inst;
	size_t len = line ? strlen(line) : 0;
	char *buf = line ? malloc(len + 1) : NULL;
	if (buf) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		logfile_append(&inst->events, buf, len + 1);
		free(buf);
	}
	/* Pauses and resumes from elsewhere (the guest, a raw qmp file)
	 * show in state; emufs's own commands hold busy and set it. */
	if (!name)
		return;
	pthread_mutex_lock(&inst->lock);
	if (inst->run == r && inst->busy == 0) {
		if (!strcmp(name, "STOP") && inst->state == ST_RUNNING)
			instance_transition_locked(inst, ST_PAUSED);
		else if (!strcmp(name, "RESUME") && inst->state == ST_PAUSED)
			instance_transition_locked(inst, ST_RUNNING);
	}
	pthread_mutex_unlock(&inst->lock);
}

/* The last touch of the instance by a run: instance_free may go on. */
static void on_run_freed(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	assert(inst->runs > 0);
	inst->runs--;
	pthread_cond_broadcast(&inst->finished);
	pthread_mutex_unlock(&inst->lock);
}

static bool on_run_live(struct run *r)
{
	struct instance *inst = r->inst;
	pthread_mutex_lock(&inst->lock);
	bool live = inst->run == r && (inst->state == ST_RUNNING ||
				       inst->state == ST_PAUSED);
	pthread_mutex_unlock(&inst->lock);
	return live;
}

/* The adapter drops what it cached of props/ (fs/propcache.c). */
static void on_run_props_changed(struct run *r)
{
	const struct core_hooks *h = r->inst->env->hooks;
	if (h && h->props_changed)
		h->props_changed(r->inst, h->opaque);
}

static const struct run_owner run_owner = {
	.exited = on_run_exited,
	.event = on_run_event,
	.freed = on_run_freed,
	.live = on_run_live,
	.props_changed = on_run_props_changed,
};

/* The image a start boots for target t (inst->lock held, t stable). */
static const char *image_locked(struct instance *inst,
				const struct cfg_target *t)
{
	if (inst->firmware)
		return inst->firmware;
	return t && t->emulator->image_of ? t->emulator->image_of(t) : NULL;
}

int instance_image(struct instance *inst, char *buf, size_t len)
{
	struct binding *b = instance_binding(inst);
	pthread_mutex_lock(&inst->lock);
	const char *img = image_locked(inst, b ? b->target : NULL);
	size_t n = snprintf(buf, len, "%s", img ? img : "");
	pthread_mutex_unlock(&inst->lock);
	binding_put(b);
	return n < len ? 0 : -ENAMETOOLONG;
}

void instance_set_firmware(struct instance *inst, char *path)
{
	pthread_mutex_lock(&inst->lock);
	free(inst->firmware);
	inst->firmware = path;
	pthread_mutex_unlock(&inst->lock);
}

struct run *instance_run_new_locked(struct instance *inst,
				    struct binding *b, const char *snapshot)
{
	const struct cfg_target *t = b->target;
	struct run_init in = {
		.ops = &run_owner, .owner = inst,
		.conn = t->emulator->conn,
		.launcher = t->attach ? &launcher_attach : &launcher_local,
		.target = t, .timeout_ms = inst->env->cfg->request_timeout_ms,
		.loop = inst->env->loop, .log = &inst->log,
		.events = &inst->events, .trace = &inst->trace,
		.name = inst->name, .dir = inst->dir,
		.binding = b,
		.image = image_locked(inst, t),
		.snapshot = snapshot,
	};
	struct run *r = run_new(&in);
	if (r)
		inst->runs++;
	return r;
}

struct run *instance_get_run(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	struct run *r = inst->run;
	if (r && (inst->state == ST_RUNNING || inst->state == ST_PAUSED))
		run_get(r);
	else
		r = NULL;
	pthread_mutex_unlock(&inst->lock);
	return r;
}

int instance_refuse_attached(struct instance *inst, const char *what)
{
	struct binding *b = instance_binding(inst);
	bool attached = b->target && b->target->attach;
	binding_put(b);
	if (!attached)
		return 0;
	instance_log(inst, "%s: not supported on an attached emulator "
		     "(emufs owns none of its files)", what);
	return -ENOTSUP;
}

/* ---- the binding: a target's channels and pins --------------------- */

static void watch_log(struct instance *inst, struct logfile *lf,
		      const char *name)
{
	const struct core_hooks *h = inst->env->hooks;
	if (h && h->log_grew)
		logfile_set_grow_hook(lf, h->log_grew, h->opaque);
	lognotice_watch(&inst->notice, lf, name);
}

static void watch_channel_log(void *opaque, struct logfile *lf,
			      const char *name)
{
	watch_log(opaque, lf, name);
}

/* A new binding of target t (NULL: none) for inst. */
static int bind_new(struct instance *inst, const struct cfg_target *t,
		    struct binding **out)
{
	struct binding_env env = {
		.pinenv = &inst->pinenv, .dir = inst->dir,
		.log_cap = inst->env->cfg->log_cap,
		.watch_log = watch_channel_log, .opaque = inst,
	};
	return binding_new(&env, t, out);
}

struct binding *instance_binding(struct instance *inst)
{
	pthread_mutex_lock(&inst->bind_lock);
	struct binding *b = binding_get(inst->binding);
	pthread_mutex_unlock(&inst->bind_lock);
	return b;
}

void instance_target_name(struct instance *inst, char *buf, size_t len)
{
	struct binding *b = instance_binding(inst);
	snprintf(buf, len, "%s", b->target ? b->target->name : "");
	binding_put(b);
}

/* Build the new binding before giving up the old one: a failure leaves
 * the instance bound as it was. The claim keeps start away meanwhile;
 * readers holding the old binding go on with it until they put it. */
static int rebind(struct instance *inst, const struct cfg_target *t)
{
	struct binding *cur = instance_binding(inst), *b;
	bool same = cur->target == t;
	binding_put(cur);
	if (same)
		return 0;
	int rc = bind_new(inst, t, &b);
	if (rc)
		return rc;
	pthread_mutex_lock(&inst->bind_lock);
	struct binding *old = inst->binding;
	inst->binding = b;
	pthread_mutex_unlock(&inst->bind_lock);
	/* No run of it comes again (the claim keeps one away): its
	 * followers waiting for the next run reach end of file. */
	binding_retire(old);
	binding_put(old);      /* freed now, or by its last reader */
	return 0;
}

int instance_set_target(struct instance *inst, const char *buf, size_t len)
{
	char name[128];
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= sizeof name || memchr(buf, '\0', len)) {
		instance_log(inst, "target: expected a target name");
		return -EINVAL;
	}
	memcpy(name, buf, len);
	name[len] = '\0';
	const struct cfg_target *t = config_find_target(inst->env->cfg, name);
	if (!t) {
		instance_log(inst, "target: unknown target \"%s\"", name);
		return -EINVAL;
	}
	inst_token token;
	int rc = instance_claim_stopped(inst, "target", &token);
	if (rc)
		return rc;
	rc = rebind(inst, t);
	if (rc == 0)        /* the new target's image (docs: firmware) */
		instance_set_firmware(inst, NULL);
	instance_release(inst, token, NULL);
	if (rc)
		instance_log(inst, "target: %s", strerror(-rc));
	else
		instance_log(inst, "target set to %s", name);
	return rc;
}

/* ---- the instance -------------------------------------------------- */

static int open_log(struct instance *inst, struct logfile *lf,
		    const char *file)
{
	char *path;
	if (asprintf(&path, "%s/%s", inst->dir, file) < 0)
		return -ENOMEM;
	int rc = logfile_open(lf, path, inst->env->cfg->log_cap);
	free(path);
	/* Text lines and JSON lines: the cap never leaves half of one. */
	if (rc == 0)
		logfile_keep_lines(lf);
	return rc;
}

struct instance *instance_new(const struct instance_env *env,
			      const char *name,
			      const struct cfg_target *target, int *err)
{
	struct instance *inst = calloc(1, sizeof *inst);
	int rc = -ENOMEM;

	if (!inst)
		goto fail;
	inst->env = env;
	inst->core = env->core;
	pthread_mutex_init(&inst->bind_lock, NULL);
	pthread_mutex_init(&inst->lock, NULL);
	clock_cond_init(&inst->finished);
	inst->log.fd = inst->events.fd = inst->trace.fd = -1;
	inst->name = strdup(name);
	if (!inst->name || asprintf(&inst->dir, "%s/%s", env->state_dir,
				    name) < 0)
		goto fail;
	inst->pinenv = (struct pinset_env){ env->hooks, &inst->log,
					    env->pinwatch };
	inst->notice = (struct lognotice){ &inst->log, &inst->events,
					   inst->name };
	if ((rc = statedir_make_instance(inst->dir)) ||
	    (rc = open_log(inst, &inst->log, "log")) ||
	    (rc = open_log(inst, &inst->events, "events")) ||
	    (rc = open_log(inst, &inst->trace, "trace.log")))
		goto fail;
	watch_log(inst, &inst->log, "log");
	watch_log(inst, &inst->events, "events");
	watch_log(inst, &inst->trace, "trace/log");
	if ((rc = bind_new(inst, target, &inst->binding)))
		goto fail;
	return inst;
fail:
	*err = -rc;
	if (inst)
		instance_free(inst);
	return NULL;
}

void instance_free(struct instance *inst)
{
	if (!inst)
		return;
	/* A run outlives its instance's reference when a callback or a
	 * worker still holds it: they reach the instance through it. */
	pthread_mutex_lock(&inst->lock);
	assert(!inst->run);
	while (inst->runs)
		pthread_cond_wait(&inst->finished, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	/* The last reference (binding.h): every other holder held the
	 * instance too, or was a run, and runs are all freed. */
	if (inst->binding) {
		assert(atomic_load(&inst->binding->refs) == 1);
		binding_put(inst->binding);
	}
	free(inst->firmware);
	logfile_close(&inst->log);
	logfile_close(&inst->events);
	logfile_close(&inst->trace);
	pthread_mutex_destroy(&inst->bind_lock);
	pthread_mutex_destroy(&inst->lock);
	pthread_cond_destroy(&inst->finished);
	if (inst->dir)
		statedir_remove_instance(inst->dir);
	free(inst->dir);
	free(inst->name);
	free(inst);
}

int instance_retire(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	enum inst_state st = inst->state;
	if (inst->busy || !inst_state_stopped(st)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "rmdir refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	instance_claim_locked(inst);    /* for good: nothing runs it again */
	inst->retired = true;
	pthread_mutex_unlock(&inst->lock);
	char *aside = statedir_retire_instance(inst->dir);
	if (aside) {
		free(inst->dir);
		inst->dir = aside;
	}
	return 0;
}
