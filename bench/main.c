/* main.c - `make bench`: emufs against the raw emulator, side by side.
 *
 * One program times both sides so both pay the same language cost: the
 * file-system side with open/read/close/poll on the mount, the baseline
 * over a second QMP monitor on the same QEMU (-qmp unix:...) or over a QEMU
 * launched by hand. Samples alternate A B B A ... so background noise hits
 * both sides alike; warm-up samples are dropped. See docs/performance.md.
 *
 *   property  open+read-to-EOF+close of a props file   vs raw qom-get
 *   list      `ls -l` of a props directory             vs raw qom-list
 *   pin       the same on gpio/<pin>                    vs raw qom-get
 *   poll      poll() wake-up after a raw qom-set changes the pin's level
 *   serial    1 MiB guest burst through serial0, follow/serial0  vs the
 *             pipe chardev read by hand, resting as emufs does
 *   start     `echo start > ctl` to the banner          vs QEMU by hand
 *   scale     64 instances: `cat <each>/state`, RSS, threads, fds per instance
 *   slurm     64 instances through srun of a one-node Slurm cluster, plain
 *             and TLS: start all, echo, fds and RSS, stop all  vs srun +
 *             QEMU by hand (slurm.c)
 *   logsize   fstat + tail read of serial0, small log vs after the bursts
 *   follow    wake of a read() blocked in follow/serial0 (guest echo) and
 *             follow/state (pause/resume)  vs raw readers of the same
 *   blocked   state, a pin, a prop, `ls -l` with 1,000 readers blocked in
 *             follow/ against none
 *   boot      the Linux guest kit: start to its prompt  vs -serial stdio
 *   bulk      the same guest printing 4 MiB on its console, timed on the
 *             same boots (boot and bulk are one section, guest.c)
 *   snapshots-linux  the same guest: `load` of a snapshot at its prompt vs
 *             a cold boot, each to the answer of a command (snapshots.c)
 *
 * This file holds the options, the order of the sections and the summary
 * of verdicts; each section lives in a file of its own (bench.h lists
 * them). Every QEMU this program starts dies with it (PR_SET_PDEATHSIG)
 * and every mount is unmounted on the way out, also on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

struct bench_opt bench_opt = {
	.qemu = "qemu-system-arm",
	.iters = 300,
	.polls = 100,
	.bursts = 4,
	.burst_bytes = 1048576,
	.starts = 10,
	.scale = 64,
	.slurm_rounds = 1,
	.pinwake = 48,
	.pinwake_toggles = 1000,
	.pinwake_running_toggles = 100,
	.sweeps = 30,
	.readers = 1000,
	.guest_rounds = 2,
	.bulk_bytes = 4194304,
	.mount_timeout_ms = 10000,
};

int bench_logfd = -1;
int bench_hard_errors;

/* ---- leaving ---------------------------------------------------------- */

static void bench_cleanup(void)
{
	floor_stop();
	proc_kill_all();
	mnt_stop_all();
	slurm_cleanup();
}

void bench_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "emufs-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	bench_cleanup();
	exit(1);
}

static void bench_on_signal(int sig)
{
	/* Async-signal-safe: the QEMUs die, each emufs unmounts and stops
	 * its own emulators on SIGTERM. */
	proc_signal_all();
	mnt_signal_all();
	slurm_signal_all();
	_exit(128 + sig);
}

/* ---- reader threads --------------------------------------------------- */

static void bench_on_interrupt(int sig)
{
	(void)sig;     /* only to end a blocked read() with EINTR */
}

int bench_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	sigset_t all, old;
	pthread_attr_init(&a);
	/* Reading is all they do: 64 KiB is plenty, and 1,000 of them stay
	 * cheap. */
	pthread_attr_setstacksize(&a, 64 * 1024);
	sigfillset(&all);
	sigdelset(&all, BENCH_SIG_INTERRUPT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(th, &a, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (rc)
		errno = rc;
	return rc ? -1 : 0;
}

/* ---- sections and verdicts -------------------------------------------- */

struct bench_result {
	char what[64], figure[96], target[32];
	int pass;              /* 1 PASS, 0 MISS, -1 not measured */
};
static struct bench_result bench_results[48];
static int bench_nresults;

void bench_verdict(const char *what, int pass, const char *target,
		   const char *fmt, ...)
{
	if (bench_nresults == (int)(sizeof bench_results /
				    sizeof bench_results[0]))
		bench_fail("more verdicts than bench_results holds");
	struct bench_result *v = &bench_results[bench_nresults++];
	va_list ap;
	snprintf(v->what, sizeof v->what, "%s", what);
	snprintf(v->target, sizeof v->target, "%s", target);
	va_start(ap, fmt);
	vsnprintf(v->figure, sizeof v->figure, fmt, ap);
	va_end(ap);
	v->pass = pass;
}

void bench_section(const char *name, const char *what)
{
	printf("\n== %s: %s\n", name, what);
	fflush(stdout);
}

static bool bench_section_on(const char *name)
{
	const char *only = bench_opt.only;
	if (!only)
		return true;
	size_t l = strlen(name);
	for (const char *p = only; (p = strstr(p, name)); p += l)
		if ((p == only || p[-1] == ',') &&
		    (p[l] == '\0' || p[l] == ','))
			return true;
	return false;
}

/* The summary table; returns how many targets were missed. */
static int bench_summary(double t_all)
{
	printf("\n== summary (%.0f s)\n", (clk_now_us() - t_all) / 1e6);
	printf("  %-32s %-36s %-14s %s\n", "what", "figure (median)",
	       "target", "");
	int missed = 0;
	for (int i = 0; i < bench_nresults; i++) {
		struct bench_result *v = &bench_results[i];
		printf("  %-32s %-36s %-14s %s\n", v->what, v->figure,
		       v->target,
		       v->pass < 0 ? "-" : v->pass ? "PASS" : "MISS");
		missed += v->pass == 0;
	}
	return missed;
}

/* ---- options ---------------------------------------------------------- */

static void bench_usage(FILE *to)
{
	fprintf(to,
		"usage: emufs-bench --emufs PATH --firmware ELF [options]\n"
		"  --qemu BIN        qemu-system-arm\n"
		"  --work DIR        scratch directory (default: a new one in "
		"/tmp)\n"
		"  --only LIST       sections: props,list,pins,poll,serial,start,"
		"scale,slurm,\n"
		"                    pinwake,logsize,follow,blocked,snapshots,"
		"trace,boot,bulk,\n"
		"                    snapshots-linux\n"
		"  --iters N         property/pin pairs (300)\n"
		"  --polls N         poll wake-up samples (100)\n"
		"  --bursts N        serial rounds (4)\n"
		"  --burst-bytes N   bytes per burst (1048576)\n"
		"  --starts N        start samples per variant (10)\n"
		"  --scale N         instances of the scale test (64)\n"
		"  --slurm-rounds N  rounds of each kind in slurm (1)\n"
		"  --pinwake N       instances of the pinwake test (48)\n"
		"  --pinwake-toggles N  its toggles per width (1000)\n"
		"  --pinwake-running-toggles N  the same, running (100)\n"
		"  --pinwake-paused  only its paused pass, not the running one\n"
		"  --sweeps N        `cat */state` sweeps per point (30)\n"
		"  --readers N       blocked readers of `blocked` (1000)\n"
		"  --guests DIR      the guest kit of boot,bulk,snapshots-linux\n"
		"                    (build/guests)\n"
		"  --guest-rounds N  boot+bulk rounds per side (2)\n"
		"  --bulk-bytes N    what the guest prints in bulk (4194304)\n"
		"  --wrap CMD        run emufs under CMD (\"strace -c -f -o F\","
		" \"valgrind --tool=callgrind\")\n"
		"  --attach CMD      a profiler around each section; %%p is "
		"emufs's pid\n"
		"                    (\"perf record -g -o F -p %%p\")\n"
		"  --label TEXT      printed in the header (the commit)\n"
		"  --tsv FILE        append the figures to FILE\n"
		"  --strict          exit 1 when a target is missed\n"
		"  --vcpu-core       the control run: every QEMU's vCPU thread "
		"alone on the\n"
		"                    last core, all else on the others\n"
		"  --keep            keep the scratch directory\n");
}

static void bench_parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "emufs", 1, 0, 'e' }, { "firmware", 1, 0, 'f' },
		{ "qemu", 1, 0, 'q' }, { "work", 1, 0, 'w' },
		{ "only", 1, 0, 'o' }, { "iters", 1, 0, 'i' },
		{ "polls", 1, 0, 'p' }, { "bursts", 1, 0, 'b' },
		{ "burst-bytes", 1, 0, 'B' }, { "starts", 1, 0, 's' },
		{ "scale", 1, 0, 'S' }, { "sweeps", 1, 0, 'W' },
		{ "pinwake", 1, 0, 'P' }, { "pinwake-toggles", 1, 0, 'T' },
		{ "pinwake-paused", 0, 0, 'Z' }, { "slurm-rounds", 1, 0, 'U' },
		{ "pinwake-running-toggles", 1, 0, 'Y' },
		{ "readers", 1, 0, 'R' }, { "guests", 1, 0, 'G' },
		{ "guest-rounds", 1, 0, 'g' }, { "bulk-bytes", 1, 0, 'K' },
		{ "wrap", 1, 0, 'r' }, { "tsv", 1, 0, 't' },
		{ "attach", 1, 0, 'a' }, { "label", 1, 0, 'L' },
		{ "strict", 0, 0, 'X' }, { "keep", 0, 0, 'k' },
		{ "vcpu-core", 0, 0, 'V' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct bench_opt *o = &bench_opt;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'e': o->emufs = optarg; break;
		case 'f': o->firmware = optarg; break;
		case 'q': o->qemu = optarg; break;
		case 'w': snprintf(o->work, sizeof o->work, "%s", optarg);
			  break;
		case 'o': o->only = optarg; break;
		case 'i': o->iters = atoi(optarg); break;
		case 'p': o->polls = atoi(optarg); break;
		case 'b': o->bursts = atoi(optarg); break;
		case 'B': o->burst_bytes = atol(optarg); break;
		case 's': o->starts = atoi(optarg); break;
		case 'S': o->scale = atoi(optarg); break;
		case 'P': o->pinwake = atoi(optarg); break;
		case 'T': o->pinwake_toggles = atoi(optarg); break;
		case 'Z': o->pinwake_paused = true; break;
		case 'Y': o->pinwake_running_toggles = atoi(optarg); break;
		case 'U': o->slurm_rounds = atoi(optarg); break;
		case 'W': o->sweeps = atoi(optarg); break;
		case 'R': o->readers = atoi(optarg); break;
		case 'G': o->guests = optarg; break;
		case 'g': o->guest_rounds = atoi(optarg); break;
		case 'K': o->bulk_bytes = atol(optarg); break;
		case 'r': o->wrap = optarg; o->mount_timeout_ms = 60000;
			  break;
		case 't': o->tsv = optarg; break;
		case 'a': o->attach = optarg; break;
		case 'L': o->label = optarg; break;
		case 'X': o->strict = true; break;
		case 'k': o->keep = true; break;
		case 'V': o->vcpu_core = true; break;
		case 'h': bench_usage(stdout); exit(0);
		default: bench_usage(stderr); exit(2);
		}
	}
	if (!o->emufs || !o->firmware || optind != argc || o->iters < 1 ||
	    o->polls < 1 || o->bursts < 1 || o->burst_bytes < 1 ||
	    o->starts < 1 || o->scale < 2 || o->scale > 99 ||
	    o->slurm_rounds < 1 || o->pinwake < 1 || o->pinwake > 99 ||
	    o->pinwake_toggles < 1 || o->pinwake_running_toggles < 1 ||
	    o->sweeps < 1 || o->readers < 1 || o->guest_rounds < 1 ||
	    o->bulk_bytes < 1) {
		bench_usage(stderr);
		exit(2);
	}
}

/* ---- the run ---------------------------------------------------------- */

/* Absolute paths, the scratch directory, the log, --tsv, signals, configs.
 * Returns whether the scratch directory is ours to remove. */
static bool bench_setup(void)
{
	struct bench_opt *o = &bench_opt;
	char *abs_emufs = realpath(o->emufs, NULL),
	     *abs_fw = realpath(o->firmware, NULL);
	if (!abs_emufs || !abs_fw) {
		fprintf(stderr, "emufs-bench: %s: %s\n",
			abs_emufs ? o->firmware : o->emufs, strerror(errno));
		exit(2);
	}
	o->emufs = abs_emufs;
	o->firmware = abs_fw;
	bool made_work = !o->work[0];
	if (made_work) {
		snprintf(o->work, sizeof o->work, "/tmp/emufs-bench.XXXXXX");
		if (!mkdtemp(o->work))
			bench_fail("mkdtemp: %s", strerror(errno));
	} else if (mkdir(o->work, 0700) < 0 && errno != EEXIST) {
		bench_fail("%s: %s", o->work, strerror(errno));
	}
	char lpath[PATH_MAX + 16];
	snprintf(lpath, sizeof lpath, "%s/bench.log", o->work);
	bench_logfd = open(lpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			   0644);
	if (o->tsv && !(stats_tsv = fopen(o->tsv, "a")))
		bench_fail("%s: %s", o->tsv, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = bench_on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct sigaction si = { .sa_handler = bench_on_interrupt };
	sigaction(BENCH_SIG_INTERRUPT, &si, NULL);      /* no SA_RESTART */
	mnt_write_configs();
	return made_work;
}

/* Every section but scale, on one mount: b0 runs the firmware with a
 * second QMP monitor for the baseline, b1 is started and killed by
 * `start`. logsize brackets serial: the log is small before, large after. */
static void bench_main_mount(void)
{
	struct bench_ctx c = { 0 };
	c.m = mnt_start(mnt_main_cfg, "main");
	c.pid = c.m->emufs;
	snprintf(c.b0, sizeof c.b0, "%s/b0", c.m->dir);
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c.b0);
	mnt_must(ctl, "start");
	c.raw = raw_qmp_open(raw_connect(mnt_raw_b0, 10000));

#define BENCH_RUN(name, call)                                              \
	do {                                                               \
		if (bench_section_on(name)) {                              \
			proc_attach_start(c.pid);                          \
			call;                                              \
			proc_attach_stop();                                \
		}                                                          \
	} while (0)
	BENCH_RUN("props", props_section(&c));
	BENCH_RUN("list", props_list_section(&c));
	BENCH_RUN("pins", props_pin_section(&c));
	BENCH_RUN("poll", props_poll_section(&c));
	off_t small_size = 0, big_size = 0;
	double small = 0, big = 0;
	long rss0 = proc_status(c.pid, "VmRSS");
	if (bench_section_on("logsize")) {
		bench_section("logsize", "fstat + pread of the last 4 KiB "
			      "of serial0, before and after the bursts");
		small = serial_tail_read(&c, "small", &small_size);
	}
	BENCH_RUN("serial", serial_section(&c));
	if (bench_section_on("logsize")) {
		bench_section("logsize", "(after the bursts)");
		big = serial_tail_read(&c, "large", &big_size);
		long rss1 = proc_status(c.pid, "VmRSS");
		printf("  serial0 %lld -> %lld bytes: tail read "
		       "%.1f -> %.1f us; emufs RSS %ld -> %ld KiB\n",
		       (long long)small_size, (long long)big_size,
		       small, big, rss0, rss1);
	}
	/* Before start, which leaves b0 paused. */
	BENCH_RUN("follow", follow_section(&c));
	BENCH_RUN("blocked", blocked_section(&c));
	BENCH_RUN("start", start_section(&c));
	BENCH_RUN("snapshots", snapshots_section(&c));
	BENCH_RUN("trace", trace_section(&c));
#undef BENCH_RUN
	raw_qmp_close(c.raw);
	mnt_stop(c.m);
}

int main(int argc, char **argv)
{
	const struct bench_opt *o = &bench_opt;
	bench_parse(argc, argv);
	bool made_work = bench_setup();

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double loadavg[1] = { 0 };
	getloadavg(loadavg, 1);
	printf("emufs-bench%s%s: %s, %ld cores, load %.2f at start, "
	       "scratch %s\n", o->label ? " " : "", o->label ? o->label : "",
	       o->wrap || o->attach ? "emufs PROFILED (figures not "
	       "comparable)" : "plain", ncpu, loadavg[0], o->work);
	if (stats_tsv)
		fprintf(stats_tsv, "# run %s\tload %.2f\n",
			o->label ? o->label : "", loadavg[0]);
	if (o->vcpu_core) {
		int core = aff_watch_start();
		if (core < 0)
			bench_fail("--vcpu-core needs two cores or more");
		printf("CONTROL RUN (--vcpu-core): every QEMU's vCPU thread "
		       "alone on core %d, all else on the others\n", core);
	}
	double t_all = clk_now_us();

	if (bench_section_on("props") || bench_section_on("list") ||
	    bench_section_on("pins") || bench_section_on("poll") ||
	    bench_section_on("serial") || bench_section_on("start") ||
	    bench_section_on("logsize") || bench_section_on("follow") ||
	    bench_section_on("blocked") || bench_section_on("snapshots") ||
	    bench_section_on("trace"))
		bench_main_mount();
	if (bench_section_on("scale"))
		scale_section();
	if (bench_section_on("slurm"))
		slurm_section();
	if (bench_section_on("pinwake"))
		pinwake_section();
	if (bench_section_on("boot") || bench_section_on("bulk"))
		guest_section();
	if (bench_section_on("snapshots-linux"))
		snapshots_linux_section();

	int missed = bench_summary(t_all);
	bench_cleanup();
	if (stats_tsv)
		fclose(stats_tsv);
	if (!o->keep && made_work && !bench_hard_errors) {
		char *rm[] = { "rm", "-rf", bench_opt.work, NULL };
		proc_run_wait(rm);
	} else {
		printf("  scratch kept: %s\n", o->work);
	}
	if (bench_hard_errors)
		return 1;
	return o->strict && missed ? 1 : 0;
}
