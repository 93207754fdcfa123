/* test_fs_options.c - emufs's command line (fs/options.c), as a user
 * types it and as mount.fuse3 passes it: `-c`/`config=`, the source
 * argument, `\,` in a value, the options of mount(8) that are accepted
 * and dropped, libfuse's that are passed on, and the refusals (exit 2). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "options.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof *(v)) - 1)

static void test_dash_c_and_state_dir(void **state)
{
	char *argv[] = { "emufs", "-c", "a.json", "--state-dir", "st", "-f",
			 "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_string_equal("a.json", o.config);
	assert_string_equal("st", o.state_dir);
	assert_string_equal("mnt", o.mountpoint);
	assert_true(o.foreground);
	assert_null(o.fuse_opts);
	options_free(&o);
}

static void test_state_dir_with_equals(void **state)
{
	char *argv[] = { "emufs", "--state-dir=st", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_string_equal("st", o.state_dir);
	options_free(&o);
}

/* mount.fuse3: `emufs SOURCE MOUNTPOINT -o OPTS`, the source the config */
static void test_mount_fuse3_form(void **state)
{
	char *argv[] = { "emufs", "/etc/a.json", "/mnt/x", "-o",
			 "rw,dev,suid,state_dir=/run/s,noexec", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_string_equal("/etc/a.json", o.config);
	assert_string_equal("/run/s", o.state_dir);
	assert_string_equal("/mnt/x", o.mountpoint);
	assert_false(o.foreground);
	assert_string_equal("rw,dev,suid,noexec", o.fuse_opts);
	options_free(&o);
}

static void test_escaped_comma_in_config(void **state)
{
	char *argv[] = { "emufs", "-o", "config=/a\\,b.json,allow_other",
			 "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_string_equal("/a,b.json", o.config);
	assert_string_equal("allow_other", o.fuse_opts);
	options_free(&o);
}

/* A value libfuse gets keeps its comma escaped. */
static void test_passed_option_stays_escaped(void **state)
{
	char *argv[] = { "emufs", "-o", "fsname=x\\,y", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_string_equal("fsname=x\\,y", o.fuse_opts);
	options_free(&o);
}

static void test_mount_options_are_accepted_and_dropped(void **state)
{
	char *argv[] = { "emufs", "-o",
			 "defaults,auto,noauto,user,nouser,users,owner,group,"
			 "_netdev,nofail,comment=x,x-systemd.automount,"
			 "relatime,strictatime,lazytime,iversion",
			 "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_null(o.fuse_opts);
	options_free(&o);
}

static void test_unknown_options_exit_2(void **state)
{
	char *opt[] = { "emufs", "-o", "noauto,frobnicate", "mnt", NULL };
	char *dash[] = { "emufs", "-x", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(2, options_parse(ARGC(opt), opt, &o));
	options_free(&o);
	assert_int_equal(2, options_parse(ARGC(dash), dash, &o));
	options_free(&o);
}

static void test_config_twice(void **state)
{
	char *differ[] = { "emufs", "-c", "a.json", "-o", "config=b.json",
			   "mnt", NULL };
	char *source[] = { "emufs", "-c", "a.json", "b.json", "mnt", NULL };
	char *same[] = { "emufs", "-c", "a.json", "a.json", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(2, options_parse(ARGC(differ), differ, &o));
	options_free(&o);
	assert_int_equal(2, options_parse(ARGC(source), source, &o));
	options_free(&o);
	assert_int_equal(-1, options_parse(ARGC(same), same, &o));
	assert_string_equal("a.json", o.config);
	options_free(&o);
}

static void test_positional_count(void **state)
{
	char *none[] = { "emufs", "-c", "a.json", NULL };
	char *three[] = { "emufs", "a", "b", "c", NULL };
	char *empty[] = { "emufs", "-o", "config=", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(2, options_parse(ARGC(none), none, &o));
	options_free(&o);
	assert_int_equal(2, options_parse(ARGC(three), three, &o));
	options_free(&o);
	assert_int_equal(2, options_parse(ARGC(empty), empty, &o));
	options_free(&o);
}

static void test_debug_implies_foreground(void **state)
{
	char *argv[] = { "emufs", "-d", "mnt", NULL };
	struct emufs_options o;
	assert_int_equal(-1, options_parse(ARGC(argv), argv, &o));
	assert_true(o.debug);
	assert_true(o.foreground);
	options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dash_c_and_state_dir),
		cmocka_unit_test(test_state_dir_with_equals),
		cmocka_unit_test(test_mount_fuse3_form),
		cmocka_unit_test(test_escaped_comma_in_config),
		cmocka_unit_test(test_passed_option_stays_escaped),
		cmocka_unit_test(test_mount_options_are_accepted_and_dropped),
		cmocka_unit_test(test_unknown_options_exit_2),
		cmocka_unit_test(test_config_twice),
		cmocka_unit_test(test_positional_count),
		cmocka_unit_test(test_debug_implies_foreground),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
