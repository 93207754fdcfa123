/* slurm.c - 64 instances launched through `srun` of a one-node Slurm
 * cluster of this machine (issue 19 item 5), with plain TCP links and with
 * settings.tls, against 64 QEMUs launched through the same `srun` by hand.
 *
 * A round of emufs: mount 64 instances of the test firmware whose target
 * has the launcher ["srun", ...]; `echo start > ctl` on all 64 at once
 * (one thread each, as a shell loop of `echo start > ctl &` would);
 * the banner in each serial0; a serial echo on each (`hello` written to
 * serial0, the firmware's `? hello` read back from serial0), one after the
 * other; `pause` on all (64 idle QEMUs would still cost the machine's two
 * cores timer ticks); emufs's RSS, threads and fds against the same mount
 * with nothing running; `cat <each>/state` sweeps; `stop` on all at once; then
 * no job may be left in the queue.
 *
 * A raw round (slurm_raw.c): the same 64 `srun ... qemu-system-arm -S`,
 * QMP and serial on unix sockets the bench listens on, each QMP answered
 * and sent `cont`, the banner and the echo on the socket, `quit` to all.
 *
 * The kinds take turns round after round (raw, plain, TLS; then rotated),
 * so the load of a shared machine falls on all alike. The cluster is
 * started here (scripts/slurm-cluster.sh, into WORK/slurm) and stopped on
 * every way out, after its QEMUs (slurm_cleanup from bench_cleanup; from
 * the signal handler, a shell it forks); a cluster that does not start
 * fails the run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static char slurm_dir[PATH_MAX];
static char slurm_fw[PATH_MAX + 16];
static bool slurm_up;
/* The signal handler's cleanup, written while the cluster starts: a shell
 * that waits for the QEMUs of WORK/slurm to end (emufs stops its own on
 * SIGTERM, Slurm ends a step whose srun was killed), kills those left,
 * then stops the cluster. Forked from the handler (fork and execve are
 * async-signal-safe; reading /proc is not), it outlives the bench. */
static char slurm_reaper[4 * PATH_MAX];
static char *slurm_reaper_argv[] = { "/bin/sh", "-c", slurm_reaper, NULL };

/* ---- the cluster ------------------------------------------------------ */

static void slurm_script(const char *verb, char *out, size_t cap)
{
	/* make runs the bench from the top of the tree. */
	char script[PATH_MAX];
	if (!realpath("scripts/slurm-cluster.sh", script))
		bench_fail("scripts/slurm-cluster.sh: %s (run from the top of "
			   "the tree, as `make bench` does)", strerror(errno));
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "%s %s %s", script, verb, slurm_dir);
	/* ^[^ ]*qemu-system: QEMU's own command line, not this shell's. */
	snprintf(slurm_reaper, sizeof slurm_reaper,
		 "q='^[^ ]*qemu-system[^ ]* .*%s/'; i=0; "
		 "while pgrep -f \"$q\" >/dev/null && [ $i -lt 100 ]; do "
		 "sleep 0.1; i=$((i + 1)); done; pkill -KILL -f \"$q\"; "
		 "%s stop %s", slurm_dir, script, slurm_dir);
	FILE *p = popen(cmd, "r");
	if (!p)
		bench_fail("popen %s: %s", cmd, strerror(errno));
	size_t got = 0;
	if (out) {
		got = fread(out, 1, cap - 1, p);
		out[got] = '\0';
	}
	int st = pclose(p);
	if (st)
		bench_fail("%s failed (status %d): no Slurm cluster; %s", cmd,
			   st, out ? out : "");
}

static void slurm_cluster_start(void)
{
	snprintf(slurm_dir, sizeof slurm_dir, "%s/slurm", bench_opt.work);
	/* munged runs as the munge user and must reach its socket's
	 * directory below WORK, which mkdtemp made 0700. */
	if (chmod(bench_opt.work, 0755) < 0)
		bench_fail("chmod %s: %s", bench_opt.work, strerror(errno));
	if (mkdir(slurm_dir, 0755) < 0 && errno != EEXIST)
		bench_fail("%s: %s", slurm_dir, strerror(errno));
	char out[4096];
	slurm_up = true;       /* from here on, slurm_cleanup stops it */
	slurm_script("start", out, sizeof out);
	char *conf = strstr(out, "SLURM_CONF=");
	if (!conf)
		bench_fail("slurm-cluster.sh printed no SLURM_CONF: %s", out);
	conf += strlen("SLURM_CONF=");
	conf[strcspn(conf, "\n")] = '\0';
	setenv("SLURM_CONF", conf, 1);
	/* The firmware in the scratch directory: every QEMU of this
	 * section names WORK on its command line (slurm_sweep_qemus). */
	snprintf(slurm_fw, sizeof slurm_fw, "%s/fw.elf", slurm_dir);
	char *cp[] = { "cp", (char *)bench_opt.firmware, slurm_fw, NULL };
	if (proc_run_wait(cp))
		bench_fail("cannot copy the firmware to %s", slurm_fw);
}

/* The QEMUs whose command line names WORK/slurm: ours, and only ours;
 * with kill_them, SIGKILL to each. Returns how many were found. */
static int slurm_sweep_qemus(bool kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], cmd[4096];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t l = read(fd, cmd, sizeof cmd - 1);
		close(fd);
		if (l <= 0)
			continue;
		cmd[l] = '\0';
		const char *base = strrchr(cmd, '/');
		base = base ? base + 1 : cmd;
		for (ssize_t i = 0; i < l; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (!strncmp(base, "qemu-system", 11) &&
		    strstr(cmd, slurm_dir)) {
			if (kill_them)
				kill(atoi(e->d_name), SIGKILL);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

void slurm_cleanup(void)
{
	if (!slurm_up)
		return;
	slurm_up = false;
	/* The job steps end when their srun does (killed by proc_kill_all,
	 * or by emufs stopping its instances): give them time, then make
	 * sure. */
	for (int i = 0; i < 50 && slurm_sweep_qemus(false); i++)
		clk_sleep_ms(100);
	if (slurm_sweep_qemus(true))
		fprintf(stderr, "emufs-bench: killed QEMUs of %s left "
			"after their job steps\n", slurm_dir);
	slurm_script("stop", NULL, 0);
}

void slurm_signal_all(void)
{
	extern char **environ;
	if (!slurm_up || fork() != 0)
		return;
	setsid();              /* not in the terminal's SIGINT any more */
	execve(slurm_reaper_argv[0], slurm_reaper_argv, environ);
	_exit(127);
}

/* Job steps in the queue (`squeue -h`), or -1. */
static int slurm_queued(void)
{
	FILE *p = popen("squeue -h 2>/dev/null", "r");
	if (!p)
		return -1;
	int n = 0, c;
	while ((c = fgetc(p)) != EOF)
		n += c == '\n';
	return pclose(p) ? -1 : n;
}

/* The queue empty within 10 s, or the run fails. */
static void slurm_must_drain(const char *after)
{
	for (int i = 0; i < 100; i++) {
		if (slurm_queued() == 0)
			return;
		clk_sleep_ms(100);
	}
	bench_fail("%s: %d job steps still queued after 10 s", after,
		   slurm_queued());
}

/* ---- what one round gives ---------------------------------------------- */

struct slurm_round {
	double start_all_ms;   /* the first ask to the last instance up */
	struct samples up;     /* ms from the common ask to each one up */
	struct samples echo;   /* ms of each serial echo */
	double stop_all_ms;
	/* emufs only: */
	struct proc_res base, full;   /* nothing running / all paused */
	double sweep_ms;       /* median `cat <each>/state` sweep, paused */
};

/* The kinds of round. */
enum { SLURM_RAW, SLURM_PLAIN, SLURM_TLS, SLURM_KINDS };
static const char *const slurm_kind_name[SLURM_KINDS] = {
	"raw srun", "emufs", "emufs TLS"
};

/* ---- emufs -------------------------------------------------------------- */

/* WORK/slurm/NAME.json: N instances of the firmware through srun; with
 * tls, settings.tls on credentials made in WORK/slurm/tls. */
static void slurm_config(char *cfg, size_t cap, bool tls)
{
	const struct bench_opt *o = &bench_opt;
	char tlsdir[PATH_MAX + 8], settings[PATH_MAX + 64] = "";
	if (tls) {
		snprintf(tlsdir, sizeof tlsdir, "%s/tls", slurm_dir);
		char *mk[] = { "sh", "tests/tls/make-certs.sh", tlsdir,
			       "127.0.0.1", NULL };
		if (access(tlsdir, F_OK) && proc_run_wait(mk))
			bench_fail("tests/tls/make-certs.sh %s failed", tlsdir);
		snprintf(settings, sizeof settings,
			 ", \"tls\": {\"dir\": \"%s\"}", tlsdir);
	}
	snprintf(cfg, cap, "%s/%s.json", slurm_dir, tls ? "tls" : "plain");
	FILE *f = fopen(cfg, "w");
	if (!f)
		bench_fail("%s: %s", cfg, strerror(errno));
	fprintf(f,
		"{\n \"targets\": {\n"
		"  \"fw\": {\"emulator\": \"qemu\",\n"
		"   \"launcher\": [\"srun\", \"--quiet\", \"--nodes=1\", "
		"\"--ntasks=1\", \"--\"],\n"
		"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","
		" \"kernel\": \"%s\", \"args\": [\"-nic\", \"none\"]},\n"
		"   \"serial\": {\"serial0\": 0}}\n },\n \"instances\": {",
		o->qemu, slurm_fw);
	for (int i = 0; i < o->scale; i++)
		fprintf(f, "%s\n  \"s%02d\": {\"target\": \"fw\"}",
			i ? "," : "", i);
	fprintf(f, "\n },\n \"settings\": {\"request_timeout_ms\": 30000%s}"
		"\n}\n", settings);
	fclose(f);
}

/* One `echo CMD > INST/ctl` of a batch that runs at once. */
struct slurm_op {
	char path[PATH_MAX + 16];
	const char *cmd;
	double done;           /* clk_now_us() when the write returned */
	int rc;                /* mnt_echo's */
};

static void *slurm_op_run(void *arg)
{
	struct slurm_op *op = arg;
	op->rc = mnt_echo(op->path, op->cmd);
	op->done = clk_now_us();
	return NULL;
}

/* `echo CMD > ctl` on every instance at once, one thread each. Each
 * one's time from the common start into per (if set); returns the time
 * until the last returned (ms). Any error fails the run. */
static double slurm_ctl_all(struct mnt *m, const char *cmd,
			    struct samples *per)
{
	int N = bench_opt.scale;
	struct slurm_op *ops = calloc(N, sizeof *ops);
	pthread_t *th = calloc(N, sizeof *th);
	if (!ops || !th)
		bench_fail("out of memory");
	double t0 = clk_now_us();
	for (int i = 0; i < N; i++) {
		snprintf(ops[i].path, sizeof ops[i].path, "%s/s%02d/ctl",
			 m->dir, i);
		ops[i].cmd = cmd;
		if (bench_thread_create(&th[i], slurm_op_run, &ops[i]))
			bench_fail("pthread_create: %s", strerror(errno));
	}
	double last = t0;
	int failed = -1;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (ops[i].rc && failed < 0)
			failed = i;
		if (ops[i].done > last)
			last = ops[i].done;
		if (per)
			samples_add(per, (ops[i].done - t0) / 1e3);
	}
	if (failed >= 0)
		bench_fail("echo %s > %s: %s (see its log)", cmd,
			   ops[failed].path, strerror(-ops[failed].rc));
	free(ops);
	free(th);
	return (last - t0) / 1e3;
}

/* Read path from its start until it holds needle, within timeout_ms. */
static void slurm_wait_text(const char *path, const char *needle,
			    int timeout_ms)
{
	char buf[1024];
	double end = clk_now_us() + timeout_ms * 1e3;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bench_fail("open %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, 0);
		if (n < 0)
			bench_fail("read %s: %s", path, strerror(errno));
		if (memmem(buf, n, needle, strlen(needle)))
			break;
		if (clk_now_us() > end)
			bench_fail("%s: no \"%s\" in %d ms", path, needle,
				   timeout_ms);
		struct pollfd p = { fd, POLLIN, 0 };
		poll(&p, 1, 20);
	}
	close(fd);
}

static void slurm_emufs_round(bool tls, struct slurm_round *r)
{
	int N = bench_opt.scale;
	char cfg[PATH_MAX + 32], path[PATH_MAX + 32];
	slurm_config(cfg, sizeof cfg, tls);
	struct mnt *m = mnt_start(cfg, tls ? "slurm-tls" : "slurm-plain");
	r->base = proc_resources(m->emufs);
	r->start_all_ms = slurm_ctl_all(m, "start", &r->up);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%s/s%02d/serial0", m->dir, i);
		slurm_wait_text(path, BENCH_BANNER, 10000);
	}
	/* One after the other: the echo's own time, not a queue's. */
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%s/s%02d/serial0", m->dir, i);
		double t0 = clk_now_us();
		int rc = mnt_echo(path, "hello\n");
		if (rc)
			bench_fail("echo hello > %s: %s", path, strerror(-rc));
		slurm_wait_text(path, "? hello\r\n", 5000);
		samples_add(&r->echo, (clk_now_us() - t0) / 1e3);
	}
	slurm_ctl_all(m, "pause", NULL);
	clk_sleep_ms(1500);    /* what the starts left queued settles */
	r->full = proc_resources(m->emufs);
	struct samples sw = { 0 };
	char state[64];
	for (int i = 0; i < bench_opt.sweeps; i++) {
		int files;
		samples_add(&sw, scale_sweep(m->dir, &files) / 1e3);
		if (files != N)
			bench_fail("%s: %d instances listed, not %d", m->dir,
				   files, N);
	}
	r->sweep_ms = samples_median(&sw);
	samples_free(&sw);
	snprintf(path, sizeof path, "%s/s%02d/state", m->dir, N - 1);
	if (mnt_cat(path, state, sizeof state) <= 0 ||
	    strncmp(state, "paused", 6))
		bench_fail("%s is not paused", path);
	r->stop_all_ms = slurm_ctl_all(m, "stop", NULL);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%s/s%02d/state", m->dir, i);
		if (mnt_cat(path, state, sizeof state) <= 0 ||
		    strncmp(state, "stopped", 7))
			bench_fail("%s after stop: %.20s", path, state);
	}
	slurm_must_drain(tls ? "emufs TLS stop" : "emufs stop");
	mnt_stop(m);
}

/* ---- the baseline: srun + QEMU by hand ---------------------------------- */

/* One QEMU of the raw round: its srun, the sockets it dials. */
struct slurm_raw {
	pid_t srun;
	int lq, ls;            /* listening: QMP, serial */
	int qfd, sfd;          /* its QMP and serial connections */
	double up;             /* clk_now_us() when cont was answered */
	const char *err;       /* why it did not come up, or NULL */
};

static void slurm_raw_spawn(struct slurm_raw *x, int i)
{
	const struct bench_opt *o = &bench_opt;
	char qs[PATH_MAX + 32], ss[PATH_MAX + 32], qarg[PATH_MAX + 64],
	     sarg[PATH_MAX + 64];
	snprintf(qs, sizeof qs, "%s/raw-q%02d.sock", slurm_dir, i);
	snprintf(ss, sizeof ss, "%s/raw-s%02d.sock", slurm_dir, i);
	x->lq = raw_listen(qs);
	x->ls = raw_listen(ss);
	snprintf(qarg, sizeof qarg, "socket,id=q,path=%s,server=off", qs);
	snprintf(sarg, sizeof sarg, "socket,id=s0,path=%s,server=off", ss);
	/* emufs's own QEMU line, -S and cont included: the launched
	 * instance's, less the TCP. */
	char *argv[] = { "srun", "--quiet", "--nodes=1", "--ntasks=1", "--",
			 (char *)o->qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", slurm_fw, "-chardev", qarg, "-mon",
			 "chardev=q,mode=control", "-chardev", sarg,
			 "-serial", "chardev:s0", NULL };
	x->srun = proc_spawn(argv, bench_logfd, SIGKILL);
	proc_track(x->srun);
	x->qfd = x->sfd = -1;
}

/* Read fd (blocking, its SO_RCVTIMEO) until what came holds n
 * `"return"`s in all: 0, or -1. */
static int slurm_qmp_returns(int fd, char *buf, size_t cap, size_t *got,
			     int n)
{
	for (;;) {
		int seen = 0;
		for (char *p = buf; (p = memmem(p, *got - (p - buf),
						"\"return\"", 8)); p += 8)
			seen++;
		if (seen >= n)
			return 0;
		if (*got == cap)
			return -1;
		ssize_t r = read(fd, buf + *got, cap - *got);
		if (r <= 0)
			return -1;
		*got += r;
	}
}

/* One QEMU's way up, in a thread of its own, so that a slow one holds up
 * no other (emufs's I/O loop serves all at once too): its QMP dial, the
 * greeting (not waited for: QEMU reads the command after it sends it), qmp_capabilities, cont, each with 30 s (64 QEMUs initialising
 * at once on 2 cores can take long; raw_qmp_open allows 5 s). No
 * bench_fail here: a failure is left in err for the main thread. */
static void *slurm_raw_up(void *arg)
{
	struct slurm_raw *x = arg;
	struct pollfd p = { x->lq, POLLIN, 0 };
	for (int s = 0; poll(&p, 1, 1000) != 1; s++) {
		/* Its srun ended (WNOWAIT: the main thread reaps it). */
		siginfo_t si = { 0 };
		if (!waitid(P_PID, x->srun, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == x->srun) {
			x->err = "its srun ended before QEMU dialled";
			return NULL;
		}
		if (s == 60) {
			x->err = "its QMP did not dial in 60 s";
			return NULL;
		}
	}
	x->qfd = accept4(x->lq, NULL, NULL, SOCK_CLOEXEC);
	if (x->qfd < 0) {
		x->err = "accept failed";
		return NULL;
	}
	struct timeval tv = { 30, 0 };
	setsockopt(x->qfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n",
			  cont[] = "{\"execute\":\"cont\"}\n";
	char buf[8192];
	size_t got = 0;
	if (write(x->qfd, caps, sizeof caps - 1) != sizeof caps - 1 ||
	    slurm_qmp_returns(x->qfd, buf, sizeof buf, &got, 1) ||
	    write(x->qfd, cont, sizeof cont - 1) != sizeof cont - 1 ||
	    slurm_qmp_returns(x->qfd, buf, sizeof buf, &got, 2)) {
		x->err = "no answer to qmp_capabilities or cont in 30 s";
		return NULL;
	}
	x->up = clk_now_us();
	return NULL;
}

static void slurm_raw_round(struct slurm_round *r)
{
	int N = bench_opt.scale;
	struct slurm_raw *x = calloc(N, sizeof *x);
	pthread_t *th = calloc(N, sizeof *th);
	if (!x || !th)
		bench_fail("out of memory");
	double t0 = clk_now_us(), last = t0;
	for (int i = 0; i < N; i++) {
		slurm_raw_spawn(&x[i], i);
		if (bench_thread_create(&th[i], slurm_raw_up, &x[i]))
			bench_fail("pthread_create: %s", strerror(errno));
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (x[i].err)
			bench_fail("raw srun %d: %s (see %s/bench.log)", i,
				   x[i].err, bench_opt.work);
		samples_add(&r->up, (x[i].up - t0) / 1e3);
		if (x[i].up > last)
			last = x[i].up;
	}
	r->start_all_ms = (last - t0) / 1e3;
	char buf[1024];
	for (int i = 0; i < N; i++) {
		x[i].sfd = raw_accept(x[i].ls, x[i].srun, 10000);
		if (raw_read_until(x[i].sfd, buf, sizeof buf, BENCH_BANNER,
				   10000) < 0)
			bench_fail("raw srun %d: no banner", i);
	}
	for (int i = 0; i < N; i++) {
		double t = clk_now_us();
		if (write(x[i].sfd, "hello\n", 6) != 6 ||
		    raw_read_until(x[i].sfd, buf, sizeof buf, "? hello\r\n",
				   5000) < 0)
			bench_fail("raw srun %d: no echo", i);
		samples_add(&r->echo, (clk_now_us() - t) / 1e3);
	}
	/* quit to all (QEMU answers, then exits), then every srun gone. */
	double ts = clk_now_us();
	static const char quit[] = "{\"execute\":\"quit\"}\n";
	for (int i = 0; i < N; i++)
		if (write(x[i].qfd, quit, sizeof quit - 1) != sizeof quit - 1)
			bench_fail("raw srun %d: quit: %s", i, strerror(errno));
	for (int i = 0; i < N; i++) {
		int st = proc_wait_for(x[i].srun, 30000);
		if (st < 0)
			bench_fail("raw srun %d did not end after quit", i);
		proc_untrack(x[i].srun);
	}
	r->stop_all_ms = (clk_now_us() - ts) / 1e3;
	for (int i = 0; i < N; i++) {
		close(x[i].qfd);
		close(x[i].sfd);
		close(x[i].lq);
		close(x[i].ls);
	}
	free(x);
	free(th);
	slurm_must_drain("raw quit");
}

/* ---- the section -------------------------------------------------------- */

static void slurm_report_kind(int k, struct slurm_round *r, int rounds,
			      struct proc_res empty, double raw_all_ms)
{
	int N = bench_opt.scale;
	struct samples all = { 0 }, stop = { 0 }, up = { 0 }, echo = { 0 };
	for (int i = 0; i < rounds; i++) {
		samples_add(&all, r[i].start_all_ms);
		samples_add(&stop, r[i].stop_all_ms);
		for (size_t j = 0; j < r[i].up.n; j++)
			samples_add(&up, r[i].up.v[j]);
		for (size_t j = 0; j < r[i].echo.n; j++)
			samples_add(&echo, r[i].echo.v[j]);
	}
	const char *kn = slurm_kind_name[k];
	char name[64];
	snprintf(name, sizeof name, "%s: start all %d (ms)", kn, N);
	stats_row(name, &all, 1, "ms");
	snprintf(name, sizeof name, "%s: each one up (ms)", kn);
	stats_row(name, &up, 1, "ms");
	snprintf(name, sizeof name, "%s: serial echo (ms)", kn);
	stats_row(name, &echo, 1, "ms");
	snprintf(name, sizeof name, "%s: stop all %d (ms)", kn, N);
	stats_row(name, &stop, 1, "ms");
	double all_ms = samples_median(&all);
	if (k != SLURM_RAW) {
		/* The last round's resources: they do not vary with load. */
		struct slurm_round *l = &r[rounds - 1];
		double rss = (l->full.rss_kb - l->base.rss_kb) / (double)N;
		double rss_e = (l->full.rss_kb - empty.rss_kb) / (double)N;
		double fds = (l->full.fds - l->base.fds) / (double)N;
		double fds_e = (l->full.fds - empty.fds) / (double)N;
		printf("  %-34s %9s %8s %6s\n", "", "RSS KiB", "threads",
		       "fds");
		printf("  %-34s %9ld %8ld %6ld\n", "  empty mount (no config)",
		       empty.rss_kb, empty.threads, empty.fds);
		printf("  %-34s %9ld %8ld %6ld\n", "  mounted, none running",
		       l->base.rss_kb, l->base.threads, l->base.fds);
		printf("  %-34s %9ld %8ld %6ld\n", "  all up, paused",
		       l->full.rss_kb, l->full.threads, l->full.fds);
		printf("  %-34s %9.1f KiB (%.1f KiB against the empty "
		       "mount)\n", "  RSS per instance", rss, rss_e);
		printf("  %-34s %9.2f (%.2f against the empty mount: a "
		       "configured instance holds some while stopped)\n",
		       "  fds per instance", fds, fds_e);
		printf("  %-34s %9.3f ms (%.1f us per file)\n",
		       "  `cat */state`, all paused", l->sweep_ms,
		       l->sweep_ms * 1e3 / N);
		snprintf(name, sizeof name, "%s: rss per instance (KiB)", kn);
		stats_value(name, rss, "KiB");
		snprintf(name, sizeof name, "%s: fds per instance", kn);
		stats_value(name, fds, "");
		snprintf(name, sizeof name, "%s: fds per instance vs empty",
			 kn);
		stats_value(name, fds_e, "");
		snprintf(name, sizeof name, "%s: threads, all paused", kn);
		stats_value(name, l->full.threads, "");
		snprintf(name, sizeof name, "%s: sweep (ms)", kn);
		stats_value(name, l->sweep_ms, "ms");
		double ratio = all_ms / raw_all_ms;
		snprintf(name, sizeof name, "%s: start all ratio", kn);
		stats_value(name, ratio, "x");
		printf("  %-34s %9.2fx (medians)\n", "  start all, /raw srun",
		       ratio);
		const char *tag = k == SLURM_TLS ? " TLS" : "";
		snprintf(name, sizeof name, "%d via srun%s: start all", N,
			 tag);
		bench_verdict(name, ratio <= 1.2, "<= 1.2x raw",
			      "%.2fx raw srun (%.1f vs %.1f s)", ratio,
			      all_ms / 1e3, raw_all_ms / 1e3);
		snprintf(name, sizeof name, "%d via srun%s: RSS/instance", N,
			 tag);
		bench_verdict(name, -1, "(none)", "%.1f KiB", rss);
		snprintf(name, sizeof name, "%d via srun%s: fds/instance", N,
			 tag);
		bench_verdict(name, -1, "(none)", "%.2f running (%.2f vs empty)",
			      fds, fds_e);
	}
	samples_free(&all);
	samples_free(&stop);
	samples_free(&up);
	samples_free(&echo);
}

void slurm_section(void)
{
	int N = bench_opt.scale, rounds = bench_opt.slurm_rounds;
	double load[1] = { 0 };
	getloadavg(load, 1);
	bench_section("slurm", "instances launched through srun of a one-node "
		      "cluster: start all, echo, pause, stop all");
	slurm_cluster_start();
	printf("  cluster up in %s (load %.2f); %d instances, %d round(s) "
	       "of raw srun, emufs, emufs TLS\n", slurm_dir, load[0], N,
	       rounds);
	fflush(stdout);

	struct mnt *e = mnt_start(NULL, "slurm-empty");
	struct proc_res empty = proc_resources(e->emufs);
	mnt_stop(e);

	struct slurm_round (*r)[SLURM_KINDS] = calloc(rounds, sizeof *r);
	if (!r)
		bench_fail("out of memory");
	for (int i = 0; i < rounds; i++)
		for (int j = 0; j < SLURM_KINDS; j++) {
			int k = (i + j) % SLURM_KINDS;
			if (k == SLURM_RAW)
				slurm_raw_round(&r[i][k]);
			else
				slurm_emufs_round(k == SLURM_TLS, &r[i][k]);
			printf("  round %d %-10s start all %7.1f ms, stop all "
			       "%7.1f ms\n", i, slurm_kind_name[k],
			       r[i][k].start_all_ms, r[i][k].stop_all_ms);
			fflush(stdout);
		}
	/* Kind by kind: the rows want each kind's rounds side by side. */
	struct slurm_round *by = calloc(rounds, sizeof *by);
	if (!by)
		bench_fail("out of memory");
	struct samples raw_all = { 0 };
	for (int i = 0; i < rounds; i++)
		samples_add(&raw_all, r[i][SLURM_RAW].start_all_ms);
	double raw_ms = samples_median(&raw_all);
	samples_free(&raw_all);
	for (int k = 0; k < SLURM_KINDS; k++) {
		for (int i = 0; i < rounds; i++)
			by[i] = r[i][k];
		slurm_report_kind(k, by, rounds, empty, raw_ms);
	}
	for (int i = 0; i < rounds; i++)
		for (int k = 0; k < SLURM_KINDS; k++) {
			samples_free(&r[i][k].up);
			samples_free(&r[i][k].echo);
		}
	free(by);
	free(r);
	slurm_cleanup();
}
