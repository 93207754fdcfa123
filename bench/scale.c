/* scale.c - many instances on one mount, started paused: the time of
 * `cat <each>/state`, and emufs's RSS, threads and fds as instances run,
 * against an emufs with no instance at all; and a property read of s00
 * against its raw monitor with 1 and with all instances running, to show
 * that the property rows hold at scale.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "bench.h"

/* `cat <each>/state`: readdir of the root, then open+read+close of each. */
double scale_sweep(const char *mnt, int *files)
{
	char path[PATH_MAX + 300], buf[64];
	double t0 = clk_now_us();
	DIR *d = opendir(mnt);
	if (!d)
		bench_fail("opendir %s: %s", mnt, strerror(errno));
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/state", mnt, e->d_name);
		ssize_t r = mnt_cat(path, buf, sizeof buf);
		if (r <= 0)
			bench_fail("cat %s: %s", path,
				   r ? strerror(-r) : "empty");
		n++;
	}
	closedir(d);
	*files = n;
	return clk_now_us() - t0;
}

struct scale_point {
	int running;
	double sweep_med, sweep_p10, sweep_p90, per_file;
	struct proc_res res;
};

static struct scale_point scale_measure(struct mnt *m, int running)
{
	struct samples s = { 0 };
	int files = 0;
	struct proc_cost c0 = { 0 };
	for (int i = 0; i < bench_opt.sweeps + 3; i++) {
		if (i == 3)
			c0 = proc_cost_now(m->emufs);
		double t = scale_sweep(m->dir, &files);
		if (i >= 3)
			samples_add(&s, t);
	}
	char name[64];
	snprintf(name, sizeof name, "sweep, %d running, emufs cost", running);
	proc_cost_row(name, c0, proc_cost_now(m->emufs),
		      (double)bench_opt.sweeps * files, "file");
	struct scale_point p = { running, samples_median(&s) / 1000,
				 samples_pct(&s, 10) / 1000,
				 samples_pct(&s, 90) / 1000,
				 samples_median(&s) / files,
				 proc_resources(m->emufs) };
	samples_free(&s);
	return p;
}

/* The warm property rows on s00 with `running` instances up: s00 runs
 * its firmware meanwhile, the others stay paused, so the rows compare
 * with the property section's (b0, running) and differ from 1 to N in
 * the number of instances only; *alone gets their control (props.c). */
static struct props_ratios scale_read(struct bench_ctx *c, int running,
				      struct props_ratios *alone)
{
	char ctl[PATH_MAX + 16], label[64];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	if (!c->raw)
		c->raw = raw_qmp_open(raw_connect(mnt_raw_s00, 10000));
	mnt_must(ctl, "resume");
	snprintf(label, sizeof label, "prop scu/silicon-rev, %d started",
		 running);
	struct props_ratios r = props_read_warm(c, label,
		"props/machine/soc/scu/silicon-rev", "/machine/soc/scu",
		"silicon-rev", alone);
	mnt_must(ctl, "pause");
	return r;
}

/* The table of points, per-instance figures and the verdicts. */
static void scale_report(struct proc_res base, struct scale_point *pt,
			 int np, struct samples *starts, double t_unmount)
{
	int N = bench_opt.scale;
	printf("  %-11s %9s %15s %11s %9s %8s %6s\n", "running",
	       "sweep ms", "p10-p90", "us per file", "RSS KiB", "threads",
	       "fds");
	printf("  %-11s %9s %15s %11s %9ld %8ld %6ld\n", "empty mount", "-",
	       "-", "-", base.rss_kb, base.threads, base.fds);
	for (int k = 0; k < np; k++) {
		char spread[32];
		snprintf(spread, sizeof spread, "%.2f-%.2f", pt[k].sweep_p10,
			 pt[k].sweep_p90);
		printf("  %-11d %9.3f %15s %11.1f %9ld %8ld %6ld\n",
		       pt[k].running, pt[k].sweep_med, spread,
		       pt[k].per_file, pt[k].res.rss_kb,
		       pt[k].res.threads, pt[k].res.fds);
		char name[64];
		snprintf(name, sizeof name, "sweep %d running (ms)",
			 pt[k].running);
		stats_value(name, pt[k].sweep_med, "ms");
		snprintf(name, sizeof name, "rss %d running (KiB)",
			 pt[k].running);
		stats_value(name, pt[k].res.rss_kb, "KiB");
	}
	stats_row("start paused (ms)", starts, 1, "ms");
	printf("  %-34s %9.1f ms (stops %d paused QEMUs)\n", "unmount",
	       t_unmount, N);
	struct scale_point *one = &pt[1], *all = &pt[np - 1];
	double rss_total = (all->res.rss_kb - base.rss_kb) / (double)N;
	double rss_marg = (all->res.rss_kb - one->res.rss_kb) /
			  (double)(N - 1);
	double thr = (all->res.threads - one->res.threads) / (double)(N - 1);
	double fds = (all->res.fds - pt[0].res.fds) / (double)N;
	printf("  %-34s %9.1f KiB (marginal, 1 -> %d running: %.1f KiB)\n",
	       "RSS per instance", rss_total, N, rss_marg);
	printf("  %-34s %9.2f (%ld at 1 running, %ld at %d)\n",
	       "threads per instance", thr, one->res.threads,
	       all->res.threads, N);
	printf("  %-34s %9.2f\n", "fds per running instance", fds);
	stats_value("rss per instance (KiB)", rss_total, "KiB");
	stats_value("rss marginal per instance (KiB)", rss_marg, "KiB");
	stats_value("threads per instance", thr, "");
	stats_value("fds per instance", fds, "");
	char fig[96];
	snprintf(fig, sizeof fig, "%.0f KiB (marginal %.0f KiB)", rss_total,
		 rss_marg);
	bench_verdict("emufs RSS per instance", rss_total <= 32,
		      "<= 32 KiB", "%s", fig);
	bench_verdict("threads per instance", thr < 0.1, "0 (one loop)",
		      "%.2f (%ld -> %ld threads)", thr, one->res.threads,
		      all->res.threads);
	char what[64];
	snprintf(what, sizeof what, "`cat */state`, %d running", N);
	bench_verdict(what, -1, "(none)",
		      "%.2f ms per sweep, %.0f us per file", all->sweep_med,
		      all->per_file);
}

void scale_section(void)
{
	bench_section("scale", "instances on one mount, started paused");
	int N = bench_opt.scale;

	/* The same emufs with no instance at all: its base footprint. */
	struct mnt *e = mnt_start(NULL, "empty");
	int files;
	scale_sweep(e->dir, &files);
	struct proc_res base = proc_resources(e->emufs);
	mnt_stop(e);

	struct mnt *m = mnt_start(mnt_scale_cfg, "scale");
	proc_attach_start(m->emufs);
	int points[] = { 0, 1, 8, N }, np = 4;
	struct scale_point pt[4];
	struct samples starts = { 0 };
	int running = 0;
	char path[PATH_MAX + 64];
	struct bench_ctx c = { .m = m, .pid = m->emufs };
	snprintf(c.b0, sizeof c.b0, "%s/s00", m->dir);
	struct props_ratios read[2] = { { 0 } }, alone[2];
	for (int k = 0; k < np; k++) {
		if (points[k] > N)
			points[k] = N;
		bool started = running < points[k];
		while (running < points[k]) {
			snprintf(path, sizeof path, "%s/s%02d/ctl", m->dir,
				 running);
			double t0 = clk_now_us();
			mnt_must(path, "start paused");
			samples_add(&starts, (clk_now_us() - t0) / 1e3);
			running++;
		}
		/* A freshly started QEMU keeps a core busy for a moment after
		 * its QMP is up; that is QEMU's time, not emufs's. */
		if (started)
			clk_sleep_ms(1500);
		pt[k] = scale_measure(m, running);
		if (k == 1 || k == np - 1)
			read[k > 1] = scale_read(&c, running,
						 &alone[k > 1]);
	}
	raw_qmp_close(c.raw);
	proc_attach_stop();
	double t_unmount = mnt_stop(m) / 1e3;
	scale_report(base, pt, np, &starts, t_unmount);
	char what[64];
	snprintf(what, sizeof what, "property read, %d started", N);
	bench_verdict(what, read[1].p50 <= 1.2 && read[1].p95 <= 1.5,
		      "<= 1.2x/1.5x", "%.2fx p50, %.2fx p95 (1 started: "
		      "%.2fx, %.2fx)", read[1].p50, read[1].p95, read[0].p50,
		      read[0].p95);
	snprintf(what, sizeof what, "property read, %d started (vCPU alone)",
		 N);
	if (alone[1].p50 > 0)
		bench_verdict(what, -1, "(control)", "%.2fx p50, %.2fx p95 "
			      "(1 started: %.2fx, %.2fx)", alone[1].p50,
			      alone[1].p95, alone[0].p50, alone[0].p95);
	samples_free(&starts);
}
