/* instance.c - the instance state machine and its runs (see instance.h).
 *
 * Lifecycle commands take the instance's `busy` flag for their whole
 * duration, so two of them never interleave, but they never hold a lock
 * while they wait on the emulator: FUSE readers of `state` and the I/O
 * loop stay free. `kill` is the one command that does not wait for `busy`:
 * it must be able to end a start that hangs.
 *
 * When the process ends by itself, the I/O loop finishes the run (state
 * `exited` or `crashed`). When it ends during a command, the command
 * finishes the run when it releases `busy`. `busy` holds the token of
 * the command that claimed it, and the exit callback checks it and takes
 * the run in one critical section: it can never clear a claim, nor act on
 * a stale look at it.
 *
 * Lifetimes: a run is freed when its last reference goes; a watch's
 * callback that removes its own watch (the exit callback) holds a
 * reference for its whole duration, since a thread finishing the run no
 * longer waits for a watch that is gone. Every run counts in its
 * instance's `runs`, which instance_free waits for: what a callback
 * reaches through the run stays valid as long as the run does.
 */
#include "instance.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connector.h"
#include "core.h"
#include "ioloop.h"
#include "lognotice.h"
#include "statedir.h"

/* The stop sequence of interface.md 3.1: quit, SIGTERM, SIGKILL at 5 s. */
#define STOP_QUIT_MS 2500
#define STOP_TERM_MS 2500
#define KILL_WAIT_MS 5000

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

static const char *const state_names[] = {
	[ST_STOPPED] = "stopped",   [ST_STARTING] = "starting",
	[ST_RUNNING] = "running",   [ST_PAUSED] = "paused",
	[ST_STOPPING] = "stopping", [ST_EXITED] = "exited",
	[ST_CRASHED] = "crashed",
};

const char *inst_state_name(enum inst_state st)
{
	return state_names[st];
}

void instance_log(struct instance *inst, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	logfile_printf(&inst->log, "emufs: %s", msg);
}

void instance_event(struct instance *inst, const char *event,
		    const char *data, bool notice)
{
	struct timeval tv;
	char line[512];
	gettimeofday(&tv, NULL);
	int n = snprintf(line, sizeof line,
			 "{\"timestamp\": {\"seconds\": %lld, \"microseconds\""
			 ": %ld}, \"event\": \"%s\", \"data\": {\"instance\": "
			 "\"%s\", %s}}\n", (long long)tv.tv_sec,
			 (long)tv.tv_usec, event, inst->name, data);
	if (n <= 0 || (size_t)n >= sizeof line)
		return;
	if (notice)
		logfile_notice(&inst->events, line, n);
	else
		logfile_append(&inst->events, line, n);
}

static void emit_state(struct instance *inst, enum inst_state st)
{
	char data[64];
	snprintf(data, sizeof data, "\"state\": \"%s\"", inst_state_name(st));
	instance_event(inst, "EMUFS_STATE", data, false);
}

/* Set the state, inst->lock held; the event is written after unlock by
 * the caller through the returned value (so lock order stays simple). */
static void set_state_locked(struct instance *inst, enum inst_state st)
{
	inst->state = st;
	emit_state(inst, st);
}

void run_emulator_event(struct run *r, const char *line, const char *name)
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
			set_state_locked(inst, ST_PAUSED);
		else if (!strcmp(name, "RESUME") && inst->state == ST_PAUSED)
			set_state_locked(inst, ST_RUNNING);
	}
	pthread_mutex_unlock(&inst->lock);
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- runs ---------------------------------------------------------- */

static struct run *run_new(struct instance *inst,
			   const struct cfg_target *t,
			   const struct connector_ops *conn)
{
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	inst->runs++;            /* inst->lock held by the caller */
	atomic_init(&r->refs, 1);
	r->inst = inst;
	r->conn = conn;
	r->target = t;
	r->timeout_ms = inst->core->cfg->request_timeout_ms;
	r->proc.pid = -1;
	r->proc.pidfd = r->proc.outfd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

struct run *run_get(struct run *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

void run_put(struct run *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	struct instance *inst = r->inst;
	if (r->conn->release)
		r->conn->release(r);
	process_release(&r->proc);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	/* The last touch of the instance: instance_free may go on. */
	pthread_mutex_lock(&inst->lock);
	inst->runs--;
	pthread_cond_broadcast(&inst->finished);
	pthread_mutex_unlock(&inst->lock);
	/* Give the run's memory back to the system: a run may have held
	 * megabytes (a paused guest's input backlog, QOM listings, event
	 * batches), and glibc keeps freed pages resident wherever a live
	 * block sits above them (the soak: RSS 20-40 % up after the load
	 * without this, 1.5 % with it). Once per run, cheap. */
	malloc_trim(0);
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

static void drain_output(struct run *r)
{
	char buf[16384];
	ssize_t n;
	if (r->proc.outfd < 0)
		return;
	while ((n = read(r->proc.outfd, buf, sizeof buf)) > 0)
		logfile_append(&r->inst->log, buf, n);
}

static void on_output(void *opaque, uint32_t events)
{
	struct run *r = opaque;
	char buf[16384];
	ssize_t n = read(r->proc.outfd, buf, sizeof buf);
	if (n > 0)
		logfile_append(&r->inst->log, buf, n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		ioloop_remove(atomic_exchange(&r->out_watch, NULL));
}

bool run_exited(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	bool e = r->exited;
	pthread_mutex_unlock(&r->lock);
	return e;
}

int run_wait_exit(struct run *r, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	while (!r->exited && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&r->cond, &r->lock, &dl);
	bool e = r->exited;
	pthread_mutex_unlock(&r->lock);
	return e ? 0 : -ETIMEDOUT;
}

/* The run is over for good: nothing reads from it any more. Called by
 * whoever took it off the instance; idempotent parts only. */
static void run_finish(struct run *r)
{
	struct instance *inst = r->inst;
	/* No tlock: the channels cannot change under us, a target change
	 * waits while inst->finishing counts this run (and taking tlock here,
	 * on the I/O loop, would order it after the loop's dispatch lock). */
	for (size_t i = 0; i < inst->nchannels; i++)
		channel_detach(&inst->channels[i]);
	if (r->conn->shutdown)
		r->conn->shutdown(r);
	ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
	ioloop_remove(atomic_exchange(&r->out_watch, NULL));
	drain_output(r);
}

static void log_exit(struct instance *inst, struct run *r, const char *how)
{
	char desc[128];
	process_describe_status(r->wstatus, desc, sizeof desc);
	instance_log(inst, "%s: the emulator %s", how, desc);
}

/* Take the run down while commands wait (see wait_finished_locked):
 * run_finish detaches channels under tlock, and a target change
 * (tlock for writing, freeing channels) must not slip in between. When
 * this runs on the I/O loop, that would deadlock: the loop holds its
 * dispatch lock, the target change waits for it to remove a watch. */
static void finish_run(struct instance *inst, struct run *r)
{
	run_finish(r);
	pthread_mutex_lock(&inst->lock);
	inst->finishing--;
	pthread_cond_broadcast(&inst->finished);
	pthread_mutex_unlock(&inst->lock);
	run_put(r);      /* the instance's reference */
}

/* Before a command looks at the state: let a run being taken down go
 * first (bounded; inst->lock held). */
static void wait_finished_locked(struct instance *inst)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += KILL_WAIT_MS / 1000;
	while (inst->finishing &&
	       pthread_cond_timedwait(&inst->finished, &inst->lock, &dl) == 0)
		;
}

/* Claim busy for a command (inst->lock held, busy free): its token. */
static unsigned claim_busy_locked(struct instance *inst)
{
	if (++inst->busy_next == 0)      /* 0 means "free" */
		inst->busy_next = 1;
	inst->busy = inst->busy_next;
	return inst->busy;
}

/* If r is the current run, has ended and no command holds busy, take it
 * off the instance as ended by itself (inst->lock held). True when the
 * caller must then end_by_itself() it. */
static bool take_ended_locked(struct instance *inst, struct run *r)
{
	if (inst->busy || !r || inst->run != r || !run_exited(r))
		return false;
	inst->run = NULL;
	set_state_locked(inst, WIFEXITED(r->wstatus) &&
			 WEXITSTATUS(r->wstatus) == 0 ? ST_EXITED
						      : ST_CRASHED);
	inst->finishing++;
	return true;
}

static void end_by_itself(struct instance *inst, struct run *r)
{
	log_exit(inst, r, "ended by itself");
	finish_run(inst, r);
}

/* Give up the claim `token`; if the process ended meanwhile, finish the
 * run as the exit callback would have. */
static void release_busy(struct instance *inst, unsigned token,
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

/* Take the run off the instance as stopped (stop, kill, failed start)
 * and give up the claim `token`. */
static void finish_stopped(struct instance *inst, unsigned token,
			   struct run *r)
{
	pthread_mutex_lock(&inst->lock);
	bool mine = inst->run == r;
	if (mine) {
		inst->run = NULL;
		set_state_locked(inst, ST_STOPPED);
		inst->finishing++;
	}
	if (inst->busy == token)
		inst->busy = 0;
	pthread_mutex_unlock(&inst->lock);
	if (mine)
		finish_run(inst, r);
}

static void on_exit_cb(void *opaque, uint32_t events)
{
	struct run *r = opaque;
	int ws = 0;
	if (run_exited(r) || process_reap(&r->proc, &ws) == 0) {
		if (run_exited(r))     /* woke before its watch was stored */
			ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
		return;
	}
	/* Once our watch is gone, a thread finishing the run no longer
	 * waits for this callback: hold the run (and so its instance)
	 * until we return. The watch still exists here, so the run does. */
	run_get(r);
	/* A reaped pidfd reports EPOLLHUP for ever: stop watching. */
	ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
	pthread_mutex_lock(&r->lock);
	r->exited = true;
	r->wstatus = ws;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	exit_hook(r, EXIT_HOOK_RECORDED);

	/* During a command, the command finishes the run when it releases
	 * busy; whoever waits on the emulator is woken by its sockets'
	 * EOF, or by run_exited(). Look and take in one critical section:
	 * a command claiming busy in between must find the run still
	 * there, or gone for good. */
	struct instance *inst = r->inst;
	pthread_mutex_lock(&inst->lock);
	bool finish = take_ended_locked(inst, r);
	pthread_mutex_unlock(&inst->lock);
	exit_hook(r, EXIT_HOOK_DECIDED);
	if (finish)
		end_by_itself(inst, r);
	exit_hook(r, EXIT_HOOK_DONE);
	run_put(r);
}

struct spawn_call {
	struct run *r;
	char *const *argv;
	char *const *env;
	char *why;
	size_t whylen;
	int rc;
};

static void spawn_in_loop(void *arg)
{
	struct spawn_call *c = arg;
	c->rc = process_spawn(c->argv, c->env, &c->r->proc, c->why,
			      c->whylen);
}

int run_spawn(struct run *r, char *const argv[], char *const env[],
	      char *why, size_t whylen)
{
	struct ioloop *loop = r->inst->core->loop;
	struct spawn_call c = { r, argv, env, why, whylen, 0 };

	ioloop_call(loop, spawn_in_loop, &c);
	if (c.rc)
		return c.rc;
	instance_log(r->inst, "started %s (pid %d)", argv[0],
		     (int)r->proc.pid);
	atomic_store(&r->out_watch, ioloop_add(loop, r->proc.outfd, EPOLLIN,
					       on_output, r));
	atomic_store(&r->pid_watch, ioloop_add(loop, r->proc.pidfd, EPOLLIN,
					       on_exit_cb, r));
	if (!r->out_watch || !r->pid_watch) {
		snprintf(why, whylen, "cannot watch the emulator");
		return -EIO;
	}
	return 0;
}

/* ---- the instance -------------------------------------------------- */

static void free_channels(struct instance *inst)
{
	pins_free(inst);
	for (size_t i = 0; i < inst->nchannels; i++)
		channel_destroy(&inst->channels[i]);
	free(inst->channels);
	inst->channels = NULL;
	inst->nchannels = 0;
}

static void watch_log(struct instance *inst, struct logfile *lf,
		      const char *name)
{
	const struct core_hooks *h = &inst->core->hooks;
	if (h->log_grew)
		logfile_set_grow_hook(lf, h->log_grew, h->opaque);
	lognotice_watch(inst, lf, name);
}

/* Build the channels and pins of target t (tlock held for writing or
 * unshared). */
static int bind_target(struct instance *inst, const struct cfg_target *t)
{
	free_channels(inst);
	inst->target = t;
	inst->bind_gen++;
	if (!t)
		return 0;
	inst->channels = calloc(t->nchannels + 1, sizeof *inst->channels);
	if (!inst->channels)
		return -ENOMEM;
	for (size_t i = 0; i < t->nchannels; i++) {
		char *path;
		if (asprintf(&path, "%s/%s.log", inst->dir,
			     t->channels[i].name) < 0)
			return -ENOMEM;
		int rc = channel_init(&inst->channels[i], &t->channels[i],
				      path, inst->core->cfg->log_cap);
		free(path);
		if (rc)
			return rc;
		watch_log(inst, &inst->channels[i].log, t->channels[i].name);
		inst->nchannels++;
	}
	return pins_bind(inst);
}

struct instance *instance_new(struct core *core, const char *name,
			      const struct cfg_target *target, int *err)
{
	struct instance *inst = calloc(1, sizeof *inst);
	char *path = NULL;
	int rc = -ENOMEM;

	if (!inst)
		goto fail;
	inst->core = core;
	pthread_rwlock_init(&inst->tlock, NULL);
	pthread_mutex_init(&inst->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&inst->finished, &ca);
	pthread_condattr_destroy(&ca);
	inst->log.fd = inst->events.fd = -1;
	inst->name = strdup(name);
	if (!inst->name || asprintf(&inst->dir, "%s/%s", core->state_dir,
				    name) < 0)
		goto fail;
	if ((rc = statedir_make_instance(inst->dir)))
		goto fail;
	long long cap = core->cfg->log_cap;
	if (asprintf(&path, "%s/log", inst->dir) < 0)
		goto fail;
	if ((rc = logfile_open(&inst->log, path, cap)))
		goto fail;
	free(path);
	if (asprintf(&path, "%s/events", inst->dir) < 0) {
		path = NULL;
		goto fail;
	}
	if ((rc = logfile_open(&inst->events, path, cap)))
		goto fail;
	/* Text lines and JSON lines: the cap never leaves half of one. */
	logfile_keep_lines(&inst->log);
	logfile_keep_lines(&inst->events);
	watch_log(inst, &inst->log, "log");
	watch_log(inst, &inst->events, "events");
	if ((rc = bind_target(inst, target)))
		goto fail;
	free(path);
	return inst;
fail:
	free(path);
	*err = -rc;
	if (inst)
		instance_free(inst);
	return NULL;
}

void instance_free(struct instance *inst)
{
	if (!inst)
		return;
	if (inst->run)
		instance_kill(inst);
	/* A run outlives its instance's reference when a callback or a
	 * worker still holds it: they reach the instance through it. */
	pthread_mutex_lock(&inst->lock);
	while (inst->runs)
		pthread_cond_wait(&inst->finished, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	free_channels(inst);
	logfile_close(&inst->log);
	logfile_close(&inst->events);
	pthread_rwlock_destroy(&inst->tlock);
	pthread_mutex_destroy(&inst->lock);
	pthread_cond_destroy(&inst->finished);
	if (inst->dir)
		statedir_remove_instance(inst->dir);
	free(inst->dir);
	free(inst->name);
	free(inst);
}

static bool is_stopped(enum inst_state st)
{
	return st == ST_STOPPED || st == ST_EXITED || st == ST_CRASHED;
}

int instance_retire(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	wait_finished_locked(inst);
	enum inst_state st = inst->state;
	if (inst->busy || !is_stopped(st)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "rmdir refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	claim_busy_locked(inst);    /* for good: nothing runs it again */
	inst->retired = true;
	pthread_mutex_unlock(&inst->lock);
	char *aside = statedir_retire_instance(inst->dir);
	if (aside) {
		free(inst->dir);
		inst->dir = aside;
	}
	return 0;
}

enum inst_state instance_state(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	enum inst_state st = inst->state;
	pthread_mutex_unlock(&inst->lock);
	return st;
}

void instance_target_name(struct instance *inst, char *buf, size_t len)
{
	pthread_rwlock_rdlock(&inst->tlock);
	snprintf(buf, len, "%s", inst->target ? inst->target->name : "");
	pthread_rwlock_unlock(&inst->tlock);
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
	const struct cfg_target *t = config_find_target(inst->core->cfg,
							name);
	if (!t) {
		instance_log(inst, "target: unknown target \"%s\"", name);
		return -EINVAL;
	}
	pthread_mutex_lock(&inst->lock);
	wait_finished_locked(inst);
	if (inst->busy || !is_stopped(inst->state)) {
		enum inst_state st = inst->state;
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "target: refused while %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	unsigned token = claim_busy_locked(inst);
	pthread_mutex_unlock(&inst->lock);

	pthread_rwlock_wrlock(&inst->tlock);
	int rc = inst->target == t ? 0 : bind_target(inst, t);
	pthread_rwlock_unlock(&inst->tlock);
	release_busy(inst, token, NULL);
	if (rc)
		instance_log(inst, "target: %s", strerror(-rc));
	else
		instance_log(inst, "target set to %s", name);
	return rc;
}

struct channel *instance_lock_channel(struct instance *inst,
				      const char *name)
{
	pthread_rwlock_rdlock(&inst->tlock);
	for (size_t i = 0; i < inst->nchannels; i++)
		if (!strcmp(inst->channels[i].cfg->name, name))
			return &inst->channels[i];
	pthread_rwlock_unlock(&inst->tlock);
	return NULL;
}

void instance_unlock_target(struct instance *inst)
{
	pthread_rwlock_unlock(&inst->tlock);
}

/* ---- lifecycle commands ------------------------------------------- */

int instance_start(struct instance *inst, bool paused)
{
	char why[512] = "";

	pthread_mutex_lock(&inst->lock);
	wait_finished_locked(inst);
	enum inst_state st = inst->state;
	if (inst->retired) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start refused: the instance was removed");
		return -ENOENT;
	}
	if (inst->busy || !is_stopped(st)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	/* target is stable: only set_target changes it, under busy. */
	const struct cfg_target *t = inst->target;
	if (!t) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start refused: no target "
			     "(write a target's name to target first)");
		return -EINVAL;
	}
	const struct connector_ops *conn = connector_for(t->emulator);
	struct run *r = conn ? run_new(inst, t, conn) : NULL;
	if (!r) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "start failed: %s", conn
			     ? "out of memory"
			     : "this emulator has no connector yet");
		return -EIO;
	}
	unsigned token = claim_busy_locked(inst);
	inst->run = r;
	set_state_locked(inst, ST_STARTING);
	pthread_mutex_unlock(&inst->lock);

	for (size_t i = 0; i < inst->nchannels; i++)
		channel_new_run(&inst->channels[i]);
	pins_new_run(inst);
	instance_log(inst, "starting target %s%s", t->name,
		     paused ? " paused" : "");
	int rc = conn->launch(r, paused, why, sizeof why);
	if (rc) {
		instance_log(inst, "start failed: %s", why[0] ? why
			     : strerror(-rc));
		process_signal(&r->proc, SIGKILL);
		if (r->proc.pidfd >= 0)
			run_wait_exit(r, KILL_WAIT_MS);
		finish_stopped(inst, token, r);
		return -EIO;
	}
	pthread_mutex_lock(&inst->lock);
	if (inst->run == r && !run_exited(r))
		set_state_locked(inst, paused ? ST_PAUSED : ST_RUNNING);
	pthread_mutex_unlock(&inst->lock);
	release_busy(inst, token, r);
	if (run_exited(r)) {
		instance_log(inst, "start failed: the emulator ended at once");
		return -EIO;
	}
	return 0;
}

int instance_stop(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	wait_finished_locked(inst);
	enum inst_state st = inst->state;
	struct run *r = inst->run;
	if (inst->busy || !r || (st != ST_RUNNING && st != ST_PAUSED)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "stop refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	unsigned token = claim_busy_locked(inst);
	set_state_locked(inst, ST_STOPPING);
	pthread_mutex_unlock(&inst->lock);

	/* The whole sequence: SIGKILL at 5 s, however the emulator behaves
	 * (a stopped or hung one does not answer quit). */
	const char *how = "quit";
	long long t0 = monotonic_ms();
	if (r->conn->quit)
		r->conn->quit(r, STOP_QUIT_MS);
	int left = STOP_QUIT_MS - (int)(monotonic_ms() - t0);
	if (run_wait_exit(r, left > 0 ? left : 0)) {
		how = "SIGTERM";
		process_signal(&r->proc, SIGTERM);
		if (run_wait_exit(r, STOP_TERM_MS)) {
			how = "SIGKILL";
			process_signal(&r->proc, SIGKILL);
			run_wait_exit(r, KILL_WAIT_MS);
		}
	}
	if (run_exited(r))
		log_exit(inst, r, how);
	else
		instance_log(inst, "stop: pid %d did not end after SIGKILL",
			     (int)r->proc.pid);
	finish_stopped(inst, token, r);
	run_put(r);
	return 0;
}

int instance_kill(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	wait_finished_locked(inst);
	struct run *r = inst->run;
	if (!r) {
		enum inst_state st = inst->state;
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "kill refused: the instance is %s",
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	/* While another command holds busy, that command finishes. */
	unsigned token = inst->busy ? 0 : claim_busy_locked(inst);
	pthread_mutex_unlock(&inst->lock);

	process_signal(&r->proc, SIGKILL);
	run_wait_exit(r, KILL_WAIT_MS);
	if (token) {
		log_exit(inst, r, "kill");
		finish_stopped(inst, token, r);
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
	wait_finished_locked(inst);
	enum inst_state st = inst->state;
	struct run *r = inst->run;
	if (inst->busy || !r || (st != c->need1 && st != c->need2)) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "%s refused: the instance is %s", c->name,
			     inst_state_name(st));
		return -EBUSY;
	}
	run_get(r);
	unsigned token = claim_busy_locked(inst);
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
		set_state_locked(inst, c->after);
	pthread_mutex_unlock(&inst->lock);
	release_busy(inst, token, r);
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
