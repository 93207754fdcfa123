/* test_firmware.c - the pure parts of the `firmware` file (firmware.h)
 * and of the failed start's line (run.h): what a write means as a path,
 * which files can be an image, and which line of the emulator's output a
 * failed start quotes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/firmware.h"
#include "core/run.h"

static char path[PATH_MAX];

static int parse(const char *s)
{
	const char *why = NULL;
	memset(path, 'x', sizeof path);
	int rc = firmware_parse(s, strlen(s), path, &why);
	if (rc)
		assert_non_null(why);
	return rc;
}

static void test_parse_takes_an_absolute_path_less_its_line_end(void **state)
{
	assert_int_equal(parse("/a/b.elf\n"), 0);
	assert_string_equal(path, "/a/b.elf");
	assert_int_equal(parse("/a/b.elf"), 0);
	assert_string_equal(path, "/a/b.elf");
	assert_int_equal(parse("/a/b.elf\r\n"), 0);
	assert_string_equal(path, "/a/b.elf");
	/* spaces and commas are part of a file name */
	assert_int_equal(parse("/my images/a, b.elf\n"), 0);
	assert_string_equal(path, "/my images/a, b.elf");
}

static void test_parse_empty_line_means_the_targets_own(void **state)
{
	assert_int_equal(parse("\n"), 0);
	assert_string_equal(path, "");
	assert_int_equal(parse(""), 0);
	assert_string_equal(path, "");
}

static void test_parse_refuses_relative_paths(void **state)
{
	assert_int_equal(parse("build/a.elf\n"), -EINVAL);
	assert_int_equal(parse("./a.elf"), -EINVAL);
	assert_int_equal(parse(" /a.elf"), -EINVAL);
}

static void test_parse_refuses_more_than_one_line_and_nul(void **state)
{
	assert_int_equal(parse("/a.elf\n/b.elf\n"), -EINVAL);
	assert_int_equal(parse("/a.elf\n\n"), -EINVAL);
	assert_int_equal(parse("/a\r.elf"), -EINVAL);
	const char *why;
	assert_int_equal(firmware_parse("/a\0b", 4, path, &why), -EINVAL);
}

static void test_parse_refuses_a_path_too_long(void **state)
{
	char *big = malloc(PATH_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', PATH_MAX + 1);
	big[0] = '/';
	big[PATH_MAX + 1] = '\0';
	assert_int_equal(parse(big), -EINVAL);
	big[PATH_MAX - 1] = '\0';          /* PATH_MAX - 1 bytes: fits */
	assert_int_equal(parse(big), 0);
	assert_int_equal(strlen(path), PATH_MAX - 1);
	free(big);
}

static void test_check_file_wants_a_readable_regular_file(void **state)
{
	char dir[] = "/tmp/emufs-fw-XXXXXX", file[64], fifo[64];
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/img.elf", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	assert_int_equal(firmware_check_file(file), 0);
	assert_int_equal(firmware_check_file(dir), -EISDIR);
	assert_int_equal(firmware_check_file(fifo), -EINVAL);
	assert_int_equal(firmware_check_file("/no/such/file.elf"), -ENOENT);
	if (geteuid() != 0) {            /* root reads it all the same */
		chmod(file, 0);
		assert_int_equal(firmware_check_file(file), -EACCES);
	}
	unlink(file);
	unlink(fifo);
	rmdir(dir);
}

static void last_lines_are(const char *out, int n, const char *want)
{
	char buf[64];
	run_last_lines(out, strlen(out), n, buf, sizeof buf);
	assert_string_equal(buf, want);
}

static void test_last_lines_of_the_emulators_output(void **state)
{
	last_lines_are("", 2, "");
	last_lines_are("\n\n", 2, "");
	last_lines_are("one", 2, "one");
	last_lines_are("one\n", 1, "one");
	last_lines_are("qemu: unsupported machine type 'x'\n"
		       "Use -machine help\n", 1, "Use -machine help");
	last_lines_are("w: 1\nqemu: unsupported machine type 'x'\n"
		       "Use -machine help\n", 2,
		       "qemu: unsupported machine type 'x'; Use -machine help");
	/* empty lines and CRs are not lines */
	last_lines_are("a\nb\r\n\r\n\nc\n\n", 2, "b; c");
	last_lines_are("a\rb", 1, "b");
	/* cut to the buffer, their start kept */
	char buf[8];
	run_last_lines("x\n0123456789\n", 13, 1, buf, sizeof buf);
	assert_string_equal(buf, "0123456");
	run_last_lines("abc\n0123456789\n", 15, 2, buf, sizeof buf);
	assert_string_equal(buf, "abc; 01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_takes_an_absolute_path_less_its_line_end),
		cmocka_unit_test(test_parse_empty_line_means_the_targets_own),
		cmocka_unit_test(test_parse_refuses_relative_paths),
		cmocka_unit_test(test_parse_refuses_more_than_one_line_and_nul),
		cmocka_unit_test(test_parse_refuses_a_path_too_long),
		cmocka_unit_test(test_check_file_wants_a_readable_regular_file),
		cmocka_unit_test(test_last_lines_of_the_emulators_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
