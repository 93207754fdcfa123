/* trace.c - trace/ (issue 17): the rate of MMIO trace lines
 * (memory_region_ops_*) that reach trace/log, against the same QEMU
 * writing its trace to a file by hand (-D FILE -trace enable=...); and
 * whether the rest of the tree answers as fast while an instance traces
 * (`cat b0/state`, with b1 tracing and without, in alternating blocks:
 * on 2 cores one block's median swings 2-3x with where the scheduler
 * puts the reader beside b1's busy vCPU, traced or not). The test firmware polls
 * its GPIO and UART registers in a loop once booted, so the trace is an
 * MMIO access per few instructions: the busy guest of the issue.
 *
 * The rates are bytes per second of trace (follow/trace's st_size is the
 * run's bytes, whatever the cap cut), shown as lines per second with the
 * mean line length of the baseline's file. Kept short: one window each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define TRACE_WINDOW_MS 1500.0
#define TRACE_SETTLE_MS 500.0
#define TRACE_GLOB "memory_region_ops_*"
/* The goals: the rate through trace/log at least this share of
 * QEMU's own file's; the tree's answers at most this much slower. */
#define TRACE_GOAL_RATIO 0.9
#define TRACE_GOAL_SLOWER 1.5
#define TRACE_STATE_READS 100     /* per block */
#define TRACE_STATE_BLOCKS 6      /* of each kind, alternating */

static off_t size_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		bench_fail("stat %s: %s", path, strerror(errno));
	return st.st_size;
}

/* Bytes per second path grows by over the window. */
static double growth(const char *path)
{
	off_t s0 = size_of(path);
	double t0 = clk_now_us();
	clk_sleep_ms(TRACE_WINDOW_MS);
	off_t s1 = size_of(path);
	return (s1 - s0) / ((clk_now_us() - t0) / 1e6);
}

/* The mean line length of the first 64 KiB of path. */
static double line_length(const char *path)
{
	static char buf[64 * 1024];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	if (fd >= 0)
		close(fd);
	long lines = 0;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (lines == 0)
		bench_fail("%s: no trace lines", path);
	return (double)n / lines;
}

/* QEMU by hand, tracing into a file of its own: bytes per second. */
static double trace_raw(char *file, size_t len)
{
	const struct bench_opt *o = &bench_opt;
	snprintf(file, len, "%s/trace-raw.log", o->work);
	unlink(file);
	char *argv[] = { (char *)o->qemu, "-machine", "ast2500-evb",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-serial", "null", "-kernel", (char *)o->firmware,
			 "-D", file, "-trace", "enable=" TRACE_GLOB, NULL };
	pid_t pid = proc_spawn(argv, bench_logfd, SIGKILL);
	proc_track(pid);
	clk_sleep_ms(TRACE_SETTLE_MS);
	double rate = growth(file);
	proc_kill_wait(pid);
	return rate;
}

/* TRACE_STATE_READS `cat` of path into s, in us. */
static void cat_latency(const char *path, struct samples *s)
{
	char buf[64];
	for (int i = 0; i < TRACE_STATE_READS; i++) {
		double t0 = clk_now_us();
		if (mnt_cat(path, buf, sizeof buf) <= 0)
			bench_fail("cat %s failed", path);
		samples_add(s, clk_now_us() - t0);
	}
}

void trace_section(struct bench_ctx *c)
{
	bench_section("trace", "MMIO trace (" TRACE_GLOB ") through "
		      "trace/log vs QEMU's own -D file; `cat b0/state` "
		      "while b1 traces");
	char b1[PATH_MAX + 8], ctl[PATH_MAX + 16], enable[PATH_MAX + 32],
	     follow[PATH_MAX + 32], raw[PATH_MAX + 32], ctl0[PATH_MAX + 16];
	snprintf(ctl0, sizeof ctl0, "%s/ctl", c->b0);
	mnt_must(ctl0, "pause");          /* b0 would hold a core */
	snprintf(b1, sizeof b1, "%s/b1", c->m->dir);
	snprintf(ctl, sizeof ctl, "%s/ctl", b1);
	snprintf(enable, sizeof enable, "%s/trace/enable", b1);
	snprintf(follow, sizeof follow, "%s/follow/trace", b1);
	double raw_rate = trace_raw(raw, sizeof raw);
	double len = line_length(raw);
	double ctl_ms;
	start_fs(b1, &ctl_ms);            /* boots and kills: b1 works */
	mnt_must(ctl, "start");
	mnt_must(enable, TRACE_GLOB);
	clk_sleep_ms(TRACE_SETTLE_MS);
	double fs_rate = growth(follow);
	/* b1 runs its busy guest in both kinds of block; only its trace
	 * is switched. */
	struct samples qs = { 0 }, bs = { 0 }, fq = { 0 }, fb = { 0 };
	/* The floor: the same cat of a trivial FUSE file system's file, in
	 * the same blocks (what the 2 cores give any FUSE read then). */
	char state[PATH_MAX + 16], flo[PATH_MAX + 16];
	snprintf(state, sizeof state, "%s/state", c->b0);
	bool with_floor = floor_start();
	snprintf(flo, sizeof flo, "%s/dir/f0", floor_dir);
	for (int i = 0; i < TRACE_STATE_BLOCKS; i++) {
		mnt_must(enable, "-" TRACE_GLOB);
		clk_sleep_ms(TRACE_SETTLE_MS);
		cat_latency(state, &qs);
		if (with_floor)
			cat_latency(flo, &fq);
		mnt_must(enable, TRACE_GLOB);
		clk_sleep_ms(TRACE_SETTLE_MS);
		cat_latency(state, &bs);
		if (with_floor)
			cat_latency(flo, &fb);
	}
	/* What tracing does to any FUSE read's tail on these cores: the
	 * p95 verdict allows it, emufs's own part must stay within 1.5x. */
	double floor95 = 1;
	if (with_floor) {
		stats_row("floor (trivial FUSE), not tracing", &fq, 1, "us");
		stats_row("floor (trivial FUSE), tracing", &fb, 1, "us");
		double r = samples_pct(&fb, 95) / samples_pct(&fq, 95);
		floor95 = r > 1 ? r : 1;
	}
	samples_free(&fq);
	samples_free(&fb);
	mnt_must(ctl, "kill");
	mnt_must(ctl0, "resume");
	unlink(raw);
	printf("  %-34s %9.0f lines/s (%.1f MB/s)\n", "QEMU -D file by hand",
	       raw_rate / len, raw_rate / 1e6);
	printf("  %-34s %9.0f lines/s (%.1f MB/s)\n", "through trace/log",
	       fs_rate / len, fs_rate / 1e6);
	stats_row("cat b0/state, b1 not tracing", &qs, 1, "us");
	stats_row("cat b0/state, b1 tracing", &bs, 1, "us");
	double quiet = samples_median(&qs), busy = samples_median(&bs);
	double quiet95 = samples_pct(&qs, 95), busy95 = samples_pct(&bs, 95);
	samples_free(&qs);
	samples_free(&bs);
	stats_value("trace raw (lines/s)", raw_rate / len, "lines/s");
	stats_value("trace via trace/log (lines/s)", fs_rate / len, "lines/s");
	stats_value("state while tracing (us)", busy, "us");
	double ratio = fs_rate / raw_rate;
	bench_verdict("trace rate vs QEMU's -D file", ratio >= TRACE_GOAL_RATIO,
		      ">= 0.9x", "%.2fx", ratio);
	bench_verdict("tree while tracing",
		      busy <= quiet * TRACE_GOAL_SLOWER &&
		      busy95 <= quiet95 * TRACE_GOAL_SLOWER * floor95,
		      "<= 1.5x (p95: x floor)",
		      "%.2fx p50, %.2fx p95 (floor %.2fx; %.1f vs %.1f us)",
		      busy / quiet, busy95 / quiet95, floor95, busy, quiet);
}
