/* test_instance_states.c - the instance state machine (instance.h) and
 * its lifecycle commands (lifecycle.h) against a fake connector: every
 * command in every state gives the errno of docs/reference.md 3.1 and
 * leaves the state the contract names; an emulator that ends by itself
 * is `exited` or `crashed` by its exit status; each change of state is
 * one EMUFS_STATE line in `events`.
 *
 * The fake connector (fake_emulators.h: the test's table of emulators)
 * launches a shell that waits on a FIFO for the status to exit with, so
 * the test decides when and how the emulator ends. `starting` and
 * `stopping` are held by the fake's launch and quit, which wait for the
 * test's go.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ---- what the test and the fake connector tell each other ---------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   /* all below */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char fifo[96];              /* the emulator waits on it */
static bool launch_holds, quit_holds;   /* hold starting / stopping */
static bool in_launch, in_quit;    /* the fake is holding */
static bool go;                    /* the held launch or quit may go on */

static bool wait_flag(const bool *flag)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += SOON_MS / 1000;
	pthread_mutex_lock(&mu);
	while (!*flag && pthread_cond_timedwait(&cv, &mu, &dl) == 0)
		;
	bool ok = *flag;
	pthread_mutex_unlock(&mu);
	return ok;
}

static void set_flag(bool *flag)
{
	pthread_mutex_lock(&mu);
	*flag = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static bool get_flag(const bool *flag)
{
	pthread_mutex_lock(&mu);
	bool v = *flag;
	pthread_mutex_unlock(&mu);
	return v;
}

/* ---- the fake connector -------------------------------------------- */

static int fake_launch(struct run *r, bool paused, char *why, size_t wl)
{
	char *argv[] = { "/bin/sh", "-c", "read code < \"$0\"; exit $code",
			 fifo, NULL };
	int rc = run_spawn(r, argv, NULL, why, wl);
	if (rc)
		return rc;
	if (get_flag(&launch_holds)) {
		set_flag(&in_launch);
		wait_flag(&go);
	}
	/* As QEMU's connector: an emulator gone before it connected. */
	if (run_exited(r)) {
		snprintf(why, wl, "fake: the emulator ended");
		return -EIO;
	}
	return 0;
}

static int fake_quit(struct run *r, int timeout_ms)
{
	if (get_flag(&quit_holds)) {
		set_flag(&in_quit);
		wait_flag(&go);
	}
	run_signal(r, SIGTERM);      /* the emulator accepts quit */
	return 0;
}

static int fake_ok(struct run *r)
{
	return 0;
}

static const struct connector_ops fake_connector = {
	.launch = fake_launch,
	.quit = fake_quit,
	.pause = fake_ok,
	.resume = fake_ok,
	.reset = fake_ok,
};

/* ---- fixture -------------------------------------------------------- */

struct fixture {
	char dir[64];        /* the core's state directory */
	char fifodir[64];
	struct core *core;
	struct instance *inst;
	pthread_t held;      /* the start or stop held in the fake */
	bool holding;
	int held_rc;
};

static const char cfg_json[] =
	"{ \"targets\": { \"t\": { \"emulator\": \"qemu\", \"qemu\": "
	"{ \"binary\": \"/bin/sh\", \"machine\": \"none\" } } },"
	"  \"instances\": { \"i\": { \"target\": \"t\" } } }";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct emufs_config *cfg = NULL;
	char err[256] = "";

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-states-XXXXXX");
	snprintf(f->fifodir, sizeof f->fifodir, "/tmp/emufs-fifo-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(mkdtemp(f->fifodir));
	snprintf(fifo, sizeof fifo, "%s/exit", f->fifodir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	if (config_parse(cfg_json, strlen(cfg_json), "states.json", &cfg,
			 err, sizeof err))
		fail_msg("config: %s", err);
	if (core_new(cfg, f->dir, NULL, &f->core, err, sizeof err))
		fail_msg("core_new: %s", err);
	f->inst = core_get(f->core, "i");
	assert_non_null(f->inst);
	pthread_mutex_lock(&mu);
	launch_holds = quit_holds = in_launch = in_quit = go = false;
	pthread_mutex_unlock(&mu);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	set_flag(&go);
	if (f->holding)
		pthread_join(f->held, NULL);
	instance_put(f->inst);
	core_free(f->core);
	unlink(fifo);
	rmdir(f->fifodir);
	free(f);
	return 0;
}

/* Wait until inst is in st (the I/O loop takes an ended run down). */
static bool wait_state(struct instance *inst, enum inst_state st)
{
	long long end = clock_now_ms() + SOON_MS;
	while (instance_state(inst) != st && clock_now_ms() < end) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return instance_state(inst) == st;
}

/* The emulator exits with status code, by itself. */
static void emulator_exits(int code)
{
	int fd = open(fifo, O_WRONLY);
	assert_true(fd >= 0);
	char line[16];
	int n = snprintf(line, sizeof line, "%d\n", code);
	assert_int_equal(write(fd, line, n), n);
	close(fd);
}

/* The EMUFS_STATE lines of `events` so far: "starting,running,...". */
static void state_events(struct instance *inst, char *out, size_t len)
{
	char buf[16384];
	ssize_t n = logfile_read(&inst->events, buf, sizeof buf - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	out[0] = '\0';
	const char *key = "\"state\": \"";
	for (char *p = strstr(buf, key); p; p = strstr(p, key)) {
		p += strlen(key);
		size_t w = strcspn(p, "\"");
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%.*s", used ? "," : "",
			 (int)w, p);
	}
}

static void *start_thread(void *arg)
{
	return (void *)(intptr_t)instance_start(arg, false);
}

static void *stop_thread(void *arg)
{
	return (void *)(intptr_t)instance_stop(arg);
}

/* Bring f's instance into st; starting and stopping are held in the
 * fake until release(). */
static void enter(struct fixture *f, enum inst_state st)
{
	struct instance *inst = f->inst;
	switch (st) {
	case ST_STOPPED:
		break;
	case ST_STARTING:
		set_flag(&launch_holds);
		assert_int_equal(pthread_create(&f->held, NULL, start_thread,
						inst), 0);
		f->holding = true;
		assert_true(wait_flag(&in_launch));
		break;
	case ST_STOPPING:
		assert_int_equal(instance_start(inst, false), 0);
		set_flag(&quit_holds);
		assert_int_equal(pthread_create(&f->held, NULL, stop_thread,
						inst), 0);
		f->holding = true;
		assert_true(wait_flag(&in_quit));
		break;
	case ST_RUNNING:
		assert_int_equal(instance_start(inst, false), 0);
		break;
	case ST_PAUSED:
		assert_int_equal(instance_start(inst, true), 0);
		break;
	case ST_EXITED:
	case ST_CRASHED:
		assert_int_equal(instance_start(inst, false), 0);
		emulator_exits(st == ST_EXITED ? 0 : 3);
		assert_true(wait_state(inst, st));
		break;
	default:
		fail();
	}
	assert_int_equal(instance_state(inst), st);
}

/* Let a held start or stop go on; its result. */
static int release(struct fixture *f)
{
	if (!f->holding)
		return 0;
	set_flag(&go);
	void *rc;
	pthread_join(f->held, &rc);
	f->holding = false;
	return (int)(intptr_t)rc;
}

/* ---- every command in every state ----------------------------------- */

enum cmd { C_START, C_STOP, C_KILL, C_PAUSE, C_RESUME, C_RESET, C_COUNT };
static const char *const cmd_names[C_COUNT] = {
	"start", "stop", "kill", "pause", "resume", "reset",
};

static int run_cmd(struct instance *inst, enum cmd c)
{
	switch (c) {
	case C_START:  return instance_start(inst, false);
	case C_STOP:   return instance_stop(inst);
	case C_KILL:   return instance_kill(inst);
	case C_PAUSE:  return instance_pause(inst);
	case C_RESUME: return instance_resume(inst);
	case C_RESET:  return instance_reset(inst);
	default:       return -999;
	}
}

/* What docs/reference.md 3.1 says: the command's result, and the state
 * once it (and a held start or stop) returned. */
struct outcome {
	int rc;
	enum inst_state after;
};
#define B(st) { -EBUSY, st }
static const struct outcome expected[ST_COUNT][C_COUNT] = {
	[ST_STOPPED] = { { 0, ST_RUNNING }, B(ST_STOPPED), B(ST_STOPPED),
			 B(ST_STOPPED), B(ST_STOPPED), B(ST_STOPPED) },
	[ST_STARTING] = { B(ST_RUNNING), B(ST_RUNNING), { 0, ST_STOPPED },
			  B(ST_RUNNING), B(ST_RUNNING), B(ST_RUNNING) },
	[ST_RUNNING] = { B(ST_RUNNING), { 0, ST_STOPPED },
			 { 0, ST_STOPPED }, { 0, ST_PAUSED }, B(ST_RUNNING),
			 { 0, ST_RUNNING } },
	[ST_PAUSED] = { B(ST_PAUSED), { 0, ST_STOPPED }, { 0, ST_STOPPED },
			B(ST_PAUSED), { 0, ST_RUNNING }, { 0, ST_PAUSED } },
	[ST_STOPPING] = { B(ST_STOPPED), B(ST_STOPPED), { 0, ST_STOPPED },
			  B(ST_STOPPED), B(ST_STOPPED), B(ST_STOPPED) },
	[ST_EXITED] = { { 0, ST_RUNNING }, B(ST_EXITED), B(ST_EXITED),
			B(ST_EXITED), B(ST_EXITED), B(ST_EXITED) },
	[ST_CRASHED] = { { 0, ST_RUNNING }, B(ST_CRASHED), B(ST_CRASHED),
			 B(ST_CRASHED), B(ST_CRASHED), B(ST_CRASHED) },
};
#undef B

static void check_commands_in(enum inst_state st)
{
	for (enum cmd c = 0; c < C_COUNT; c++) {
		void *state = NULL;
		setup(&state);
		struct fixture *f = state;
		enter(f, st);
		int rc = run_cmd(f->inst, c);
		int held = release(f);
		enum inst_state after = instance_state(f->inst);
		const struct outcome *e = &expected[st][c];
		if (rc != e->rc || after != e->after)
			fail_msg("%s while %s: %d, then %s (expected %d, then "
				 "%s)", cmd_names[c], inst_state_name(st), rc,
				 inst_state_name(after), e->rc,
				 inst_state_name(e->after));
		/* A held start fails when kill ended its emulator; a held
		 * stop always succeeds. */
		if (st == ST_STARTING)
			assert_int_equal(held, c == C_KILL ? -EIO : 0);
		if (st == ST_STOPPING)
			assert_int_equal(held, 0);
		teardown(&state);
	}
}

static void test_commands_while_stopped(void **s)
{
	check_commands_in(ST_STOPPED);
}

static void test_commands_while_starting(void **s)
{
	check_commands_in(ST_STARTING);
}

static void test_commands_while_running(void **s)
{
	check_commands_in(ST_RUNNING);
}

static void test_commands_while_paused(void **s)
{
	check_commands_in(ST_PAUSED);
}

static void test_commands_while_stopping(void **s)
{
	check_commands_in(ST_STOPPING);
}

static void test_commands_while_exited(void **s)
{
	check_commands_in(ST_EXITED);
}

static void test_commands_while_crashed(void **s)
{
	check_commands_in(ST_CRASHED);
}

/* ---- how a run ends, and the events --------------------------------- */

/* Status 0 is `exited`; any other status, or a signal, `crashed`. */
static void test_exit_status_decides_exited_or_crashed(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(instance_start(f->inst, false), 0);
	emulator_exits(0);
	assert_true(wait_state(f->inst, ST_EXITED));
	assert_int_equal(instance_start(f->inst, false), 0);
	emulator_exits(1);
	assert_true(wait_state(f->inst, ST_CRASHED));
	assert_int_equal(instance_start(f->inst, false), 0);
	struct run *r = instance_get_run(f->inst);
	assert_non_null(r);
	run_signal(r, SIGKILL);      /* from outside, not through kill */
	run_put(r);
	assert_true(wait_state(f->inst, ST_CRASHED));
	char ev[512];
	state_events(f->inst, ev, sizeof ev);
	assert_string_equal(ev, "starting,running,exited,"
			    "starting,running,crashed,"
			    "starting,running,crashed");
}

/* One EMUFS_STATE event per change, in order, and none for a command
 * that changes nothing (reset) or is refused. */
static void test_each_transition_writes_one_event(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(instance_start(f->inst, false), 0);
	assert_int_equal(instance_pause(f->inst), 0);
	assert_int_equal(instance_reset(f->inst), 0);
	assert_int_equal(instance_pause(f->inst), -EBUSY);
	assert_int_equal(instance_resume(f->inst), 0);
	assert_int_equal(instance_stop(f->inst), 0);
	assert_int_equal(instance_start(f->inst, true), 0);
	assert_int_equal(instance_kill(f->inst), 0);
	char ev[512];
	state_events(f->inst, ev, sizeof ev);
	assert_string_equal(ev, "starting,running,paused,running,stopping,"
			    "stopped,starting,paused,stopped");
}

/* A start whose launch fails leaves the instance stopped. */
static void test_failed_start_is_eio_and_stopped(void **state)
{
	struct fixture *f = *state;
	set_flag(&launch_holds);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, start_thread, f->inst), 0);
	assert_true(wait_flag(&in_launch));
	emulator_exits(0);           /* gone before it "connected" */
	long long end = clock_now_ms() + SOON_MS;
	struct run *r;
	pthread_mutex_lock(&f->inst->lock);
	while ((r = f->inst->run) && !run_exited(r) && clock_now_ms() < end) {
		pthread_mutex_unlock(&f->inst->lock);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&f->inst->lock);
	}
	pthread_mutex_unlock(&f->inst->lock);
	set_flag(&go);
	void *rc;
	pthread_join(t, &rc);
	assert_int_equal((int)(intptr_t)rc, -EIO);
	assert_int_equal(instance_state(f->inst), ST_STOPPED);
	char ev[512];
	state_events(f->inst, ev, sizeof ev);
	assert_string_equal(ev, "starting,stopped");
}

/* A change that is not in the table is a bug: the transition function
 * aborts instead of writing a state that no command expects. Checked in
 * a child, which inherits the instance (stopped: never stopping). */
static void test_illegal_transition_aborts(void **state)
{
	struct fixture *f = *state;
	static const enum inst_state illegal[] = {
		ST_STOPPING, ST_RUNNING, ST_PAUSED, ST_EXITED, ST_STOPPED,
	};
	for (size_t i = 0; i < sizeof illegal / sizeof *illegal; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 2);      /* the assert's message */
			pthread_mutex_lock(&f->inst->lock);
			instance_transition_locked(f->inst, illegal[i]);
			_exit(0);
		}
		int ws;
		assert_int_equal(waitpid(pid, &ws, 0), pid);
		if (!WIFSIGNALED(ws) || WTERMSIG(ws) != SIGABRT)
			fail_msg("stopped -> %s did not abort",
				 inst_state_name(illegal[i]));
	}
	/* and the legal one goes through */
	pthread_mutex_lock(&f->inst->lock);
	instance_transition_locked(f->inst, ST_STARTING);
	pthread_mutex_unlock(&f->inst->lock);
	assert_int_equal(instance_state(f->inst), ST_STARTING);
	pthread_mutex_lock(&f->inst->lock);
	instance_transition_locked(f->inst, ST_STOPPED);   /* for teardown */
	pthread_mutex_unlock(&f->inst->lock);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_while_stopped),
		cmocka_unit_test(test_commands_while_starting),
		cmocka_unit_test(test_commands_while_running),
		cmocka_unit_test(test_commands_while_paused),
		cmocka_unit_test(test_commands_while_stopping),
		cmocka_unit_test(test_commands_while_exited),
		cmocka_unit_test(test_commands_while_crashed),
		cmocka_unit_test_setup_teardown(
			test_exit_status_decides_exited_or_crashed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_each_transition_writes_one_event, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_start_is_eio_and_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_illegal_transition_aborts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
