/* snapshots.c - snapshots/ (issue 16): `echo 'load NAME' > ctl` back to
 * the point a snapshot was saved at, against a cold boot to that point
 * (`start` to the firmware's banner), on b1; the save time and the
 * snapshot's size on disk. The restore is timed both ways the contract
 * has it: in place on the running instance, and from stopped (a start
 * that skips the boot). Kept short: a few samples of each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* The goal: a restore at least this many times faster. */
#define SNAP_GOAL_RATIO 20.0

static double timed_write(const char *path, const char *text)
{
	double t0 = clk_now_us();
	mnt_must(path, text);
	return (clk_now_us() - t0) / 1e3;
}

static double timed_mkdir(const char *path)
{
	double t0 = clk_now_us();
	if (mkdir(path, 0755) < 0)
		bench_fail("mkdir %s: %s", path, strerror(errno));
	return (clk_now_us() - t0) / 1e3;
}

void snapshots_section(struct bench_ctx *c)
{
	int n = bench_opt.starts;
	bench_section("snapshots", "`load NAME` vs a cold boot to the banner "
		      "(b1, the test firmware); save time, size on disk");
	char b1[PATH_MAX + 8], ctl[PATH_MAX + 16], ctl0[PATH_MAX + 16],
	     snap[PATH_MAX + 32], tmp[PATH_MAX + 48];
	snprintf(b1, sizeof b1, "%s/b1", c->m->dir);
	snprintf(ctl, sizeof ctl, "%s/ctl", b1);
	snprintf(ctl0, sizeof ctl0, "%s/ctl", c->b0);
	snprintf(snap, sizeof snap, "%s/snapshots/ready", b1);
	mnt_must(ctl0, "pause");          /* b0 would hold a core */
	struct samples boot = { 0 }, save = { 0 }, load = { 0 },
		       cold = { 0 };
	double ctl_ms;
	for (int i = 0; i < n; i++) {
		samples_add(&boot, start_fs(b1, &ctl_ms));
	}
	/* The point to come back to: booted, at its banner. */
	start_fs(b1, &ctl_ms);
	mnt_must(ctl, "start");
	clk_sleep_ms(200);
	samples_add(&save, timed_mkdir(snap));
	for (int i = 1; i < n; i++) {
		snprintf(tmp, sizeof tmp, "%s/snapshots/s%d", b1, i);
		samples_add(&save, timed_mkdir(tmp));
		if (rmdir(tmp) < 0)
			bench_fail("rmdir %s: %s", tmp, strerror(errno));
	}
	struct stat st;
	if (stat(snap, &st) < 0)
		bench_fail("stat %s: %s", snap, strerror(errno));
	for (int i = 0; i < n; i++)
		samples_add(&load, timed_write(ctl, "load ready"));
	for (int i = 0; i < n; i++) {
		mnt_must(ctl, "kill");
		samples_add(&cold, timed_write(ctl, "load ready"));
	}
	mnt_must(ctl, "kill");
	if (rmdir(snap) < 0)
		bench_fail("rmdir %s: %s", snap, strerror(errno));
	mnt_must(ctl0, "resume");
	stats_row("cold boot to banner (ms)", &boot, 1, "ms");
	stats_row("load, running instance (ms)", &load, 1, "ms");
	stats_row("load, stopped instance (ms)", &cold, 1, "ms");
	stats_row("save (mkdir) (ms)", &save, 1, "ms");
	printf("  %-34s %9.1f KiB\n", "snapshot size on disk",
	       st.st_size / 1024.0);
	stats_value("snapshot size (KiB)", st.st_size / 1024.0, "KiB");
	double ratio = samples_median(&boot) / samples_median(&load);
	double ratio2 = samples_median(&boot) / samples_median(&cold);
	printf("  %-34s %9.1fx (from stopped: %.1fx)\n",
	       "restore speed-up (medians)", ratio, ratio2);
	stats_value("restore ratio", ratio, "x");
	stats_value("restore ratio from stopped", ratio2, "x");
	bench_verdict("restore vs cold boot", ratio >= SNAP_GOAL_RATIO,
		      ">= 20x", "%.1fx (%.1f vs %.1f ms)", ratio,
		      samples_median(&load), samples_median(&boot));
	samples_free(&boot);
	samples_free(&save);
	samples_free(&load);
	samples_free(&cold);
}
