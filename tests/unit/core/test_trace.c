/* test_trace.c - what a write to trace/ means (interface.md 3.10): the
 * enable line (GLOB, -GLOB), an event file's 0/1, event names, and the
 * check that a glob matches something before the emulator sees it (QEMU
 * takes a glob that matches nothing without a word). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/trace.h"

static int parse(const char *s, char *glob, bool *on)
{
	return trace_parse_enable(s, strlen(s), glob, 256, on);
}

static void test_enable_takes_a_glob_with_or_without_newline(void **st)
{
	char g[256];
	bool on = false;
	assert_int_equal(parse("aspeed_gpio_*\n", g, &on), 0);
	assert_string_equal(g, "aspeed_gpio_*");
	assert_true(on);
	assert_int_equal(parse("memory_region_ops_write", g, &on), 0);
	assert_string_equal(g, "memory_region_ops_write");
	assert_true(on);
}

static void test_minus_glob_disables(void **st)
{
	char g[256];
	bool on = true;
	assert_int_equal(parse("-memory_region_ops_*\n", g, &on), 0);
	assert_string_equal(g, "memory_region_ops_*");
	assert_false(on);
	assert_int_equal(parse("-*", g, &on), 0);
	assert_string_equal(g, "*");
	assert_false(on);
}

static void test_enable_refuses_empty_blank_and_several_lines(void **st)
{
	char g[256];
	bool on;
	static const char *const bad[] = { "", "\n", "-", "-\n", " x", "x y",
					   "a\nb", "a\n\n", "x\t", "\x7f" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(parse(bad[i], g, &on), -EINVAL);
	assert_int_equal(trace_parse_enable("a\0b", 3, g, 256, &on), -EINVAL);
}

static void test_enable_refuses_a_glob_too_long(void **st)
{
	char long_glob[400], g[256];
	bool on;
	memset(long_glob, 'a', sizeof long_glob - 1);
	long_glob[sizeof long_glob - 1] = '\0';
	assert_int_equal(parse(long_glob, g, &on), -EINVAL);
	/* and never past the caller's buffer */
	assert_int_equal(trace_parse_enable("abcdef", 6, g, 4, &on), -EINVAL);
}

static void test_value_is_exactly_0_or_1(void **st)
{
	bool on;
	assert_int_equal(trace_parse_value("1\n", 2, &on), 0);
	assert_true(on);
	assert_int_equal(trace_parse_value("0", 1, &on), 0);
	assert_false(on);
	static const char *const bad[] = { "", "2", "10", "on", " 1", "1 ",
					   "1\n\n", "\n", "-1", "01" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(trace_parse_value(bad[i], strlen(bad[i]),
						   &on), -EINVAL);
}

static void test_event_names_have_no_glob_characters(void **st)
{
	assert_true(trace_name_ok("aspeed_gpio_write"));
	assert_true(trace_name_ok("sysbus.uart"));
	assert_false(trace_name_ok(""));
	assert_false(trace_name_ok("aspeed_*"));
	assert_false(trace_name_ok("a?"));
	assert_false(trace_name_ok("a[bc]"));
}

static void test_glob_count_matches_like_qemu(void **st)
{
	struct trace_event evs[] = {
		{ "aspeed_gpio_read", false }, { "aspeed_gpio_write", false },
		{ "memory_region_ops_read", false },
		{ "memory_region_ops_write", true },
	};
	size_t n = sizeof evs / sizeof *evs;
	assert_int_equal(trace_glob_count("aspeed_gpio_*", evs, n), 2);
	assert_int_equal(trace_glob_count("*", evs, n), 4);
	assert_int_equal(trace_glob_count("memory_region_ops_write", evs, n), 1);
	assert_int_equal(trace_glob_count("*_write", evs, n), 2);
	assert_int_equal(trace_glob_count("memory_region_ops_?rite", evs, n), 1);
	/* nothing: the core refuses it (EINVAL) before QEMU hears of it */
	assert_int_equal(trace_glob_count("no_such_*", evs, n), 0);
	assert_int_equal(trace_glob_count("aspeed_gpio", evs, n), 0);
	assert_int_equal(trace_glob_count("*", evs, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enable_takes_a_glob_with_or_without_newline),
		cmocka_unit_test(test_minus_glob_disables),
		cmocka_unit_test(test_enable_refuses_empty_blank_and_several_lines),
		cmocka_unit_test(test_enable_refuses_a_glob_too_long),
		cmocka_unit_test(test_value_is_exactly_0_or_1),
		cmocka_unit_test(test_event_names_have_no_glob_characters),
		cmocka_unit_test(test_glob_count_matches_like_qemu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
