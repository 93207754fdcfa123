/* test_instance_race.c - the end of an emulator racing lifecycle commands
 * (issue 12, defects 1 and 14), on the real instance code and I/O loop.
 *
 * A fake connector stands in for QEMU (fake_emulators.h: the test's
 * table of emulators, so no real connector is linked). Its emulator is a shell
 * that closes its output at once (so the output watch is gone, as for a
 * target whose emulator died with its pipe) and then sleeps; the test
 * kills it to make the exit callback run.
 *
 * instance_exit_hook stops the exit callback at the points where another
 * thread used to be able to free the run or claim busy; the hook waits
 * for that other thread's step (with a bound) instead of sleeping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/config_load.h"
#include "core/connector.h"
#include "core/core.h"
#include "core/instance.h"
#include "core/lifecycle.h"
#include "fake_emulators.h"

#define SOON_MS 5000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- what the threads tell each other ------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;  /* all below */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static enum { RACE_NONE, RACE_FREE, RACE_BUSY } race;
static struct instance *the_inst;
static bool racer_done;          /* the racing command returned */
static int racer_rc;
static bool in_quit;             /* stop is inside the connector's quit */
static bool quit_go;             /* quit may return */
static bool at_decided;          /* the exit callback looked at busy */
static bool exit_done;           /* the exit callback finished */
static bool launch_fails;        /* the fake launch reports a failure */

/* Wait (mu held) until *flag, at most SOON_MS: false on timeout. */
static bool wait_flag_locked(const bool *flag)
{
	long long end = clock_now_ms() + SOON_MS;
	while (!*flag) {
		long long left = end - clock_now_ms();
		if (left <= 0)
			return false;
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += left / 1000 + 1;
		pthread_cond_timedwait(&cv, &mu, &dl);
	}
	return true;
}

static void set_flag(bool *flag)
{
	pthread_mutex_lock(&mu);
	*flag = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void hook(struct run *r, enum exit_hook_point pt)
{
	pthread_mutex_lock(&mu);
	if (race == RACE_FREE && pt == EXIT_HOOK_RECORDED) {
		/* The command woken by the exit finishes and drops the run
		 * while we still use it (before the fix: freed). */
		wait_flag_locked(&racer_done);
	} else if (race == RACE_BUSY && pt == EXIT_HOOK_DECIDED) {
		/* If the callback left the run to a command, let a stop
		 * claim busy now: the callback must not clear that claim. */
		at_decided = true;
		pthread_cond_broadcast(&cv);
		pthread_mutex_lock(&the_inst->lock);
		bool still = the_inst->run == r;
		pthread_mutex_unlock(&the_inst->lock);
		if (still)
			wait_flag_locked(&in_quit);
	} else if (pt == EXIT_HOOK_DONE) {
		exit_done = true;
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the fake connector --------------------------------------------- */

static int fake_launch(struct run *r, bool paused, char *why, size_t wl)
{
	char *argv[] = { "/bin/sh", "-c", "exec >&- 2>&-; exec sleep 60",
			 NULL };
	int rc = run_spawn(r, argv, NULL, why, wl);
	if (rc)
		return rc;
	/* Its output closed: the output watch removes itself. */
	long long end = clock_now_ms() + SOON_MS;
	while (atomic_load(&r->out_watch) && clock_now_ms() < end)
		sleep_ms(1);
	if (launch_fails) {
		/* As a QEMU that never greets: the caller kills it. */
		snprintf(why, wl, "fake: no greeting");
		return -EIO;
	}
	return 0;
}

static int fake_quit(struct run *r, int timeout_ms)
{
	set_flag(&in_quit);
	pthread_mutex_lock(&mu);
	wait_flag_locked(&quit_go);
	pthread_mutex_unlock(&mu);
	return 0;
}

static const struct connector_ops fake_connector = {
	.launch = fake_launch,
	.quit = fake_quit,
};

/* ---- fixture -------------------------------------------------------- */

struct fixture {
	char dir[64];
	struct core *core;
	struct instance *inst;
};

static const char cfg_json[] =
	"{ \"targets\": { \"t\": { \"emulator\": \"qemu\", \"qemu\": "
	"{ \"binary\": \"/bin/sh\", \"machine\": \"none\" } } },"
	"  \"instances\": { \"i\": { \"target\": \"t\" } } }";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256] = "";
	struct emufs_config *cfg = NULL;

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-race-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (config_parse(cfg_json, strlen(cfg_json), "race.json", &cfg, err,
			 sizeof err))
		fail_msg("config: %s", err);
	if (core_new(cfg, f->dir, NULL, &f->core, err, sizeof err))
		fail_msg("core_new: %s", err);
	f->inst = core_get(f->core, "i");
	assert_non_null(f->inst);
	pthread_mutex_lock(&mu);
	race = RACE_NONE;
	the_inst = f->inst;
	racer_done = in_quit = quit_go = exit_done = launch_fails = false;
	at_decided = false;
	racer_rc = 0;
	pthread_mutex_unlock(&mu);
	instance_exit_hook = hook;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	set_flag(&quit_go);
	instance_put(f->inst);
	core_free(f->core);
	instance_exit_hook = NULL;
	free(f);
	return 0;
}

/* SIGKILL the current run's emulator, as if it died by itself (by its
 * pidfd: the pid field is the reaper's). */
static bool kill_emulator(struct instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	struct run *r = inst->run;
	if (r)
		process_signal(&r->proc, SIGKILL);
	pthread_mutex_unlock(&inst->lock);
	return r != NULL;
}

/* The racing command: kill, or start; its result in racer_rc. */
static void *racer_thread(void *arg)
{
	struct instance *inst = arg;
	int rc = launch_fails ? instance_start(inst, false)
			      : instance_kill(inst);
	pthread_mutex_lock(&mu);
	racer_rc = rc;
	racer_done = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *stop_thread(void *arg)
{
	return (void *)(intptr_t)instance_stop(arg);
}

static void wait_exit_callback(void)
{
	pthread_mutex_lock(&mu);
	bool ok = wait_flag_locked(&exit_done);
	pthread_mutex_unlock(&mu);
	assert_true(ok);
}

/* ---- defect 1: the exit callback and a command that frees the run --- */

/* kill: woken by the exit, it finishes the run and drops its references
 * while the exit callback still runs. Before the fix the callback then
 * read the freed run (ASan: heap-use-after-free; plain: a crash). */
static void test_kill_frees_run_under_the_exit_callback(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(instance_start(f->inst, false), 0);
	assert_int_equal(instance_state(f->inst), ST_RUNNING);
	race = RACE_FREE;
	pthread_t t;
	/* The kill thread's SIGKILL ends the emulator; its wait is woken
	 * by the callback, which the hook then holds. */
	assert_int_equal(pthread_create(&t, NULL, racer_thread, f->inst), 0);
	pthread_join(t, NULL);
	wait_exit_callback();
	assert_int_equal(racer_rc, 0);
	assert_int_equal(instance_state(f->inst), ST_STOPPED);
	/* and the instance works on */
	race = RACE_NONE;
	exit_done = false;
	assert_int_equal(instance_start(f->inst, false), 0);
	assert_int_equal(instance_kill(f->inst), 0);
	wait_exit_callback();
	assert_int_equal(instance_state(f->inst), ST_STOPPED);
}

/* A start that fails (an emulator that never greets) kills what it
 * spawned and frees the run as soon as the exit is recorded. */
static void test_failed_start_frees_run_under_the_exit_callback(void **state)
{
	struct fixture *f = *state;
	race = RACE_FREE;
	launch_fails = true;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, racer_thread, f->inst), 0);
	pthread_join(t, NULL);
	wait_exit_callback();
	assert_int_equal(racer_rc, -EIO);
	assert_int_equal(instance_state(f->inst), ST_STOPPED);
}

/* ---- defect 14: busy belongs to the command that claimed it -------- */

/* The emulator ends by itself while a stop claims busy. Before the fix,
 * the exit callback had looked at busy (free), then cleared it (the
 * stop's claim) and took the run: a start then ran in the middle of the
 * stop's sequence. Now the callback either takes the run before the stop
 * looks (the stop is refused) or leaves it to the stop, whose claim
 * holds until it returns. */
static void test_exit_never_clears_a_stop_s_busy(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(instance_start(f->inst, false), 0);
	race = RACE_BUSY;
	assert_true(kill_emulator(f->inst));

	/* Stop races the callback (held at its decision by the hook). */
	pthread_mutex_lock(&mu);
	bool decided = wait_flag_locked(&at_decided);
	pthread_mutex_unlock(&mu);
	assert_true(decided);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stop_thread, f->inst), 0);
	wait_exit_callback();

	pthread_mutex_lock(&mu);
	bool stopping = in_quit;
	pthread_mutex_unlock(&mu);
	if (stopping) {
		/* The stop holds busy: nothing else may run now. */
		assert_int_equal(instance_start(f->inst, false), -EBUSY);
		assert_int_equal(instance_pause(f->inst), -EBUSY);
		set_flag(&quit_go);
		void *rc;
		pthread_join(t, &rc);
		assert_int_equal((int)(intptr_t)rc, 0);
		assert_int_equal(instance_state(f->inst), ST_STOPPED);
	} else {
		void *rc;
		set_flag(&quit_go);
		pthread_join(t, &rc);
		assert_int_equal((int)(intptr_t)rc, -EBUSY);
		assert_int_equal(instance_state(f->inst), ST_CRASHED);
	}
	/* Whoever finished, busy is free again. */
	pthread_mutex_lock(&f->inst->lock);
	assert_int_equal(f->inst->busy, 0);
	pthread_mutex_unlock(&f->inst->lock);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_kill_frees_run_under_the_exit_callback, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_start_frees_run_under_the_exit_callback,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_exit_never_clears_a_stop_s_busy, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
