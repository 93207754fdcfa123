/* test_tracepipe.c - a followed trace file (tracepipe_follow): an
 * emulator's log that holds other lines too (Renode's), read as it grows,
 * whole lines that the filter accepts into trace/log, unchanged, and the
 * disk blocks already read given back; and a FIFO (tracepipe_open), whose
 * drain rests between reads: every byte still arrives, in order, while
 * the writer goes on and after it idled. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ioloop.h"
#include "core/logfile.h"
#include "core/tracepipe.h"

struct fixture {
	char dir[64], src[96], dst[96];
	struct ioloop *loop;
	struct logfile log;
	struct tracepipe tp;
	int wfd;                       /* the "emulator"'s end */
};

/* A trace line begins with "T " (the real filter: renode_trace.c). */
static bool keep_t(const char *line, size_t len)
{
	return len >= 2 && line[0] == 'T' && line[1] == ' ';
}

/* A fixture whose emulator writes to dir/src_name, its loop and trace/log
 * running; NULL if they cannot be made. */
static struct fixture *fixture_new(const char *src_name)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->wfd = -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-test-tracepipe-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	snprintf(f->src, sizeof f->src, "%s/%s", f->dir, src_name);
	snprintf(f->dst, sizeof f->dst, "%s/trace.log", f->dir);
	f->loop = ioloop_new();
	if (!f->loop || ioloop_start(f->loop) ||
	    logfile_open(&f->log, f->dst, 0))
		return NULL;
	tracepipe_init(&f->tp, &f->log);
	return f;
}

static int setup(void **state)
{
	struct fixture *f = fixture_new("emulator.log");
	if (!f)
		return -1;
	f->wfd = open(f->src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->wfd < 0)
		return -1;
	logfile_keep_lines(&f->log);
	if (tracepipe_follow(&f->tp, f->loop, f->src, keep_t))
		return -1;
	unlink(f->src);               /* as renode_trace.c does */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tracepipe_end(&f->tp);
	tracepipe_close(&f->tp);
	ioloop_free(f->loop);
	logfile_close(&f->log);
	close(f->wfd);
	unlink(f->dst);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *s)
{
	assert_int_equal(write(f->wfd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Wait (at most 5 s) until trace/log holds want exactly. */
static void expect_log(struct fixture *f, const char *want)
{
	char got[4096];
	ssize_t n = 0;
	for (int i = 0; i < 500; i++) {
		n = logfile_read(&f->log, got, sizeof got - 1, 0);
		if (n == (ssize_t)strlen(want))
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void test_only_whole_trace_lines_arrive_unchanged(void **state)
{
	struct fixture *f = *state;
	put(f, "other line\nT one\n");
	expect_log(f, "T one\n");
	/* a line written in pieces arrives once whole */
	put(f, "T tw");
	put(f, "o (2)\nnot T\n");
	expect_log(f, "T one\nT two (2)\n");
}

static void test_a_line_longer_than_the_limit_is_dropped(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, 'x', 9998);
	memcpy(big, "T ", 2);
	big[9998] = '\n';
	big[9999] = '\0';
	put(f, big);
	put(f, "T after\n");
	expect_log(f, "T after\n");
	free(big);
}

static void test_the_rest_is_read_at_the_end(void **state)
{
	struct fixture *f = *state;
	put(f, "T last\n");
	tracepipe_end(&f->tp);        /* drains what the loop has not */
	char got[64];
	ssize_t n = logfile_read(&f->log, got, sizeof got - 1, 0);
	assert_int_equal(n, 7);
	assert_memory_equal(got, "T last\n", 7);
}

/* Lines read are given back to the disk: the file's size grows, its
 * blocks do not (where the file system punches holes: tmpfs, ext4). */
static void test_read_blocks_are_freed(void **state)
{
	struct fixture *f = *state;
	static char chunk[1 << 16];
	memset(chunk, 'o', sizeof chunk);
	for (size_t i = 63; i < sizeof chunk; i += 64)
		chunk[i] = '\n';
	for (int i = 0; i < 64; i++)  /* 4 MB of other lines */
		assert_int_equal(write(f->wfd, chunk, sizeof chunk),
				 (ssize_t)sizeof chunk);
	put(f, "T end\n");
	expect_log(f, "T end\n");
	struct stat st;
	assert_int_equal(fstat(f->wfd, &st), 0);
	assert_true(st.st_size > 4 << 20);
	assert_true((long long)st.st_blocks * 512 <= 2 << 20);
}

/* A file that cannot be followed leaves the pipe idle: the end of the
 * run takes nothing (not the emulator's whole log, unfiltered). */
static void test_a_failed_follow_takes_nothing(void **state)
{
	struct fixture *f = *state;
	struct tracepipe tp;
	tracepipe_init(&tp, &f->log);
	assert_int_equal(tracepipe_follow(&tp, f->loop, "/nonexistent/x.log",
					  keep_t), -ENOENT);
	assert_int_equal(tp.fd, -1);
	tracepipe_end(&tp);
	tracepipe_close(&tp);
	char got[16];
	assert_int_equal(logfile_read(&f->log, got, sizeof got, 0), 0);
}

/* ---- a FIFO ------------------------------------------------------------ */

static int fifo_setup(void **state)
{
	struct fixture *f = fixture_new("trace.pipe");
	if (!f || tracepipe_open(&f->tp, f->loop, f->src))
		return -1;
	/* The emulator's end (-D), blocking as QEMU's is. */
	f->wfd = open(f->src, O_WRONLY | O_CLOEXEC);
	if (f->wfd < 0)
		return -1;
	unlink(f->src);
	*state = f;
	return 0;
}

/* Wait (at most 5 s) until trace/log holds len bytes; they are want's. */
static void expect_log_bytes(struct fixture *f, const char *want, size_t len)
{
	char *got = malloc(len + 1);
	assert_non_null(got);
	ssize_t n = 0;
	for (int i = 0; i < 500; i++) {
		n = logfile_read(&f->log, got, len + 1, 0);
		if (n >= (ssize_t)len)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* A guest tracing in bursts: many small writes, some pauses shorter than
 * a rest, the writer never closing. Each rest ends with a read that
 * starts the next rest, and the last bytes arrive all the same. */
static void test_a_fifo_trickle_arrives_whole_and_in_order(void **state)
{
	struct fixture *f = *state;
	enum { LINES = 4000, LEN = 7 };
	static char want[LINES * LEN + 1];
	for (int i = 0; i < LINES; i++) {
		snprintf(want + i * LEN, LEN + 1, "L%05d\n", i);
		assert_int_equal(write(f->wfd, want + i * LEN, LEN), LEN);
		if (i % 16 == 15)
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
	expect_log_bytes(f, want, LINES * LEN);
}

/* After the FIFO idled longer than a rest, the next line is read: the
 * drain waits on the FIFO again, not on a timer that is not armed. */
static void test_a_line_after_an_idle_fifo_arrives(void **state)
{
	struct fixture *f = *state;
	put(f, "first\n");
	expect_log_bytes(f, "first\n", 6);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	put(f, "second\n");
	expect_log_bytes(f, "first\nsecond\n", 13);
	put(f, "third\n");
	expect_log_bytes(f, "first\nsecond\nthird\n", 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_only_whole_trace_lines_arrive_unchanged, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_line_longer_than_the_limit_is_dropped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_the_rest_is_read_at_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_read_blocks_are_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_failed_follow_takes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_fifo_trickle_arrives_whole_and_in_order,
			fifo_setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_line_after_an_idle_fifo_arrives, fifo_setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
