/* test_pin_round.c - the pin watcher's round asks every instance before
 * it waits for any answer (issue 18: with 48 watched pins on 48
 * instances, asking one after another made a round cost the sum of the
 * replies, 54-90 ms at p95 against 50 ms in interface.md 3.5).
 *
 * A fake connector (fake_emulators.h) with pin_get_begin/pin_get_end
 * records the order of the calls; each answer is the instance's own
 * level, so a mixed-up answer would show too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/binding.h"
#include "core/config.h"
#include "core/config_load.h"
#include "core/connector.h"
#include "core/core.h"
#include "core/instance.h"
#include "core/lifecycle.h"
#include "fake_emulators.h"
#include "core/pin.h"

#define NINST 3

/* What the fake emulators did for the test's own rounds, in order: 'b'
 * for a question, 'e' for an answer taken. Only the test's thread writes
 * it: the pin watcher thread's rounds (the pins are watched) are not
 * recorded. */
static char calls[64];
static size_t ncalls;
static pthread_t test_thread;

static void record(char c)
{
	if (pthread_equal(pthread_self(), test_thread) &&
	    ncalls < sizeof calls - 1)
		calls[ncalls++] = c;
}
static bool no_memory;           /* pin_get_begin fails */

static int fake_launch(struct run *r, bool paused, char *why, size_t wl)
{
	char *argv[] = { "/bin/sh", "-c", "exec sleep 60", NULL };
	return run_spawn(r, argv, NULL, why, wl);
}

/* Instance "iN"'s pin reads N % 2: its own answer, whatever the order. */
static int level_of(const struct cfg_pin *pin)
{
	return pin->object[strlen(pin->object) - 1] == '1';
}

static int fake_pin_get(struct run *r, const struct cfg_pin *pin, int *lv)
{
	record('s');
	*lv = level_of(pin);
	return 0;
}

static void *fake_begin(struct run *r, const struct cfg_pin *pin)
{
	if (no_memory)
		return NULL;
	record('b');
	return (void *)pin;
}

static int fake_end(struct run *r, const struct cfg_pin *pin, void *call,
		    int *lv)
{
	assert_ptr_equal(call, pin);
	record('e');
	usleep(2000);              /* a reply that takes its time */
	*lv = level_of(pin);
	return 0;
}

static const struct connector_ops fake_connector = {
	.launch = fake_launch,
	.pin_get = fake_pin_get,
	.pin_get_begin = fake_begin,
	.pin_get_end = fake_end,
};

/* Three targets, each with one pin on its own object (/machine/xN), and
 * an instance of each. */
static const char cfg_json[] =
	"{ \"targets\": {"
	"  \"t0\": { \"emulator\": \"qemu\", \"qemu\": { \"binary\": \"/bin/sh\","
	"   \"machine\": \"none\" }, \"gpio\": { \"led\": { \"qom\":"
	"   \"/machine/x0\", \"property\": \"p\", \"direction\": \"out\" } } },"
	"  \"t1\": { \"emulator\": \"qemu\", \"qemu\": { \"binary\": \"/bin/sh\","
	"   \"machine\": \"none\" }, \"gpio\": { \"led\": { \"qom\":"
	"   \"/machine/x1\", \"property\": \"p\", \"direction\": \"out\" } } },"
	"  \"t2\": { \"emulator\": \"qemu\", \"qemu\": { \"binary\": \"/bin/sh\","
	"   \"machine\": \"none\" }, \"gpio\": { \"led\": { \"qom\":"
	"   \"/machine/x2\", \"property\": \"p\", \"direction\": \"out\" } } } },"
	"  \"instances\": { \"i0\": { \"target\": \"t0\" },"
	"   \"i1\": { \"target\": \"t1\" }, \"i2\": { \"target\": \"t2\" } } }";

struct fixture {
	char dir[64];
	struct core *core;
	struct instance *inst[NINST];
	struct binding *bind[NINST];
	struct pin *led[NINST];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct core_hooks hooks = { 0 };
	struct emufs_config *cfg = NULL;
	char err[256] = "";

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-pinround-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (config_parse(cfg_json, strlen(cfg_json), "pin.json", &cfg, err,
			 sizeof err))
		fail_msg("config: %s", err);
	if (core_new(cfg, f->dir, &hooks, &f->core, err, sizeof err))
		fail_msg("core_new: %s", err);
	for (int i = 0; i < NINST; i++) {
		char name[8];
		snprintf(name, sizeof name, "i%d", i);
		f->inst[i] = core_get(f->core, name);
		assert_non_null(f->inst[i]);
		assert_int_equal(instance_start(f->inst[i], false), 0);
		f->bind[i] = instance_binding(f->inst[i]);
		f->led[i] = binding_pin(f->bind[i], "led");
		assert_non_null(f->led[i]);
	}
	for (int i = 0; i < NINST; i++)
		pin_watch(f->inst[i], f->led[i], 1);
	ncalls = 0;
	no_memory = false;
	test_thread = pthread_self();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < NINST; i++)
		pin_watch(f->inst[i], f->led[i], -1);
	for (int i = 0; i < NINST; i++) {
		instance_kill(f->inst[i]);
		binding_put(f->bind[i]);
		instance_put(f->inst[i]);
	}
	core_free(f->core);
	free(f);
	return 0;
}

/* One round, run by hand, and the calls it made. */
static void round_of(struct fixture *f, const char *want)
{
	calls[0] = '\0';
	ncalls = 0;
	pins_poll(f->inst, NINST);
	calls[ncalls] = '\0';
	assert_string_equal(calls, want);
}

static void test_a_round_asks_every_instance_before_any_answer(void **state)
{
	struct fixture *f = *state;

	round_of(f, "bbbeee");
	for (int i = 0; i < NINST; i++)
		assert_int_equal(atomic_load(&f->led[i]->level), i == 1);
}

static void test_unwatched_pins_are_not_asked(void **state)
{
	struct fixture *f = *state;

	pin_watch(f->inst[0], f->led[0], -1);
	pin_watch(f->inst[1], f->led[1], -1);
	round_of(f, "be");
	pin_watch(f->inst[0], f->led[0], 1);
	pin_watch(f->inst[1], f->led[1], 1);
	assert_int_equal(atomic_load(&f->led[2]->level), 0);   /* i2: 0 */
}

/* A question that cannot be asked (out of memory) ends the round's
 * asking; the questions already out are still answered, and the next
 * round asks again. */
static void test_a_question_that_cannot_be_asked_ends_the_round(void **state)
{
	struct fixture *f = *state;

	no_memory = true;
	round_of(f, "");
	no_memory = false;
	round_of(f, "bbbeee");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_round_asks_every_instance_before_any_answer,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unwatched_pins_are_not_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_question_that_cannot_be_asked_ends_the_round,
			setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
