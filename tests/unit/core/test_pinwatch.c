/* test_pinwatch.c - the pin watcher's schedule (pinwatch_next_due).
 *
 * A fixed rate: the next round is due one interval after the last was
 * due, whatever the round cost. And when a round overran the period (48
 * instances' replies on a loaded machine took 20-80 ms against 10-15 ms,
 * docs/performance.md "Pins"), the next round is due at once and the
 * missed ones are skipped: the old rule caught up only when more than a
 * second behind, so after a slow spell the watcher ran up to a second's
 * worth of rounds back to back, one more load on a machine that was
 * already slow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "core/pinwatch.h"

static struct timespec ts(long sec, long ms)
{
	return (struct timespec){ sec, ms * 1000000L };
}

static void assert_ts(struct timespec got, struct timespec want)
{
	assert_int_equal(got.tv_sec, want.tv_sec);
	assert_int_equal(got.tv_nsec, want.tv_nsec);
}

/* A round that ended inside its period: the next is one interval after
 * the last was due, not after the round's end. */
static void test_on_time_keeps_the_rate(void **state)
{
	(void)state;
	struct timespec due = ts(100, 0), now = ts(100, 7);
	pinwatch_next_due(&due, &now, 10);
	assert_ts(due, ts(100, 10));
	/* Across a second. */
	due = ts(100, 995);
	now = ts(101, 1);
	pinwatch_next_due(&due, &now, 10);
	assert_ts(due, ts(101, 5));
}

/* A round that overran its period by a little: due at once, not one
 * interval after the missed deadline (which is past: a round back to
 * back, and the lag kept for the next). */
static void test_overrun_skips_missed_rounds(void **state)
{
	(void)state;
	struct timespec due = ts(100, 0), now = ts(100, 25);
	pinwatch_next_due(&due, &now, 10);
	assert_ts(due, now);
	/* The next round, on time again, is one interval after that. */
	struct timespec later = ts(100, 27);
	pinwatch_next_due(&due, &later, 10);
	assert_ts(due, ts(100, 35));
}

/* Far behind (a stopped process, a suspended machine): at once too. */
static void test_far_behind(void **state)
{
	(void)state;
	struct timespec due = ts(100, 0), now = ts(105, 500);
	pinwatch_next_due(&due, &now, 10);
	assert_ts(due, now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_time_keeps_the_rate),
		cmocka_unit_test(test_overrun_skips_missed_rounds),
		cmocka_unit_test(test_far_behind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
