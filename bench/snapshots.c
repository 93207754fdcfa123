/* snapshots.c - snapshots/ (issue 16): `echo 'load NAME' > ctl` back to
 * the point a snapshot was saved at, against a cold boot to that point
 * (`start` to the firmware's banner), on b1; the save time and the
 * snapshot's size on disk. The restore is timed both ways the contract
 * has it: in place on the running instance, and from stopped (a start
 * that skips the boot). Kept short: a few samples of each.
 *
 * snapshots-linux does the same for the Linux guest of the kit (`make
 * guest-kit`, the boot,bulk guest), the issue's own case: there a cold
 * boot takes seconds, not the firmware's tenths.
 */
#include <errno.h>
#include <fcntl.h>
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

/* ---- snapshots-linux: the kit's Linux guest ----------------------------
 *
 * The point to come back to is the guest's shell prompt. Both sides are
 * timed to the same thing, the guest answering a command: cold is `start`
 * to the answer of a command typed once `guest# ` shows (the boot, then one
 * command), restore is the `load` write to the answer of a command typed
 * right after it; judged, like the firmware's row, on the load of the
 * running instance (from stopped, the load also starts QEMU: a row of its
 * own). Each command asks for a number the guest computes
 * (`echo X-$((N+1))` answers X-<N+1>, which its echo does not hold), a new
 * one each time, so no earlier output can match.
 */

#define SNAPL_COLD 3           /* cold boots */
#define SNAPL_SAVES 3          /* saves (the first one is kept) */
#define SNAPL_LOADS 5          /* loads of each kind */

/* The guest's answer to one command: ms from t0 to "X-<n>" in follow fd. */
static double snapl_answer(const char *ser, int ffd, int n, double t0)
{
	char cmd[64], want[32];
	snprintf(cmd, sizeof cmd, "echo X-$((%d+1))\n", n);
	snprintf(want, sizeof want, "X-%d\r", n + 1);
	int fd = open(ser, O_WRONLY);
	if (fd < 0 || write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("write %s: %s", ser, strerror(errno));
	close(fd);
	long reads = 0;
	if (guest_wait(ffd, want, &reads) < 0)
		bench_fail("%s: no %s within %d s", ser, want,
			   GUEST_TIMEOUT_MS / 1000);
	return (clk_now_us() - t0) / 1e3;
}

/* follow/serial0 at its end: only what comes after the open. */
static int snapl_follow(const char *fol, bool at_end)
{
	int fd = open(fol, O_RDONLY);
	if (fd < 0 || (at_end && lseek(fd, 0, SEEK_END) < 0))
		bench_fail("open %s: %s", fol, strerror(errno));
	return fd;
}

/* Bytes on disk (st_blocks) and apparent bytes of a flat directory. */
static void snapl_du(const char *dir, double *disk, double *apparent)
{
	char cmd[PATH_MAX + 64];
	*disk = *apparent = -1;
	snprintf(cmd, sizeof cmd, "du -s -B1 '%s'; du -s -b '%s'", dir, dir);
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	if (fscanf(p, "%lf%*[^\n]", disk) != 1 ||
	    fscanf(p, "%lf", apparent) != 1)
		*disk = *apparent = -1;
	pclose(p);
}

void snapshots_linux_section(void)
{
	bench_section("snapshots-linux", "the kit's Linux guest: `load` of a "
		      "snapshot at `guest# ` vs a cold boot, each to the "
		      "answer of a command; save time, size on disk");
	char cfg[PATH_MAX + 16];
	if (!bench_opt.guests || !guest_config(cfg, sizeof cfg)) {
		printf("  no kit in %s (make guest-kit): not measured\n",
		       bench_opt.guests ? bench_opt.guests
					: "(--guests not given)");
		bench_verdict("guest restore vs cold boot", -1, ">= 20x",
			      "no kit");
		return;
	}
	struct mnt *m = mnt_start(cfg, "snapl");
	char ctl[PATH_MAX + 16], fol[PATH_MAX + 32], ser[PATH_MAX + 16],
	     snap[PATH_MAX + 32], tmp[PATH_MAX + 48], store[PATH_MAX + 64];
	snprintf(ctl, sizeof ctl, "%s/g0/ctl", m->dir);
	snprintf(fol, sizeof fol, "%s/g0/follow/serial0", m->dir);
	snprintf(ser, sizeof ser, "%s/g0/serial0", m->dir);
	snprintf(snap, sizeof snap, "%s/g0/snapshots/prompt", m->dir);
	/* mount.c's --state-dir; where reference.md puts snapshots. */
	snprintf(store, sizeof store, "%s/snapl-state/snapshots@/g0/prompt",
		 bench_opt.work);
	struct samples prompt = { 0 }, cold = { 0 }, save = { 0 },
		       load = { 0 }, loads = { 0 }, lctl = { 0 };
	int n = 0;
	for (int i = 0; i < SNAPL_COLD; i++) {
		int ffd = snapl_follow(fol, false);  /* the next run's */
		double t0 = clk_now_us();
		mnt_must(ctl, "start\n");
		long reads = 0;
		if (guest_wait(ffd, GUEST_PROMPT, &reads) < 0)
			bench_fail("%s: no prompt within %d s", fol,
				   GUEST_TIMEOUT_MS / 1000);
		double p = (clk_now_us() - t0) / 1e3;
		double a = snapl_answer(ser, ffd, n++, t0);
		samples_add(&prompt, p);
		samples_add(&cold, a);
		close(ffd);
		printf("  cold %d: prompt %.0f ms, answer %.0f ms\n", i + 1,
		       p, a);
		fflush(stdout);
		/* The last boot stays: the snapshot is taken on it. */
		if (i + 1 < SNAPL_COLD)
			mnt_must(ctl, "kill\n");
	}
	/* At the prompt (the answer's own prompt has been printed by now or
	 * is on its way: the shell waits in read() either way). */
	clk_sleep_ms(200);
	for (int i = 0; i < SNAPL_SAVES; i++) {
		if (i)
			snprintf(tmp, sizeof tmp, "%s/g0/snapshots/s%d",
				 m->dir, i);
		const char *dir = i ? tmp : snap;
		samples_add(&save, timed_mkdir(dir));
		if (i && rmdir(tmp) < 0)
			bench_fail("rmdir %s: %s", tmp, strerror(errno));
	}
	struct stat st;
	if (stat(snap, &st) < 0)
		bench_fail("stat %s: %s", snap, strerror(errno));
	double disk, apparent;
	snapl_du(store, &disk, &apparent);
	for (int i = 0; i < SNAPL_LOADS; i++) {
		/* Move the guest on first, so the load has something to
		 * undo. */
		int ffd = snapl_follow(fol, true);
		snapl_answer(ser, ffd, n++, clk_now_us());
		double t0 = clk_now_us();
		mnt_must(ctl, "load prompt\n");
		samples_add(&lctl, (clk_now_us() - t0) / 1e3);
		samples_add(&load, snapl_answer(ser, ffd, n++, t0));
		close(ffd);
	}
	for (int i = 0; i < SNAPL_LOADS; i++) {
		mnt_must(ctl, "kill\n");
		int ffd = snapl_follow(fol, false);  /* the next run's */
		double t0 = clk_now_us();
		mnt_must(ctl, "load prompt\n");
		samples_add(&loads, snapl_answer(ser, ffd, n++, t0));
		close(ffd);
	}
	mnt_must(ctl, "kill\n");
	if (rmdir(snap) < 0)
		bench_fail("rmdir %s: %s", snap, strerror(errno));
	mnt_stop(m);
	stats_row("cold boot to prompt (ms)", &prompt, 1, "ms");
	stats_row("cold boot to answer (ms)", &cold, 1, "ms");
	stats_row("load to answer, running (ms)", &load, 1, "ms");
	stats_row("  of which the load write (ms)", &lctl, 1, "ms");
	stats_row("load to answer, stopped (ms)", &loads, 1, "ms");
	stats_row("save (mkdir) (ms)", &save, 1, "ms");
	printf("  %-34s %9.1f MiB on disk (du), %.1f MiB apparent, "
	       "ls -l %.1f MiB\n", "snapshot size", disk / 1048576.0,
	       apparent / 1048576.0, st.st_size / 1048576.0);
	stats_value("guest snapshot on disk (MiB)", disk / 1048576.0, "MiB");
	stats_value("guest snapshot ls -l (MiB)", st.st_size / 1048576.0,
		    "MiB");
	double ratio = samples_median(&cold) / samples_median(&load);
	double ratio2 = samples_median(&cold) / samples_median(&loads);
	printf("  %-34s %9.1fx (from stopped: %.1fx); fastest boot vs "
	       "slowest load: %.1fx\n", "restore speed-up (medians)", ratio,
	       ratio2, samples_pct(&cold, 0) / samples_pct(&load, 100));
	stats_value("guest restore ratio", ratio, "x");
	stats_value("guest restore ratio from stopped", ratio2, "x");
	bench_verdict("guest restore vs cold boot", ratio >= SNAP_GOAL_RATIO,
		      ">= 20x", "%.1fx (%.0f vs %.0f ms)", ratio,
		      samples_median(&load), samples_median(&cold));
	samples_free(&prompt);
	samples_free(&cold);
	samples_free(&save);
	samples_free(&load);
	samples_free(&loads);
	samples_free(&lctl);
}
