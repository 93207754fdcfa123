/* test_pin_wake.c - a change of a pin that emufs saw always wakes poll()
 * (issue 12, defect 15: 1 of 63 toggles lost with 48 watched pins).
 *
 * An open pin file remembers the generation of the level it last read;
 * poll reports POLLPRI while the pin's generation differs. A read used to
 * take the level (pin_read, which records it) and then, separately, the
 * generation: a change recorded by the pin watcher in between counted as
 * read although the file returned the level before it, and nothing woke
 * the file again. pin_read now returns the generation its level was
 * recorded at.
 *
 * The race is made deterministic through the core's pin_changed hook,
 * which pin_update calls on the reading thread: there the "pin watcher"
 * records the next change. A fake connector (fake_emulators.h:
 * the test's table of emulators) serves the levels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_load.h"
#include "core/connector.h"
#include "core/core.h"
#include "core/instance.h"
#include "core/lifecycle.h"
#include "fake_emulators.h"
#include "core/pin.h"

static atomic_int guest_level;       /* what the emulator reports */
static struct instance *the_inst;
static atomic_int watcher_steps;     /* changes to inject from the hook */
static atomic_int wakeups;           /* pin_changed calls */

static int fake_launch(struct run *r, bool paused, char *why, size_t wl)
{
	char *argv[] = { "/bin/sh", "-c", "exec sleep 60", NULL };
	return run_spawn(r, argv, NULL, why, wl);
}

static int fake_pin_get(struct run *r, const struct cfg_pin *pin, int *lv)
{
	*lv = atomic_load(&guest_level);
	return 0;
}

static const struct connector_ops fake_connector = {
	.launch = fake_launch,
	.pin_get = fake_pin_get,
};

/* The core's wake-up hook. While steps are left, the guest toggles and
 * the pin watcher records that right after the change being notified:
 * on this thread, between the reader's update and whatever it does
 * next. */
static void pin_changed(struct pin *p, void *opaque)
{
	atomic_fetch_add(&wakeups, 1);
	if (atomic_load(&watcher_steps) <= 0)
		return;
	atomic_fetch_sub(&watcher_steps, 1);
	int now = !atomic_load(&guest_level);
	atomic_store(&guest_level, now);
	pin_update(the_inst, p, now);
}

struct fixture {
	char dir[64];
	struct core *core;
	struct instance *inst;
	struct binding *bind;        /* holds led */
	struct pin *led;
};

static const char cfg_json[] =
	"{ \"targets\": { \"t\": { \"emulator\": \"qemu\", \"qemu\": "
	"{ \"binary\": \"/bin/sh\", \"machine\": \"none\" }, \"gpio\": {"
	"  \"led\": { \"qom\": \"/machine/x\", \"property\": \"p\","
	"            \"direction\": \"out\" } } } },"
	"  \"instances\": { \"i\": { \"target\": \"t\" } } }";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct core_hooks hooks = { .pin_changed = pin_changed };
	struct emufs_config *cfg = NULL;
	char err[256] = "";

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-pinwake-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (config_parse(cfg_json, strlen(cfg_json), "pin.json", &cfg, err,
			 sizeof err))
		fail_msg("config: %s", err);
	if (core_new(cfg, f->dir, &hooks, &f->core, err, sizeof err))
		fail_msg("core_new: %s", err);
	f->inst = the_inst = core_get(f->core, "i");
	assert_non_null(f->inst);
	atomic_store(&guest_level, 0);
	atomic_store(&watcher_steps, 0);
	atomic_store(&wakeups, 0);
	assert_int_equal(instance_start(f->inst, false), 0);
	f->bind = instance_binding(f->inst);
	f->led = binding_pin(f->bind, "led");
	assert_non_null(f->led);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	instance_kill(f->inst);
	binding_put(f->bind);
	instance_put(f->inst);
	core_free(f->core);
	free(f);
	return 0;
}

/* What an open file does on read: the level, and the generation that
 * level includes (fs/ops.c keeps it as the file's seen_gen). */
static int read_pin(struct fixture *f, unsigned *seen)
{
	return pin_read(f->inst, f->led, seen);
}

/* poll: POLLPRI while the pin's generation moved past what was read. */
static bool poll_says_changed(struct fixture *f, unsigned seen)
{
	return atomic_load(&f->led->gen) != seen;
}

static void test_change_recorded_during_a_read_still_wakes(void **state)
{
	struct fixture *f = *state;
	unsigned seen;

	assert_int_equal(read_pin(f, &seen), 0);    /* learns 0 */
	assert_false(poll_says_changed(f, seen));

	/* The guest drives 1; the read records that change, and the
	 * watcher records the next one (back to 0) before the read
	 * returns 1. */
	atomic_store(&guest_level, 1);
	atomic_store(&watcher_steps, 1);
	int got = read_pin(f, &seen);
	assert_int_equal(got, 1);
	assert_int_equal(atomic_load(&f->led->level), 0);
	/* The file showed 1 while the level is 0: poll must say so. */
	assert_true(poll_says_changed(f, seen));
	assert_int_equal(atomic_load(&wakeups), 2);

	/* Reading again catches up, and poll goes quiet. */
	assert_int_equal(read_pin(f, &seen), 0);
	assert_false(poll_says_changed(f, seen));
}

/* Many toggles, each with a watcher change in the read's window: the
 * file is never left quiet on a level it did not show. */
static void test_no_toggle_is_lost_over_many_reads(void **state)
{
	struct fixture *f = *state;
	unsigned seen;
	int lost = 0;

	assert_int_equal(read_pin(f, &seen), 0);
	for (int i = 0; i < 200; i++) {
		atomic_store(&guest_level, !atomic_load(&guest_level));
		atomic_store(&watcher_steps, i % 2);
		int shown = read_pin(f, &seen);
		assert_true(shown == 0 || shown == 1);
		if (shown != atomic_load(&f->led->level) &&
		    !poll_says_changed(f, seen))
			lost++;
	}
	assert_int_equal(lost, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_change_recorded_during_a_read_still_wakes, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_no_toggle_is_lost_over_many_reads, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
