/* test_binding.c - an instance's binding (binding.h, issue 13 item 3):
 * immutable, reference counted, swapped by a target change.
 *
 * A reference taken before set_target keeps that binding's channels and
 * pins valid after the swap; the binding is freed when its last
 * reference goes (counted through binding_freed_hook), be that a reader,
 * a run, or the instance. A race test swaps targets while readers look
 * channels and pins up (run it under TSan/ASan too: make tsan).
 *
 * A fake connector (fake_emulators.h) stands in for QEMU: its emulator
 * is a sleeping shell.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/binding.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_load.h"
#include "core/connector.h"
#include "core/core.h"
#include "core/instance.h"
#include "core/lifecycle.h"
#include "core/pin.h"
#include "fake_emulators.h"

static int fake_launch(struct run *r, bool paused, char *why, size_t wl)
{
	char *argv[] = { "/bin/sh", "-c", "exec sleep 60", NULL };
	return run_spawn(r, argv, NULL, why, wl);
}

static const struct connector_ops fake_connector = {
	.launch = fake_launch,
};

/* Target a: channel serial0, pins led (qom) and btn (shim on serial0).
 * Target b: channel con, pin k. */
static const char cfg_json[] =
	"{ \"targets\": {"
	"  \"a\": { \"emulator\": \"qemu\", \"qemu\": { \"binary\": "
	"    \"/bin/sh\", \"machine\": \"none\" },"
	"    \"serial\": { \"serial0\": 0 }, \"gpio\": {"
	"      \"led\": { \"qom\": \"/machine/x\", \"property\": \"p\","
	"                 \"direction\": \"out\" },"
	"      \"btn\": { \"shim\": \"serial0\", \"pin\": 1,"
	"                 \"direction\": \"in\" } } },"
	"  \"b\": { \"emulator\": \"qemu\", \"qemu\": { \"binary\": "
	"    \"/bin/sh\", \"machine\": \"none\" },"
	"    \"serial\": { \"con\": 0 }, \"gpio\": {"
	"      \"k\": { \"qom\": \"/machine/y\", \"property\": \"q\","
	"               \"direction\": \"in\" } } } },"
	"  \"instances\": { \"i\": { \"target\": \"a\" } } }";

static atomic_int freed;                 /* bindings freed */
static struct binding *_Atomic last_freed;

static void on_freed(struct binding *b)
{
	atomic_store(&last_freed, b);
	atomic_fetch_add(&freed, 1);
}

struct fixture {
	char dir[64];
	struct core *core;
	struct instance *inst;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct emufs_config *cfg = NULL;
	char err[256] = "";

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-binding-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (config_parse(cfg_json, strlen(cfg_json), "b.json", &cfg, err,
			 sizeof err))
		fail_msg("config: %s", err);
	if (core_new(cfg, f->dir, NULL, &f->core, err, sizeof err))
		fail_msg("core_new: %s", err);
	f->inst = core_get(f->core, "i");
	assert_non_null(f->inst);
	atomic_store(&freed, 0);
	atomic_store(&last_freed, NULL);
	binding_freed_hook = on_freed;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	instance_kill(f->inst);
	instance_put(f->inst);
	core_free(f->core);
	binding_freed_hook = NULL;
	free(f);
	return 0;
}

static int set_target(struct fixture *f, const char *name)
{
	return instance_set_target(f->inst, name, strlen(name));
}

/* What a FUSE operation does with a channel and a pin of the old target
 * after the swap: all of it must still be there. */
static void use_target_a(struct instance *inst, struct binding *b)
{
	struct channel *ch = binding_channel(b, "serial0");
	struct pin *led = binding_pin(b, "led");
	struct pin *btn = binding_pin(b, "btn");
	assert_non_null(ch);
	assert_non_null(led);
	assert_non_null(btn);
	assert_string_equal(ch->cfg->name, "serial0");
	assert_ptr_equal(btn->shim, ch);
	off_t size;
	struct timespec mtime;
	logfile_stat(&ch->log, &size, &mtime);
	assert_true(size >= 0);
	unsigned gen = pin_update(inst, led, 1);
	assert_int_not_equal(pin_update(inst, led, 0), gen);
	assert_int_equal(channel_write(ch, "x", 1), -ESRCH);
}

static void test_reference_outlives_target_change(void **state)
{
	struct fixture *f = *state;
	struct binding *old = instance_binding(f->inst);
	assert_string_equal(old->target->name, "a");

	assert_int_equal(set_target(f, "b"), 0);
	assert_int_equal(atomic_load(&freed), 0);      /* we hold it */
	use_target_a(f->inst, old);

	struct binding *now = instance_binding(f->inst);
	assert_ptr_not_equal(now, old);
	assert_string_equal(now->target->name, "b");
	assert_null(binding_pin(now, "led"));
	assert_null(binding_channel(now, "serial0"));
	assert_non_null(binding_pin(now, "k"));
	assert_non_null(binding_channel(now, "con"));
	binding_put(now);
	assert_int_equal(atomic_load(&freed), 0);      /* the instance's */

	binding_put(old);                               /* the last one */
	assert_int_equal(atomic_load(&freed), 1);
	assert_ptr_equal(atomic_load(&last_freed), old);
}

/* No reader: the swap frees the old binding at once; the same target
 * again is no change (nothing built, nothing freed). */
static void test_unreferenced_binding_freed_by_the_swap(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(set_target(f, "a"), 0);
	assert_int_equal(atomic_load(&freed), 0);
	assert_int_equal(set_target(f, "b"), 0);
	assert_int_equal(atomic_load(&freed), 1);
	char name[16];
	instance_target_name(f->inst, name, sizeof name);
	assert_string_equal(name, "b");
}

/* Wait (bounded) until no run of inst is left: true when none is. */
static bool runs_freed(struct instance *inst)
{
	struct timespec dl = clock_deadline(5000);
	pthread_mutex_lock(&inst->lock);
	while (inst->runs &&
	       pthread_cond_timedwait(&inst->finished, &inst->lock, &dl) == 0)
		;
	bool none = inst->runs == 0;
	pthread_mutex_unlock(&inst->lock);
	return none;
}

/* A run holds its binding: a FUSE worker still holding a run (its QMP
 * round trip) after a kill keeps the run's channels alive across a
 * target change. */
static void test_run_holds_its_binding(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(instance_start(f->inst, false), 0);
	struct run *r = instance_get_run(f->inst);
	assert_non_null(r);
	assert_int_equal(instance_kill(f->inst), 0);
	int rc = set_target(f, "b");
	int freed_while_held = atomic_load(&freed);
	/* Looked at before any assert, and only while not freed: a failed
	 * one must not leave r held (the teardown would wait for ever). */
	bool same = freed_while_held == 0 && r->nchannels == 1 &&
		    !strcmp(r->channels[0].cfg->name, "serial0");
	run_put(r);
	assert_int_equal(rc, 0);
	assert_int_equal(freed_while_held, 0);
	assert_true(same);
	/* The run's last holder may be the I/O loop (its exit callback):
	 * the binding goes when the run does. */
	assert_true(runs_freed(f->inst));
	assert_int_equal(atomic_load(&freed), 1);
}

/* ---- set_target against concurrent lookups ------------------------- */

#define SWAPS 300
#define READERS 3

struct race {
	struct fixture *f;
	atomic_bool stop;
	atomic_int bad;                   /* lookups that saw a mix */
	atomic_long looks;
};

/* A binding is one target, whole: its channels and pins are that
 * target's, never a mix, and stay usable while referenced. */
static bool consistent(struct instance *inst, struct binding *b)
{
	bool a = !strcmp(b->target->name, "a");
	struct channel *ch = binding_channel(b, a ? "serial0" : "con");
	struct pin *p = binding_pin(b, a ? "led" : "k");
	if (!ch || !p || binding_pin(b, a ? "k" : "led") ||
	    binding_channel(b, a ? "con" : "serial0"))
		return false;
	off_t size;
	struct timespec mtime;
	logfile_stat(&ch->log, &size, &mtime);
	pin_update(inst, p, !atomic_load(&p->level));
	char name[16];
	instance_target_name(inst, name, sizeof name);
	return !strcmp(p->shim ? p->shim->cfg->name : ch->cfg->name,
		       ch->cfg->name) && (!strcmp(name, "a") ||
					  !strcmp(name, "b"));
}

static void *reader(void *arg)
{
	struct race *rc = arg;
	while (!atomic_load(&rc->stop)) {
		struct binding *b = instance_binding(rc->f->inst);
		if (!consistent(rc->f->inst, b))
			atomic_fetch_add(&rc->bad, 1);
		binding_put(b);
		atomic_fetch_add(&rc->looks, 1);
	}
	return NULL;
}

static void test_set_target_races_lookups(void **state)
{
	struct race rc = { .f = *state };
	pthread_t t[READERS];
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &rc), 0);
	for (int i = 0; i < SWAPS; i++) {
		long seen = atomic_load(&rc.looks);
		assert_int_equal(set_target(rc.f, i % 2 ? "a" : "b"), 0);
		/* Let the readers in between any two swaps (bounded). */
		long long end = clock_now_ms() + 1000;
		while (atomic_load(&rc.looks) == seen && clock_now_ms() < end)
			sched_yield();
	}
	atomic_store(&rc.stop, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&rc.bad), 0);
	assert_true(atomic_load(&rc.looks) >= SWAPS);
	/* Every binding swapped out was freed, once, by its last user. */
	assert_int_equal(atomic_load(&freed), SWAPS);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_reference_outlives_target_change, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_unreferenced_binding_freed_by_the_swap, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_run_holds_its_binding,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_set_target_races_lookups, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
