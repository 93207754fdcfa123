/* blocked.c - what readers blocked in follow/ cost the rest of the mount:
 *
 *   blocked  open+read+close of state, gpio/led and a props file, and
 *            `ls -l` of the instance: with no reader blocked, then with
 *            --readers (1,000) threads of this program each asleep in a
 *            read() of a follow/ file of the same instance, then with none
 *            again; the ratio of medians, with / none (both none phases)
 *
 * The readers are threads with small stacks (bench_thread_create), spread
 * over follow/log, serial0, state and gpio/led. Before and after the
 * measurement the kernel must show every one of them asleep in read();
 * they end with a signal (EINTR, contract 3.8) and each must say so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

/* ---- the readers -------------------------------------------------------- */

/* What a reader waits on; state and pins give their line at open first. */
static const struct {
	const char *file;
	bool at_end;           /* lseek to the end (logs), else read a line */
} blocked_kinds[] = {
	{ "follow/log", true }, { "follow/serial0", true },
	{ "follow/state", false }, { "follow/gpio/led", false },
};
#define BLOCKED_KINDS (sizeof blocked_kinds / sizeof blocked_kinds[0])

/* Written by its thread, read by the main one: atomics, no lock. */
struct blocked_reader {
	pthread_t th;
	const char *path;
	bool at_end;
	_Atomic pid_t tid;     /* set once it is about to block */
	_Atomic int wakes;     /* reads that returned data after that */
	_Atomic int end;       /* 0 while reading; then errno, or -1 at EOF */
};

static void *blocked_reader_main(void *arg)
{
	struct blocked_reader *r = arg;
	char buf[256];
	int fd = open(r->path, O_RDONLY);
	if (fd < 0) {
		atomic_store(&r->end, errno);
		return NULL;
	}
	if (r->at_end ? lseek(fd, 0, SEEK_END) < 0 : read(fd, buf, sizeof buf)
	    <= 0) {
		atomic_store(&r->end, errno ? errno : -1);
		close(fd);
		return NULL;
	}
	atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			atomic_store(&r->end, n < 0 ? errno : -1);
			break;
		}
		/* Something changed while it should not have: counted, and
		 * the reader blocks again (blocked_end signals until all
		 * ended). */
		atomic_fetch_add(&r->wakes, 1);
	}
	close(fd);
	return NULL;
}

/* How many readers the kernel shows asleep in read() right now. */
static int blocked_asleep(struct blocked_reader *rs, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		pid_t t = atomic_load(&rs[i].tid);
		k += t && !atomic_load(&rs[i].end) && proc_thread_in_read(t);
	}
	return k;
}

/* Start n readers; returns once all are asleep in read() (or 20 s). */
static void blocked_start(struct bench_ctx *c, struct blocked_reader *rs,
			  int n, char paths[][PATH_MAX + 32])
{
	double t0 = clk_now_us();
	for (int i = 0; i < n; i++) {
		rs[i].path = paths[i % BLOCKED_KINDS];
		rs[i].at_end = blocked_kinds[i % BLOCKED_KINDS].at_end;
		if (bench_thread_create(&rs[i].th, blocked_reader_main, &rs[i]))
			bench_fail("pthread_create, reader %d: %s", i,
				   strerror(errno));
	}
	int asleep = 0;
	while ((asleep = blocked_asleep(rs, n)) < n &&
	       clk_now_us() - t0 < 20e6)
		clk_sleep_ms(20);
	struct proc_res res = proc_resources(c->pid);
	printf("  %d of %d readers asleep in read() after %.0f ms; emufs "
	       "then: %ld threads, %ld KiB RSS, %ld fds\n", asleep, n,
	       (clk_now_us() - t0) / 1000, res.threads, res.rss_kb, res.fds);
	if (asleep < n) {
		fprintf(stderr, "emufs-bench: only %d of %d readers blocked\n",
			asleep, n);
		bench_hard_errors++;
	}
}

/* End every reader with a signal; each should see EINTR. A signal that
 * lands between two reads is lost, so it is sent again until all ended. */
static void blocked_end(struct bench_ctx *c, struct blocked_reader *rs, int n)
{
	double t0 = clk_now_us();
	int ended = 0;
	while (clk_now_us() - t0 < 5e6) {
		ended = 0;
		for (int i = 0; i < n; i++) {
			if (atomic_load(&rs[i].end))
				ended++;
			else
				pthread_kill(rs[i].th, BENCH_SIG_INTERRUPT);
		}
		if (ended == n)
			break;
		clk_sleep_ms(20);
	}
	double t_end = clk_now_us() - t0;
	if (ended < n) {
		/* emufs's exit gives every blocked reader end of file. */
		fprintf(stderr, "emufs-bench: %d of %d readers still blocked "
			"5 s after a signal; stopping emufs\n", n - ended, n);
		kill(c->pid, SIGTERM);
	}
	int eintr = 0, wakes = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(rs[i].th, NULL);
		eintr += atomic_load(&rs[i].end) == EINTR;
		wakes += atomic_load(&rs[i].wakes);
	}
	printf("  %d of %d readers ended with EINTR, %.0f ms after the first "
	       "signal; %d unexpected wakes\n", eintr, n, t_end / 1000, wakes);
	if (ended < n)
		bench_fail("readers did not end with EINTR");
	if (eintr < n)
		bench_hard_errors++;
}

/* ---- the files answering meanwhile ----------------------------------------- */

static const struct {
	const char *path;      /* in the instance; "" is the instance itself */
	const char *name;
} blocked_files[] = {
	{ "state", "state" },
	{ "gpio/led", "gpio/led" },
	{ "props/machine/soc/scu/silicon-rev", "prop silicon-rev" },
	{ "", "ls -l b0" },
};
#define BLOCKED_FILES (sizeof blocked_files / sizeof blocked_files[0])

/* Phases alternate none, readers, none, ...: the load of a shared
 * machine drifts over seconds, and this spreads it over both sides. */
#define BLOCKED_PHASES 5

/* What one side (none, or readers blocked) gathered over its phases. */
struct blocked_side {
	struct samples s[BLOCKED_FILES];
	struct proc_cost cost;
	double ops;
};

/* `ls -l DIR`: readdir and lstat of each entry. */
static void blocked_ls(const char *dir)
{
	struct stat st;
	DIR *d = opendir(dir);
	if (!d)
		bench_fail("opendir %s: %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			bench_fail("stat %s/%s: %s", dir, e->d_name,
				   strerror(errno));
	closedir(d);
}

/* One phase: every file in turn, a few warm-up rounds, then rounds whose
 * times and emufs cost go to side. */
static void blocked_measure(struct bench_ctx *c, struct blocked_side *side,
			    int rounds)
{
	char path[PATH_MAX + 64], buf[4096];
	int warm = 3;
	struct proc_cost c0 = { 0 };
	for (int i = 0; i < warm + rounds; i++) {
		if (i == warm)
			c0 = proc_cost_now(c->pid);
		for (size_t f = 0; f < BLOCKED_FILES; f++) {
			snprintf(path, sizeof path, "%s/%s", c->b0,
				 blocked_files[f].path);
			double t0 = clk_now_us();
			if (!blocked_files[f].path[0]) {
				blocked_ls(path);
			} else {
				ssize_t n = mnt_cat(path, buf, sizeof buf);
				if (n <= 0)
					bench_fail("cat %s: %s", path,
						   n ? strerror(-n) : "empty");
			}
			if (i >= warm)
				samples_add(&side->s[f], clk_now_us() - t0);
		}
	}
	proc_cost_add(&side->cost, c0, proc_cost_now(c->pid));
	side->ops += (double)rounds * BLOCKED_FILES;
}

static void blocked_report(struct blocked_side *none,
			   struct blocked_side *with, int n)
{
	char name[96];
	for (size_t f = 0; f < BLOCKED_FILES; f++) {
		snprintf(name, sizeof name, "%s, none (us)",
			 blocked_files[f].name);
		stats_row(name, &none->s[f], 1, "us");
		snprintf(name, sizeof name, "%s, %d blocked (us)",
			 blocked_files[f].name, n);
		stats_row(name, &with->s[f], 1, "us");
	}
	proc_cost_row("emufs cost, none", (struct proc_cost){ 0 }, none->cost,
		      none->ops, "op");
	proc_cost_row("emufs cost, readers blocked", (struct proc_cost){ 0 },
		      with->cost, with->ops, "op");
	printf("  %-22s %20s %20s %8s\n", "us", "none p50 (p95)",
	       "blocked p50 (p95)", "ratio");
	double worst = 0;
	const char *worst_name = "";
	for (size_t f = 0; f < BLOCKED_FILES; f++) {
		double ratio = samples_median(&with->s[f]) /
			       samples_median(&none->s[f]);
		printf("  %-22s %11.0f (%6.0f) %11.0f (%6.0f) %7.2fx\n",
		       blocked_files[f].name, samples_median(&none->s[f]),
		       samples_pct(&none->s[f], 95),
		       samples_median(&with->s[f]),
		       samples_pct(&with->s[f], 95), ratio);
		snprintf(name, sizeof name, "blocked ratio %s",
			 blocked_files[f].name);
		stats_value(name, ratio, "x");
		if (ratio > worst) {
			worst = ratio;
			worst_name = blocked_files[f].name;
		}
	}
	char what[64];
	snprintf(what, sizeof what, "%d blocked readers, worst file", n);
	bench_verdict(what, worst <= 1.5, "<= 1.5x", "%.2fx none (%s)", worst,
		      worst_name);
}

void blocked_section(struct bench_ctx *c)
{
	int n = bench_opt.readers;
	char title[128];
	snprintf(title, sizeof title, "files of a paused instance with no "
		 "reader, then %d readers blocked in follow/, in turn", n);
	bench_section("blocked", title);
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	/* The firmware spins and QEMU would hold a core: its noise, not
	 * emufs's, would then decide the ratio. Paused, every file still
	 * asks QEMU (qom-get) and the follow/ files still block. */
	mnt_must(ctl, "pause");
	/* A descriptor per reader. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max
							   : (rlim_t)n + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < (rlim_t)n + 64)
			bench_fail("%d readers need %d descriptors (limit %ld)",
				   n, n + 64, (long)rl.rlim_cur);
	}
	char (*paths)[PATH_MAX + 32] = calloc(BLOCKED_KINDS, sizeof *paths);
	struct blocked_reader *rs = calloc(n, sizeof *rs);
	struct blocked_side *none = calloc(1, sizeof *none),
			    *with = calloc(1, sizeof *with);
	if (!paths || !rs || !none || !with)
		bench_fail("out of memory");
	for (size_t k = 0; k < BLOCKED_KINDS; k++)
		snprintf(paths[k], sizeof paths[k], "%s/%s", c->b0,
			 blocked_kinds[k].file);
	int rounds = bench_opt.iters / (BLOCKED_PHASES / 2) + 1;
	for (int p = 0; p < BLOCKED_PHASES; p++) {
		if (p % 2 == 0) {
			blocked_measure(c, none, rounds);
			continue;
		}
		memset(rs, 0, n * sizeof *rs);
		blocked_start(c, rs, n, paths);
		blocked_measure(c, with, rounds);
		printf("  %d of %d readers still asleep in read() after the "
		       "measurement\n", blocked_asleep(rs, n), n);
		blocked_end(c, rs, n);
	}
	mnt_must(ctl, "resume");
	blocked_report(none, with, n);
	for (size_t f = 0; f < BLOCKED_FILES; f++) {
		samples_free(&none->s[f]);
		samples_free(&with->s[f]);
	}
	free(none);
	free(with);
	free(rs);
	free(paths);
}
