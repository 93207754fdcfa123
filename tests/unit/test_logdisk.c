/* test_logdisk.c - a growing log on a disk that refuses appends
 * (interface.md 3.3, issue 12 defect 8): a byte stream keeps the offsets
 * of the bytes it lost, a log of lines keeps its lines in memory and
 * serves them at its end, and the trouble hook hears when appending
 * first fails and when it works again, with the lost range.
 *
 * The full disk is RLIMIT_FSIZE: a write past it fails with EFBIG, as one
 * on a full file system fails with ENOSPC (SIGXFSZ is ignored). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "logfile.h"

struct fixture {
	char dir[64];
	char path[128];
	struct logfile lf;
	struct logfile_trouble calls[8];
	int ncalls;
};

static void disk_full_at(rlim_t bytes)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void disk_has_room(void)
{
	disk_full_at(RLIM_INFINITY);
}

static void on_trouble(struct logfile *lf, const struct logfile_trouble *t,
		       void *opaque)
{
	struct fixture *f = opaque;
	if (f->ncalls < 8)
		f->calls[f->ncalls] = *t;
	f->ncalls++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-test-logdisk-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/serial0.log", f->dir);
	signal(SIGXFSZ, SIG_IGN);
	if (logfile_open(&f->lf, f->path, 0))
		return -1;
	logfile_set_trouble_hook(&f->lf, "serial0", on_trouble, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	disk_has_room();
	logfile_close(&f->lf);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static off_t size_of(struct logfile *lf)
{
	off_t size;
	logfile_stat(lf, &size, NULL);
	return size;
}

/* Everything a reader gets from offset 0, as cat reads it. */
static size_t read_all(struct logfile *lf, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	while ((n = logfile_read(lf, buf + got, len - got, got)) > 0)
		got += n;
	assert_true(n == 0);
	return got;
}

static void test_stream_keeps_offsets_of_lost_bytes(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = &f->lf;
	char buf[64];

	assert_int_equal(logfile_append(lf, "abc", 3), 0);
	disk_full_at(5);
	assert_int_equal(logfile_append(lf, "defg", 4), -EFBIG);
	assert_int_equal(f->ncalls, 1);
	assert_true(f->calls[0].failing);
	assert_false(f->calls[0].lines);
	assert_int_equal(f->calls[0].err, EFBIG);
	assert_int_equal(f->calls[0].from, 5);    /* "de" went in */
	assert_int_equal(logfile_append(lf, "hij", 3), -EFBIG);
	assert_int_equal(f->ncalls, 1);            /* told once */
	/* st_size counts every byte the guest sent... */
	assert_int_equal(size_of(lf), 10);
	/* ... and the lost ones read as NUL, not as the end. */
	assert_int_equal(read_all(lf, buf, sizeof buf), 10);
	assert_memory_equal(buf, "abcde\0\0\0\0\0", 10);

	disk_has_room();
	assert_int_equal(logfile_append(lf, "klm", 3), 0);
	assert_int_equal(f->ncalls, 2);
	assert_false(f->calls[1].failing);
	assert_int_equal(f->calls[1].from, 5);
	assert_int_equal(f->calls[1].to, 10);
	/* the new bytes are at their own offsets, not moved back */
	assert_int_equal(size_of(lf), 13);
	assert_int_equal(logfile_read(lf, buf, 3, 10), 3);
	assert_memory_equal(buf, "klm", 3);
	assert_int_equal(read_all(lf, buf, sizeof buf), 13);
	assert_memory_equal(buf, "abcde\0\0\0\0\0klm", 13);
}

/* A new run while bytes are being lost closes the range at its end. */
static void test_stream_reset_while_failing_tells_the_range(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = &f->lf;

	assert_int_equal(logfile_append(lf, "abc", 3), 0);
	disk_full_at(3);
	assert_int_equal(logfile_append(lf, "defg", 4), -EFBIG);
	logfile_reset(lf);
	assert_int_equal(f->ncalls, 2);
	assert_false(f->calls[1].failing);
	assert_int_equal(f->calls[1].from, 3);
	assert_int_equal(f->calls[1].to, 7);
	assert_int_equal(size_of(lf), 0);
	/* the next failure is a new range, from the new run's offset */
	assert_int_equal(logfile_append(lf, "wxyz", 4), -EFBIG);
	assert_int_equal(f->ncalls, 3);
	assert_true(f->calls[2].failing);
	assert_int_equal(f->calls[2].from, 3);
}

static void test_lines_are_held_in_memory_and_read_at_the_end(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = &f->lf;
	char buf[128];

	logfile_keep_lines(lf);
	assert_int_equal(logfile_append(lf, "one\n", 4), 0);
	disk_full_at(4);
	assert_int_equal(logfile_append(lf, "two\n", 4), -EFBIG);
	assert_int_equal(f->ncalls, 1);
	assert_true(f->calls[0].failing);
	assert_true(f->calls[0].lines);
	assert_int_equal(f->calls[0].from, 4);
	assert_int_equal(logfile_notice(lf, "full!\n", 6), -EFBIG);
	assert_int_equal(size_of(lf), 14);
	assert_int_equal(read_all(lf, buf, sizeof buf), 14);
	assert_memory_equal(buf, "one\ntwo\nfull!\n", 14);

	disk_has_room();
	assert_int_equal(logfile_append(lf, "three\n", 6), 0);
	assert_int_equal(f->ncalls, 2);
	assert_false(f->calls[1].failing);
	assert_int_equal(f->calls[1].dropped, 0);
	/* all of it is on disk now, in order */
	FILE *fp = fopen(f->path, "rb");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	assert_int_equal(n, 20);
	assert_memory_equal(buf, "one\ntwo\nfull!\nthree\n", 20);
}

/* Past the memory for lines, appends are dropped whole and counted; a
 * notice still finds room (the last quarter is kept for notices). */
static void test_lines_past_the_hold_are_dropped_but_notices_kept(
	void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = &f->lf;
	static char line[1024], buf[LOGFILE_HOLD_MAX + 64];

	logfile_keep_lines(lf);
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	disk_full_at(0);
	int lines = 0;
	unsigned long long sent = 0;
	for (; sent < 2 * LOGFILE_HOLD_MAX; sent += sizeof line, lines++)
		assert_int_equal(logfile_append(lf, line, sizeof line), -EFBIG);
	off_t held = size_of(lf);
	assert_true(held <= LOGFILE_HOLD_MAX / 4 * 3);
	assert_true(held >= LOGFILE_HOLD_MAX / 2);
	assert_int_equal(logfile_notice(lf, "notice\n", 7), -EFBIG);
	assert_int_equal(size_of(lf), held + 7);
	size_t got = read_all(lf, buf, sizeof buf);
	assert_int_equal(got, held + 7);
	assert_memory_equal(buf + got - 7, "notice\n", 7);

	disk_has_room();
	assert_int_equal(logfile_append(lf, "ok\n", 3), 0);
	assert_int_equal(f->ncalls, 2);
	assert_int_equal(f->calls[1].dropped, sent - held);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stream_keeps_offsets_of_lost_bytes),
		T(test_stream_reset_while_failing_tells_the_range),
		T(test_lines_are_held_in_memory_and_read_at_the_end),
		T(test_lines_past_the_hold_are_dropped_but_notices_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
