/* test_fs_kinds.c - the kind table of the FUSE adapter (fs/kinds.c)
 * against the core's reserved names (config_reserved_names): every fixed
 * file of an instance directory is a reserved name, every reserved name
 * is a row, and *.pty is both. Also the table's own invariants: a
 * directory has lookup and readdir, a file has no lookup, the timeouts
 * of files that grow or change are 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/config.h"
#include "core/emulator.h"
#include "kinds.h"

static void test_fixed_names_are_the_reserved_names(void **state)
{
	size_t rows = 0, reserved = 0;

	for (int k = 0; k < N_KINDS; k++) {
		const char *name = fs_kinds[k].name;
		if (!name)
			continue;
		if (name[0] == '*') {
			assert_string_equal(name + 1, CONFIG_RESERVED_SUFFIX);
			assert_true(config_name_reserved("serial0.pty"));
			assert_ptr_equal(kind_by_name("serial0.pty"),
					 &fs_kinds[k]);
			continue;
		}
		rows++;
		assert_true(config_name_reserved(name));
		assert_ptr_equal(kind_by_name(name), &fs_kinds[k]);
	}
	for (size_t i = 0; config_reserved_names[i]; i++) {
		reserved++;
		assert_non_null(kind_by_name(config_reserved_names[i]));
	}
	assert_int_equal(rows, reserved);
	/* The raw command files are named by the emulators: reserved, and
	 * served by the one N_RAW row, never a fixed one. */
	for (const struct emulator *const *e = emulator_all(); *e; e++) {
		if (!(*e)->raw_file)
			continue;
		assert_true(config_name_reserved((*e)->raw_file));
		assert_null(kind_by_name((*e)->raw_file));
	}
	assert_null(kind_by_name("serial0"));
	assert_null(kind_by_name(".pty"));
}

static void test_rows_are_consistent(void **state)
{
	for (int k = 0; k < N_KINDS; k++) {
		const struct kind *r = &fs_kinds[k];
		if (r->reserved_only) {
			assert_null(r->read);
			continue;
		}
		if (r->mode && S_ISDIR(r->mode)) {
			assert_non_null(r->lookup);
			assert_non_null(r->readdir);
			assert_null(r->read);
		} else {
			assert_null(r->lookup);
		}
		if (r->mode && S_ISLNK(r->mode))
			assert_non_null(r->readlink);
	}
	/* Files that grow or change under the kernel keep no cached
	 * attributes: `tail -f` polls st_size. */
	static const enum node_kind changing[] = { N_CTL, N_STATE, N_TARGET,
		N_LOG, N_EVENTS, N_CHANNEL, N_GDB, N_PIN, N_PTY };
	for (size_t i = 0; i < sizeof changing / sizeof *changing; i++)
		assert_true(fs_kinds[changing[i]].attr_timeout == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_names_are_the_reserved_names),
		cmocka_unit_test(test_rows_are_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
