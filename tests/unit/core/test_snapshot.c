/* test_snapshot.c - the pure parts of snapshots/ (core/snapshot.h): which
 * names are snapshot names, how a snapshot's key is compared (the first
 * thing that differs is what `load` names in `log`), and the ctl line
 * `load NAME`. Saving and loading need an emulator: the integration
 * tests (test_snapshots.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/ctl.h"
#include "core/snapshot.h"

static void test_valid_names(void **state)
{
	static const char *const ok[] = { "a", "Z", "0", "s1", "a.b-c_d",
					  "boot.done", "9-", "x..y" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (!snapshot_name_valid(ok[i]))
			fail_msg("\"%s\" refused", ok[i]);
}

static void test_invalid_names(void **state)
{
	/* ".x.part" and ".x.gone" are the core's own: never a name */
	static const char *const bad[] = { "", ".", "..", ".a", "-a", "_a",
					   "a b", "a/b", "a*", "é", ".a.part",
					   "a\n" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (snapshot_name_valid(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	char longest[65], over[66];
	memset(longest, 'a', 64);
	longest[64] = '\0';
	memset(over, 'a', 65);
	over[65] = '\0';
	assert_true(snapshot_name_valid(longest));
	assert_false(snapshot_name_valid(over));
}

static void test_same_key(void **state)
{
	char what[32] = "untouched";
	assert_false(snapshot_key_differs("target a\nargv x y\n",
					  "target a\nargv x y\n", what,
					  sizeof what));
	assert_false(snapshot_key_differs("", "", what, sizeof what));
	assert_string_equal(what, "untouched");
}

static void test_key_names_first_difference(void **state)
{
	char what[32];
	assert_true(snapshot_key_differs(
		"target a\nimage /x 1 2.0\nargv q\nversion 7.2\n",
		"target a\nimage /y 1 2.0\nargv r\nversion 7.2\n", what,
		sizeof what));
	assert_string_equal(what, "image");
	assert_true(snapshot_key_differs("target a\nversion 7.2\n",
					 "target a\nversion 8.0\n", what,
					 sizeof what));
	assert_string_equal(what, "version");
	/* a line more or less is a difference too */
	assert_true(snapshot_key_differs("target a\n", "target a\nargv q\n",
					 what, sizeof what));
	assert_string_equal(what, "argv");
	assert_true(snapshot_key_differs("target a\nargv q\n", "target a\n",
					 what, sizeof what));
	assert_string_equal(what, "argv");
}

static void test_ctl_load_takes_one_name(void **state)
{
	struct ctl_command cmd;
	char why[128];
	assert_int_equal(ctl_parse_line("load s1", 7, &cmd, why, sizeof why),
			 0);
	assert_int_equal(cmd.op, CTL_LOAD);
	assert_string_equal(cmd.name, "s1");
	/* the name's own checks are snapshot_load's (EINVAL, ENOENT) */
	assert_int_equal(ctl_parse_line("load ../x", 9, &cmd, why, sizeof why),
			 0);
	assert_string_equal(cmd.name, "../x");
	assert_int_equal(ctl_parse_line("load", 4, &cmd, why, sizeof why),
			 -EINVAL);
	assert_string_equal(why, "load: expected one snapshot name");
	assert_int_equal(ctl_parse_line("load a b", 8, &cmd, why, sizeof why),
			 -EINVAL);
	assert_string_equal(why, "load: expected one snapshot name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_same_key),
		cmocka_unit_test(test_key_names_first_difference),
		cmocka_unit_test(test_ctl_load_takes_one_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
