/* emufs-bench.c - `make bench`: emufs against the raw emulator, side by side.
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
 *   serial    1 MiB guest burst read through serial0   vs a socket chardev
 *   start     `echo start > ctl` to the banner          vs QEMU by hand
 *   scale     32 instances: `cat <each>/state`, RSS, threads, fds per instance
 *   logsize   fstat + tail read of serial0, small log vs after the bursts
 *
 * Every QEMU this program starts dies with it (PR_SET_PDEATHSIG) and every
 * mount is unmounted on the way out, also on SIGINT/SIGTERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BANNER "emufs-test-firmware ready\r\n"
#define MARKER "\r\nBURST DONE\r\n"

/* ---- options ---------------------------------------------------------- */

static struct {
	const char *emufs, *firmware, *qemu, *tsv, *only, *label;
	char *wrap;            /* command prefix for emufs (strace, valgrind) */
	char *attach;          /* profiler around each section, %p: emufs */
	char work[PATH_MAX];
	bool keep, strict;
	int iters;             /* property and pin pairs */
	int polls;             /* poll wake-up samples */
	int bursts;            /* serial rounds (3 bursts each) */
	long burst_bytes;
	int starts;            /* start samples per variant */
	int scale;             /* instances of the scale test */
	int sweeps;            /* `cat <each>/state` sweeps per point */
	int mount_timeout_ms;
} opt = {
	.qemu = "qemu-system-arm",
	.iters = 300,
	.polls = 100,
	.bursts = 4,
	.burst_bytes = 1048576,
	.starts = 10,
	.scale = 32,
	.sweeps = 30,
	.mount_timeout_ms = 10000,
};

static bool section_on(const char *name)
{
	if (!opt.only)
		return true;
	size_t l = strlen(name);
	for (const char *p = opt.only; (p = strstr(p, name)); p += l)
		if ((p == opt.only || p[-1] == ',') &&
		    (p[l] == '\0' || p[l] == ','))
			return true;
	return false;
}

/* ---- small things ----------------------------------------------------- */

static FILE *tsv;
static int hard_errors;

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void cleanup(void);

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "emufs-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup();
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double self_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A deterministic generator: runs differ by noise, not by their jitter. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double rnd01(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * (1.0 / 9007199254740992.0);
}

struct samples {
	double *v;
	size_t n, cap;
};

static void s_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			fail("out of memory");
	}
	s->v[s->n++] = x;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100), linear between ranks. */
static double s_pct(struct samples *s, double p)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_d);
	double r = p / 100 * (s->n - 1);
	size_t i = (size_t)r;
	if (i + 1 >= s->n)
		return s->v[s->n - 1];
	return s->v[i] + (r - i) * (s->v[i + 1] - s->v[i]);
}

static double s_med(struct samples *s)
{
	return s_pct(s, 50);
}

static void s_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* One row: median, p10..p90 spread, p99 and max; unit as given. */
static void row(const char *name, struct samples *s, double scale,
		const char *unit)
{
	printf("  %-34s %9.3f %s  p10-p90 %.3f-%.3f  p99 %.3f  max %.3f  "
	       "n=%zu\n", name, s_med(s) / scale, unit, s_pct(s, 10) / scale,
	       s_pct(s, 90) / scale, s_pct(s, 99) / scale,
	       s_pct(s, 100) / scale, s->n);
	if (tsv)
		fprintf(tsv, "%s\t%.6g\t%.6g\t%.6g\t%s\n", name,
			s_med(s) / scale, s_pct(s, 10) / scale,
			s_pct(s, 90) / scale, unit);
}

static void tsv_value(const char *name, double v, const char *unit)
{
	if (tsv)
		fprintf(tsv, "%s\t%.6g\t\t\t%s\n", name, v, unit);
}

/* ---- processes -------------------------------------------------------- */

#define MAX_CHILDREN 128
static pid_t children[MAX_CHILDREN];   /* raw QEMUs; 0 when reaped */

struct mount {
	char dir[PATH_MAX];
	pid_t pid;             /* emufs (or its wrapper) */
	pid_t emufs;           /* emufs itself */
	bool live;
};
static struct mount mounts[4];

static void track(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (!children[i]) {
			children[i] = pid;
			return;
		}
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* fork+exec argv; its stdout/stderr to logfd; dies with us. */
static pid_t spawn(char *const argv[], int logfd, int deathsig)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, deathsig);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static void kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	untrack(pid);
}

/* Wait up to ms for pid to end: its status, or -1 on timeout. */
static int wait_for(pid_t pid, int ms)
{
	double end = now_us() + ms * 1000.0;
	int st;
	do {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		sleep_ms(5);
	} while (now_us() < end);
	return -1;
}

static int run_wait(char *const argv[])
{
	pid_t pid = spawn(argv, -1, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int logfd = -1;   /* WORK/bench.log: emulators' and emufs's output */

/* --attach: a profiler (perf record/trace -p %p) around each section. */
static pid_t attached;

static void attach_start(pid_t pid)
{
	if (!opt.attach)
		return;
	char cmd[2048], *argv[64], *save = NULL;
	size_t o = 0;
	for (const char *p = opt.attach; *p && o < sizeof cmd - 16; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += snprintf(cmd + o, sizeof cmd - o, "%d", (int)pid);
			p++;
		} else {
			cmd[o++] = *p;
		}
	}
	cmd[o] = '\0';
	int n = 0;
	for (char *t = strtok_r(cmd, " ", &save); t && n < 63;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	if (!n)
		return;
	attached = spawn(argv, logfd, SIGINT);
	sleep_ms(1500);          /* perf needs a moment to attach */
}

static void attach_stop(void)
{
	if (!attached)
		return;
	kill(attached, SIGINT);
	if (wait_for(attached, 20000) < 0)
		kill_wait(attached);
	attached = 0;
}

/* ---- mounts ----------------------------------------------------------- */

static bool is_mounted(const char *dir)
{
	struct stat a, b;
	char parent[PATH_MAX + 4];
	snprintf(parent, sizeof parent, "%s/..", dir);
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 &&
	       a.st_dev != b.st_dev;
}

static struct mount *mount_emufs(const char *config, const char *name)
{
	struct mount *m = NULL;
	for (int i = 0; i < 4 && !m; i++)
		if (!mounts[i].live)
			m = &mounts[i];
	snprintf(m->dir, sizeof m->dir, "%s/%s", opt.work, name);
	char state[PATH_MAX + 16];
	snprintf(state, sizeof state, "%s/%s-state", opt.work, name);
	mkdir(m->dir, 0755);
	char *argv[32];
	int n = 0;
	char *wrap = opt.wrap ? strdup(opt.wrap) : NULL, *save = NULL;
	for (char *t = wrap ? strtok_r(wrap, " ", &save) : NULL; t && n < 20;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n++] = (char *)opt.emufs;
	argv[n++] = "-f";
	if (config) {
		argv[n++] = "-c";
		argv[n++] = (char *)config;
	}
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = m->dir;
	argv[n] = NULL;
	/* SIGTERM: a foreground emufs then unmounts and stops its QEMUs. */
	m->pid = spawn(argv, logfd, SIGTERM);
	free(wrap);
	double end = now_us() + opt.mount_timeout_ms * 1000.0;
	while (!is_mounted(m->dir)) {
		int st;
		if (waitpid(m->pid, &st, WNOHANG) == m->pid)
			fail("emufs exited before mounting %s (see %s/bench.log)",
			     m->dir, opt.work);
		if (now_us() > end)
			fail("%s not mounted after %d ms", m->dir,
			     opt.mount_timeout_ms);
		sleep_ms(5);
	}
	m->live = true;
	m->emufs = m->pid;
	if (opt.wrap) {
		/* strace/perf fork emufs; valgrind runs it in place. */
		char path[64], line[512];
		for (int tries = 0; tries < 100 && m->emufs == m->pid;
		     tries++) {
			DIR *d = opendir("/proc");
			struct dirent *e;
			while (d && (e = readdir(d))) {
				int pid = atoi(e->d_name);
				if (pid <= 0)
					continue;
				snprintf(path, sizeof path, "/proc/%d/stat",
					 pid);
				FILE *f = fopen(path, "r");
				if (!f)
					continue;
				int ppid = 0;
				char *p = fgets(line, sizeof line, f)
					  ? strrchr(line, ')') : NULL;
				if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
				    ppid == m->pid && strstr(line, "(emufs)"))
					m->emufs = pid;
				fclose(f);
			}
			if (d)
				closedir(d);
			if (m->emufs == m->pid)
				sleep_ms(10);
		}
	}
	return m;
}

/* fusermount3 -u, then emufs must exit 0. Returns the time it took. */
static double unmount_emufs(struct mount *m)
{
	if (!m->live)
		return 0;
	double t0 = now_us();
	char *argv[] = { "fusermount3", "-u", m->dir, NULL };
	if (run_wait(argv))
		fprintf(stderr, "emufs-bench: fusermount3 -u %s failed\n",
			m->dir);
	int st = wait_for(m->pid, 30000);
	if (st < 0) {
		fprintf(stderr, "emufs-bench: emufs on %s did not exit; "
			"killing it\n", m->dir);
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		hard_errors++;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "emufs-bench: emufs on %s ended with status "
			"%d\n", m->dir, st);
		hard_errors++;
	}
	m->live = false;
	return now_us() - t0;
}

static void cleanup(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i])
			kill_wait(children[i]);
	for (int i = 0; i < 4; i++)
		if (mounts[i].live)
			unmount_emufs(&mounts[i]);
}

static void on_signal(int sig)
{
	/* Async-signal-safe: the QEMUs die, each emufs unmounts and stops
	 * its own emulators on SIGTERM. */
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i])
			kill(children[i], SIGKILL);
	for (int i = 0; i < 4; i++)
		if (mounts[i].live)
			kill(mounts[i].pid, SIGTERM);
	_exit(128 + sig);
}

/* ---- /proc ------------------------------------------------------------ */

static long proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t l = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, l) && line[l] == ':')
			v = strtol(line + l + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long proc_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	long n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return d ? n : -1;
}

/* What emufs spent: on-CPU time of all its threads (schedstat, ns), and
 * the read()/write()-family syscalls of /proc/PID/io (send/recv are not
 * counted there; reaped children are, so not across an emulator's exit). */
struct cost {
	double cpu_us;
	long syscr, syscw;
};

static struct cost cost_now(pid_t pid)
{
	struct cost c = { 0 };
	char path[PATH_MAX], line[256];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat",
			 (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		unsigned long long ns = 0;
		if (f && fscanf(f, "%llu", &ns) == 1)
			c.cpu_us += ns / 1e3;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "syscr:", 6))
			c.syscr = atol(line + 6);
		if (!strncmp(line, "syscw:", 6))
			c.syscw = atol(line + 6);
	}
	if (f)
		fclose(f);
	return c;
}

/* emufs's cost per operation between two readings. */
static void cost_row(const char *name, struct cost a, struct cost b,
		     double ops, const char *per)
{
	printf("  %-34s %9.1f us CPU, %.1f read + %.1f write syscalls "
	       "per %s\n", name, (b.cpu_us - a.cpu_us) / ops,
	       (b.syscr - a.syscr) / ops, (b.syscw - a.syscw) / ops, per);
	if (tsv) {
		fprintf(tsv, "%s cpu per %s (us)\t%.6g\t\t\tus\n", name, per,
			(b.cpu_us - a.cpu_us) / ops);
		fprintf(tsv, "%s syscalls per %s\t%.6g\t\t\t\n", name, per,
			(b.syscr - a.syscr + b.syscw - a.syscw) / ops);
	}
}

struct res {
	long rss_kb, threads, fds;
};

static struct res resources(pid_t pid)
{
	return (struct res){ proc_status(pid, "VmRSS"),
			     proc_status(pid, "Threads"), proc_fds(pid) };
}

/* ---- sockets and a raw QMP client -------------------------------------- */

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Connect, retrying while QEMU has not created the socket yet. */
static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, path))
		fail("socket path too long: %s", path);
	double end = now_us() + timeout_ms * 1000.0;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		close(fd);
		if (now_us() > end)
			fail("connect %s: %s", path, strerror(errno));
		sleep_ms(2);
	}
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, path))
		fail("socket path too long: %s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 4) < 0)
		fail("listen %s: %s", path, strerror(errno));
	return fd;
}

static int accept_from(int lfd, pid_t child, int timeout_ms)
{
	double end = now_us() + timeout_ms * 1000.0;
	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		if (poll(&p, 1, 20) > 0) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
		if (waitpid(child, NULL, WNOHANG) == child) {
			untrack(child);
			fail("QEMU exited before it connected (see "
			     "%s/bench.log)", opt.work);
		}
		if (now_us() > end)
			fail("QEMU did not connect in %d ms", timeout_ms);
	}
}

/* Read until the buffer holds needle; returns bytes read, or -1. */
static long read_calls;        /* read() calls of read_until(), in total */
static ssize_t read_until(int fd, char *buf, size_t cap, const char *needle,
			  int timeout_ms)
{
	size_t got = 0, nl = strlen(needle);
	/* A plain blocking read, the cheapest reader there is; the timeout
	 * rides on the socket rather than on a poll() per read. */
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		read_calls++;
		if (n <= 0)
			return -1;
		size_t from = got > nl ? got - nl : 0;
		got += n;
		if (memmem(buf + from, got - from, needle, nl))
			return got;
	}
	return -1;
}

struct rq {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* The next line (without CRLF) into out. */
static int rq_line(struct rq *q, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		if (nl) {
			size_t l = nl - q->buf;
			size_t c = l && q->buf[l - 1] == '\r' ? l - 1 : l;
			if (c >= cap)
				c = cap - 1;
			memcpy(out, q->buf, c);
			out[c] = '\0';
			memmove(q->buf, nl + 1, q->len - l - 1);
			q->len -= l + 1;
			return 0;
		}
		if (q->len == sizeof q->buf)
			return -1;
		/* Blocking, with the socket's timeout (rq_open). */
		ssize_t n = read(q->fd, q->buf + q->len,
				 sizeof q->buf - q->len);
		if (n <= 0)
			return -1;
		q->len += n;
	}
}

/* One command (a JSON object without newline); its reply line, skipping
 * events. A minimal client: no ids, replies come in order. */
static int rq_cmd(struct rq *q, const char *cmd, char *reply, size_t cap)
{
	size_t l = strlen(cmd);
	char line[1024];
	if (l + 1 >= sizeof line)
		return -1;
	memcpy(line, cmd, l);
	line[l++] = '\n';
	if (write(q->fd, line, l) != (ssize_t)l)
		return -1;
	for (;;) {
		if (rq_line(q, reply, cap))
			return -1;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8))
			return 1;
	}
}

static void rq_open(struct rq *q, int fd)
{
	char line[4096];
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	q->fd = fd;
	q->len = 0;
	if (rq_line(q, line, sizeof line) || !strstr(line, "\"QMP\""))
		fail("no QMP greeting");
	if (rq_cmd(q, "{\"execute\":\"qmp_capabilities\"}", line,
		   sizeof line))
		fail("qmp_capabilities failed: %s", line);
}

static void rq_must(struct rq *q, const char *cmd)
{
	char line[4096];
	if (rq_cmd(q, cmd, line, sizeof line))
		fail("QMP %s: %s", cmd, line);
}

/* ---- the file-system side --------------------------------------------- */

/* cat: open, read until EOF, close. Bytes read, or -errno. */
static ssize_t fs_cat(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += n;
		if (got == cap)
			break;
	}
	close(fd);
	return got;
}

/* echo TEXT > path */
static int fs_echo(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	size_t l = strlen(text);
	int rc = write(fd, text, l) == (ssize_t)l ? 0 : -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

static void fs_must(const char *path, const char *text)
{
	int rc = fs_echo(path, text);
	/* pause/resume of what is already paused/running: EBUSY, fine. */
	if (rc == -EBUSY && (!strcmp(text, "pause") || !strcmp(text, "resume")))
		rc = 0;
	if (rc)
		fail("echo %s > %s: %s", text, path, strerror(-rc));
}

/* ---- the burst pattern ------------------------------------------------ */

static char pattern_at(size_t o)
{
	static const char tail[] =
		" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n";
	size_t k = o / 64, c = o % 64;
	if (c < 8) {
		for (size_t i = 7; i > c; i--)
			k /= 10;
		return '0' + k % 10;
	}
	return tail[c - 8];
}

/* data must be exactly: echo, n pattern bytes, MARKER. Returns the first
 * wrong offset, or -1 when every byte is right. */
static long check_burst(const char *data, size_t len, const char *echo,
			size_t n)
{
	size_t el = strlen(echo), ml = strlen(MARKER);
	if (len < el || memcmp(data, echo, el))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (el + i >= len || data[el + i] != pattern_at(i))
			return el + i;
	if (len != el + n + ml || memcmp(data + el + n, MARKER, ml))
		return el + n;
	return -1;
}

/* ---- configuration ---------------------------------------------------- */

static char main_cfg[PATH_MAX], scale_cfg[PATH_MAX];
static char raw_b0[PATH_MAX];

static void write_configs(void)
{
	snprintf(raw_b0, sizeof raw_b0, "%s/raw-b0.sock", opt.work);
	snprintf(main_cfg, sizeof main_cfg, "%s/main.json", opt.work);
	FILE *f = fopen(main_cfg, "w");
	if (!f)
		fail("%s: %s", main_cfg, strerror(errno));
	/* fwq: the test firmware plus a second QMP monitor, the baseline's
	 * way into the very QEMU emufs drives. */
	fprintf(f,
		"{\n \"targets\": {\n"
		"  \"fwq\": {\"emulator\": \"qemu\",\n"
		"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","
		" \"kernel\": \"%s\",\n"
		"    \"args\": [\"-nic\", \"none\", \"-qmp\", "
		"\"unix:%s,server=on,wait=off\"]},\n"
		"   \"serial\": {\"serial0\": 0},\n"
		"   \"gpio\": {\"button\": {\"qom\": \"/machine/soc/gpio\", "
		"\"property\": \"gpioA0\", \"direction\": \"in\"},\n"
		"            \"led\": {\"qom\": \"/machine/soc/gpio\", "
		"\"property\": \"gpioA1\", \"direction\": \"out\"}}},\n"
		"  \"fw\": {\"emulator\": \"qemu\",\n"
		"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","
		" \"kernel\": \"%s\", \"args\": [\"-nic\", \"none\"]},\n"
		"   \"serial\": {\"serial0\": 0}}\n },\n"
		" \"instances\": {\"b0\": {\"target\": \"fwq\"}, "
		"\"b1\": {\"target\": \"fw\"}},\n"
		" \"settings\": {\"request_timeout_ms\": 10000}\n}\n",
		opt.qemu, opt.firmware, raw_b0, opt.qemu, opt.firmware);
	fclose(f);

	snprintf(scale_cfg, sizeof scale_cfg, "%s/scale.json", opt.work);
	f = fopen(scale_cfg, "w");
	if (!f)
		fail("%s: %s", scale_cfg, strerror(errno));
	fprintf(f,
		"{\n \"targets\": {\n"
		"  \"fw\": {\"emulator\": \"qemu\",\n"
		"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","
		" \"kernel\": \"%s\", \"args\": [\"-nic\", \"none\"]},\n"
		"   \"serial\": {\"serial0\": 0}}\n },\n \"instances\": {",
		opt.qemu, opt.firmware);
	for (int i = 0; i < opt.scale; i++)
		fprintf(f, "%s\n  \"s%02d\": {\"target\": \"fw\"}",
			i ? "," : "", i);
	fprintf(f, "\n },\n \"settings\": {\"request_timeout_ms\": 20000}\n}\n");
	fclose(f);
}

/* ---- results ---------------------------------------------------------- */

struct verdict {
	char what[64], figure[96], target[32];
	int pass;              /* 1 PASS, 0 MISS, -1 not measured */
};
static struct verdict verdicts[16];
static int nverdicts;

static void verdict(const char *what, int pass, const char *target,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void verdict(const char *what, int pass, const char *target,
		    const char *fmt, ...)
{
	struct verdict *v = &verdicts[nverdicts++];
	va_list ap;
	snprintf(v->what, sizeof v->what, "%s", what);
	snprintf(v->target, sizeof v->target, "%s", target);
	va_start(ap, fmt);
	vsnprintf(v->figure, sizeof v->figure, fmt, ap);
	va_end(ap);
	v->pass = pass;
}

static void section(const char *name, const char *what)
{
	printf("\n== %s: %s\n", name, what);
	fflush(stdout);
}

/* ---- property and pin reads ------------------------------------------- */

struct mainctx {
	struct mount *m;
	struct rq raw;         /* second monitor of b0's QEMU */
	char b0[PATH_MAX + 8];
	pid_t pid;
};

/* emufs's file against raw qom-get, ABBA. Returns the ratio of medians. */
static double read_pair(struct mainctx *c, const char *label,
			const char *file, const char *qom, const char *prop)
{
	char path[PATH_MAX + 256], cmd[512], reply[4096], buf[4096];
	snprintf(path, sizeof path, "%s/%s", c->b0, file);
	snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-get\",\"arguments\":"
		 "{\"path\":\"%s\",\"property\":\"%s\"}}", qom, prop);
	struct samples fs = { 0 }, raw = { 0 };
	int warm = opt.iters / 10 + 5;

	struct cost c0 = { 0 }, c1;
	for (int i = 0; i < warm + opt.iters; i++) {
		if (i == warm)
			c0 = cost_now(c->pid);
		for (int k = 0; k < 2; k++) {
			bool fs_turn = (k == 0) == (i % 2 == 0);
			double t0 = now_us();
			if (fs_turn) {
				ssize_t n = fs_cat(path, buf, sizeof buf - 1);
				double t1 = now_us();
				if (n <= 0)
					fail("cat %s: %s", path,
					     n ? strerror(-n) : "empty");
				if (i >= warm)
					s_add(&fs, t1 - t0);
				buf[n] = '\0';
			} else {
				int rc = rq_cmd(&c->raw, cmd, reply,
						sizeof reply);
				double t1 = now_us();
				if (rc)
					fail("raw %s: %s", cmd, reply);
				if (i >= warm)
					s_add(&raw, t1 - t0);
			}
		}
		if (i == 0) {
			/* Both sides read the same value. */
			char *v = strchr(reply, ':');
			buf[strcspn(buf, "\n")] = '\0';
			const char *want = !strcmp(buf, "0") ? "false"
					   : !strcmp(buf, "1") ? "true" : buf;
			if (!v || !strstr(v, want))
				fail("%s: emufs says \"%s\", QEMU says %s",
				     path, buf, reply);
		}
	}
	c1 = cost_now(c->pid);
	char name[96];
	snprintf(name, sizeof name, "%s emufs (us)", label);
	row(name, &fs, 1, "us");
	snprintf(name, sizeof name, "%s raw (us)", label);
	row(name, &raw, 1, "us");
	snprintf(name, sizeof name, "%s emufs cost", label);
	cost_row(name, c0, c1, opt.iters, "read");
	double ratio = s_med(&fs) / s_med(&raw);
	printf("  %-34s %9.2fx\n", "ratio emufs/raw (medians)", ratio);
	snprintf(name, sizeof name, "%s ratio", label);
	tsv_value(name, ratio, "x");
	s_free(&fs);
	s_free(&raw);
	return ratio;
}

/* `ls -l` of a props directory (readdir + lstat of every entry) against
 * one raw qom-list of the object: what listing a big object costs. */
static void list_pair(struct mainctx *c, const char *dir, const char *qom)
{
	char path[PATH_MAX + 256], cmd[512];
	static char reply[1 << 16];
	snprintf(path, sizeof path, "%s/%s", c->b0, dir);
	snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-list\",\"arguments\":"
		 "{\"path\":\"%s\"}}", qom);
	struct samples fs = { 0 }, raw = { 0 };
	int entries = 0, iters = 20;
	for (int i = 0; i < iters + 2; i++) {
		for (int k = 0; k < 2; k++) {
			double t0 = now_us();
			if ((k == 0) == (i % 2 == 0)) {
				DIR *d = opendir(path);
				if (!d)
					fail("opendir %s: %s", path,
					     strerror(errno));
				struct dirent *e;
				struct stat st;
				entries = 0;
				while ((e = readdir(d))) {
					if (e->d_name[0] == '.')
						continue;
					if (fstatat(dirfd(d), e->d_name, &st,
						    AT_SYMLINK_NOFOLLOW) < 0)
						fail("stat %s/%s: %s", path,
						     e->d_name,
						     strerror(errno));
					entries++;
				}
				closedir(d);
				if (i >= 2)
					s_add(&fs, now_us() - t0);
			} else {
				if (rq_cmd(&c->raw, cmd, reply, sizeof reply))
					fail("raw %s: %s", cmd, reply);
				if (i >= 2)
					s_add(&raw, now_us() - t0);
			}
		}
	}
	char name[96];
	snprintf(name, sizeof name, "ls -l %s (%d) emufs (ms)", dir + 6,
		 entries);
	row(name, &fs, 1000, "ms");
	snprintf(name, sizeof name, "ls -l %s raw qom-list (ms)", dir + 6);
	row(name, &raw, 1000, "ms");
	printf("  %-34s %9.1fx\n", "ratio emufs/raw (medians)",
	       s_med(&fs) / s_med(&raw));
	s_free(&fs);
	s_free(&raw);
}

static void bench_props(struct mainctx *c)
{
	section("property", "open+read-to-EOF+close of a props file vs raw "
		"qom-get on a second monitor of the same QEMU");
	double small = read_pair(c, "prop scu/silicon-rev",
				 "props/machine/soc/scu/silicon-rev",
				 "/machine/soc/scu", "silicon-rev");
	double large = read_pair(c, "prop gpio/gpioA1",
				 "props/machine/soc/gpio/gpioA1",
				 "/machine/soc/gpio", "gpioA1");
	verdict("property read (10-entry dir)", small <= 1.3, "<= 1.3x",
		"%.2fx raw", small);
	verdict("property read (463-entry dir)", large <= 1.3, "<= 1.3x",
		"%.2fx raw", large);
}

static void bench_list(struct mainctx *c)
{
	section("list", "`ls -l` of a props directory (readdir + lstat of "
		"each entry) vs one raw qom-list");
	list_pair(c, "props/machine/soc/scu", "/machine/soc/scu");
	list_pair(c, "props/machine/soc/gpio", "/machine/soc/gpio");
}

static void bench_pins(struct mainctx *c)
{
	section("pin", "open+read-to-EOF+close of gpio/led vs raw qom-get");
	double r = read_pair(c, "pin gpio/led", "gpio/led",
			     "/machine/soc/gpio", "gpioA1");
	verdict("pin read", -1, "(none)", "%.2fx raw", r);
}

/* A raw qom-set of A0 (the firmware mirrors it to A1 = gpio/led) and the
 * time until poll() on the open led file reports POLLPRI. */
static void bench_poll(struct mainctx *c)
{
	section("poll", "poll() on gpio/led: wake-up after a raw qom-set of "
		"gpioA0 (mirrored to A1 by the firmware)");
	char path[PATH_MAX + 16], reply[4096], cmd[256], buf[16];
	snprintf(path, sizeof path, "%s/gpio/led", c->b0);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	if (pread(fd, buf, sizeof buf, 0) < 0)
		fail("read %s: %s", path, strerror(errno));
	struct samples lat = { 0 };
	int level = buf[0] == '1', missed = 0;
	for (int i = 0; i < opt.polls + 3; i++) {
		/* A random phase against emufs's pin watcher period. */
		sleep_ms(rnd01() * 25);
		level = !level;
		snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-set\","
			 "\"arguments\":{\"path\":\"/machine/soc/gpio\","
			 "\"property\":\"gpioA0\",\"value\":%s}}",
			 level ? "true" : "false");
		double t0 = now_us();
		if (rq_cmd(&c->raw, cmd, reply, sizeof reply))
			fail("raw qom-set: %s", reply);
		struct pollfd p = { fd, POLLPRI | POLLERR, 0 };
		int n = poll(&p, 1, 1000);
		double t1 = now_us();
		ssize_t r = pread(fd, buf, sizeof buf, 0);
		if (n != 1 || !(p.revents & POLLPRI) || r != 2 ||
		    buf[0] != '0' + level) {
			missed++;
			continue;
		}
		if (i >= 3)
			s_add(&lat, t1 - t0);
	}
	close(fd);
	row("poll wake-up (ms)", &lat, 1000, "ms");
	if (missed)
		printf("  %d of %d changes not reported within 1 s\n", missed,
		       opt.polls + 3);
	double p95 = s_pct(&lat, 95) / 1000;
	printf("  %-34s %9.3f ms\n", "p95", p95);
	tsv_value("poll wake-up p95 (ms)", p95, "ms");
	verdict("poll wake-up, p95", !missed && p95 <= 20, "<= 20 ms",
		"%.1f ms (median %.1f)", p95, s_med(&lat) / 1000);
	s_free(&lat);
}

/* ---- log size: fstat + read of the last 4 KiB of serial0 --------------- */

static double tail_read(struct mainctx *c, const char *label, off_t *sizep)
{
	char path[PATH_MAX + 16], buf[4096], name[96];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	struct samples s = { 0 };
	struct stat st = { 0 };
	for (int i = 0; i < 220; i++) {
		double t0 = now_us();
		if (fstat(fd, &st) < 0)
			fail("fstat %s: %s", path, strerror(errno));
		off_t off = st.st_size > 4096 ? st.st_size - 4096 : 0;
		ssize_t n = pread(fd, buf, sizeof buf, off);
		double t1 = now_us();
		if (n < 0)
			fail("read %s: %s", path, strerror(errno));
		if (i >= 20)
			s_add(&s, t1 - t0);
	}
	close(fd);
	snprintf(name, sizeof name, "tail read, %s log (us)", label);
	row(name, &s, 1, "us");
	*sizep = st.st_size;
	double med = s_med(&s);
	s_free(&s);
	return med;
}

/* ---- serial ----------------------------------------------------------- */

struct rawser {
	pid_t pid;
	int sfd;
	struct rq q;
};

static void rawser_launch(struct rawser *r)
{
	char qmp[PATH_MAX + 32], ser[PATH_MAX + 32], qarg[PATH_MAX + 64],
	     carg[PATH_MAX + 64];
	snprintf(qmp, sizeof qmp, "%s/rawser-qmp.sock", opt.work);
	snprintf(ser, sizeof ser, "%s/rawser.sock", opt.work);
	unlink(qmp);
	unlink(ser);
	snprintf(qarg, sizeof qarg, "unix:%s,server=on,wait=off", qmp);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=on,wait=off",
		 ser);
	char *argv[] = { (char *)opt.qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", (char *)opt.firmware, "-qmp", qarg,
			 "-chardev", carg, "-serial", "chardev:s0", NULL };
	r->pid = spawn(argv, logfd, SIGKILL);
	track(r->pid);
	rq_open(&r->q, connect_unix(qmp, 10000));
	r->sfd = connect_unix(ser, 10000);
	rq_must(&r->q, "{\"execute\":\"cont\"}");
	char buf[256];
	if (read_until(r->sfd, buf, sizeof buf, BANNER, 5000) < 0)
		fail("raw serial QEMU: no banner");
}

static char *burst_buf;

/* One burst straight from the socket: seconds, and whether it was intact. */
static double rawser_burst(struct rawser *r, long n, bool *ok)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	size_t cap = n + 4096;
	double t0 = now_us();
	if (write(r->sfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		fail("raw serial write: %s", strerror(errno));
	ssize_t got = read_until(r->sfd, burst_buf, cap, MARKER, 60000);
	double t1 = now_us();
	if (got < 0)
		fail("raw serial: no BURST DONE within 60 s");
	long bad = check_burst(burst_buf, got, cmd, n);
	if (bad >= 0)
		fprintf(stderr, "emufs-bench: raw burst wrong at offset %ld\n",
			bad);
	*ok = bad < 0;
	return (t1 - t0) / 1e6;
}

/* One burst through serial0: from the write of the command until the
 * file holds the marker. The reader either follows eagerly (poll POLLIN,
 * then pread what grew) or the way `tail -f` does, looking at st_size
 * every TAIL_MS (coreutils' tail does it every second). */
#define TAIL_MS 10
static double fs_burst(struct mainctx *c, long n, bool *ok, bool eager)
{
	char path[PATH_MAX + 16], cmd[64];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	int rfd = open(path, O_RDONLY), wfd = open(path, O_WRONLY);
	if (rfd < 0 || wfd < 0)
		fail("open %s: %s", path, strerror(errno));
	struct stat st;
	fstat(rfd, &st);
	off_t base = st.st_size;
	size_t cap = n + 4096, got = 0, ml = strlen(MARKER);
	double t0 = now_us();
	if (write(wfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		fail("write %s: %s", path, strerror(errno));
	double end = t0 + 60e6;
	for (;;) {
		ssize_t r = pread(rfd, burst_buf + got, cap - got, base + got);
		if (r < 0)
			fail("read %s: %s", path, strerror(errno));
		if (r > 0) {
			size_t from = got > ml ? got - ml : 0;
			got += r;
			if (memmem(burst_buf + from, got - from, MARKER, ml))
				break;
			if (got == cap)
				fail("%s: no marker in %zu bytes", path, got);
			continue;
		}
		if (now_us() > end)
			fail("%s: no BURST DONE within 60 s", path);
		if (eager) {
			struct pollfd p = { rfd, POLLIN, 0 };
			if (poll(&p, 1, 1000) < 0)
				fail("poll %s: %s", path, strerror(errno));
			continue;
		}
		do {
			sleep_ms(TAIL_MS);
			if (fstat(rfd, &st) < 0)
				fail("fstat %s: %s", path, strerror(errno));
		} while (st.st_size <= base + (off_t)got && now_us() < end);
	}
	double t1 = now_us();
	close(rfd);
	close(wfd);
	long bad = check_burst(burst_buf, got, cmd, n);
	if (bad >= 0)
		fprintf(stderr, "emufs-bench: emufs burst wrong at offset "
			"%ld\n", bad);
	*ok = bad < 0;
	return (t1 - t0) / 1e6;
}

static void bench_serial(struct mainctx *c)
{
	section("serial", "guest `burst N` through serial0 vs read straight "
		"from a socket chardev of a QEMU launched by hand");
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	struct rawser r;
	rawser_launch(&r);
	burst_buf = malloc(opt.burst_bytes + 4096);
	if (!burst_buf)
		fail("out of memory");
	struct samples fs = { 0 }, fst = { 0 }, raw = { 0 };
	struct cost cfs = { 0 }, cfst = { 0 };
	struct samples pair = { 0 }, pair_st = { 0 };
	double self[3] = { 0 };   /* this program's CPU: poll, st_size, raw */
	long raw_reads = 0;
	bool all_ok = true, ok;
	/* Only the side being measured runs: the other QEMU is paused, so
	 * each side has the same cores to itself. The order rotates. */
	for (int i = 0; i < opt.bursts + 1; i++) {
		long n = i == 0 ? 65536 : opt.burst_bytes;
		double t_round[3] = { 0 };
		for (int k = 0; k < 3; k++) {
			int turn = (i + k) % 3;
			double self0 = self_cpu_us();
			if (turn < 2) {
				bool eager = turn == 0;
				rq_must(&r.q, "{\"execute\":\"stop\"}");
				fs_must(ctl, "resume");
				struct cost a = cost_now(c->pid);
				double t = fs_burst(c, n, &ok, eager);
				struct cost b = cost_now(c->pid);
				struct cost *cc = eager ? &cfs : &cfst;
				t_round[turn] = t;
				if (i) {
					s_add(eager ? &fs : &fst, t);
					cc->cpu_us += b.cpu_us - a.cpu_us;
					cc->syscr += b.syscr - a.syscr;
					cc->syscw += b.syscw - a.syscw;
				}
			} else {
				fs_must(ctl, "pause");
				rq_must(&r.q, "{\"execute\":\"cont\"}");
				long rc0 = read_calls;
				double t = rawser_burst(&r, n, &ok);
				t_round[turn] = t;
				if (i) {
					s_add(&raw, t);
					raw_reads += read_calls - rc0;
				}
			}
			if (i)
				self[turn] += self_cpu_us() - self0;
			all_ok &= ok;
		}
		if (i) {   /* the three bursts of a round ran seconds apart */
			s_add(&pair, t_round[2] / t_round[0]);
			s_add(&pair_st, t_round[2] / t_round[1]);
		}
	}
	kill_wait(r.pid);
	close(r.sfd);
	close(r.q.fd);
	fs_must(ctl, "resume");
	double mib = opt.burst_bytes / 1048576.0;
	row("burst via emufs, poll() reader (s)", &fs, 1, "s");
	row("burst via emufs, st_size reader (s)", &fst, 1, "s");
	row("burst raw socket (s)", &raw, 1, "s");
	double ratio = s_med(&raw) / s_med(&fs);
	double ratio_st = s_med(&raw) / s_med(&fst);
	printf("  %-34s %9.1f KiB/s raw, emufs %.1f (poll) %.1f (st_size)\n",
	       "throughput", mib * 1024 / s_med(&raw),
	       mib * 1024 / s_med(&fs), mib * 1024 / s_med(&fst));
	printf("  %-34s %9.2fx  (st_size reader %.2fx)  bytes %s\n",
	       "throughput emufs/raw", ratio, ratio_st,
	       all_ok ? "intact" : "CORRUPTED");
	cost_row("burst emufs cost, poll() reader", (struct cost){ 0 }, cfs,
		 opt.bursts * opt.burst_bytes / 1024.0, "KiB");
	cost_row("burst emufs cost, st_size reader", (struct cost){ 0 }, cfst,
		 opt.bursts * opt.burst_bytes / 1024.0, "KiB");
	double kib = opt.bursts * opt.burst_bytes / 1024.0;
	printf("  %-34s %9.1f read() calls per KiB\n", "raw reader, for scale",
	       raw_reads / kib);
	printf("  %-34s %9.1f us CPU per KiB raw; emufs+reader %.1f (poll) "
	       "%.1f (st_size)\n", "CPU outside QEMU", self[2] / kib,
	       (cfs.cpu_us + self[0]) / kib, (cfst.cpu_us + self[1]) / kib);
	printf("  %-34s %9.2fx  (st_size reader %.2fx)  p10-p90 %.2f-%.2f\n",
	       "per-round ratios, median", s_med(&pair), s_med(&pair_st),
	       s_pct(&pair, 10), s_pct(&pair, 90));
	tsv_value("serial cpu outside qemu raw (us/KiB)", self[2] / kib, "us");
	tsv_value("serial cpu outside qemu emufs poll (us/KiB)",
		  (cfs.cpu_us + self[0]) / kib, "us");
	tsv_value("serial cpu outside qemu emufs st_size (us/KiB)",
		  (cfst.cpu_us + self[1]) / kib, "us");
	tsv_value("serial pair ratio", s_med(&pair), "x");
	tsv_value("serial pair ratio st_size reader", s_med(&pair_st), "x");
	tsv_value("serial throughput ratio", ratio, "x");
	tsv_value("serial throughput ratio st_size reader", ratio_st, "x");
	/* Judged on the per-round ratios: a round's bursts run seconds
	 * apart, the rounds a minute apart, and the load moves between. */
	double pr = s_med(&pair), pr_st = s_med(&pair_st);
	verdict("serial 1 MiB burst, poll() reader", pr >= 0.95 && all_ok,
		">= 0.95x", "%.2fx raw, bytes %s", pr,
		all_ok ? "intact" : "CORRUPT");
	verdict("serial 1 MiB burst, st_size reader", pr_st >= 0.95 && all_ok,
		">= 0.95x", "%.2fx raw, bytes %s", pr_st,
		all_ok ? "intact" : "CORRUPT");
	if (!all_ok)
		hard_errors++;
	s_free(&fs);
	s_free(&fst);
	s_free(&raw);
	s_free(&pair);
	s_free(&pair_st);
}

/* ---- start ------------------------------------------------------------ */

/* QEMU by hand, the minimal way: the serial chardev connects to our socket
 * while QEMU initialises, the CPUs run at once, no QMP. */
static double raw_start_min(void)
{
	char ser[PATH_MAX + 32], carg[PATH_MAX + 64], buf[512];
	snprintf(ser, sizeof ser, "%s/start-ser.sock", opt.work);
	double t0 = now_us();
	int lfd = listen_unix(ser);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=off", ser);
	char *argv[] = { (char *)opt.qemu, "-machine", "ast2500-evb",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", (char *)opt.firmware, "-chardev", carg,
			 "-serial", "chardev:s0", NULL };
	pid_t pid = spawn(argv, logfd, SIGKILL);
	track(pid);
	int fd = accept_from(lfd, pid, 10000);
	if (read_until(fd, buf, sizeof buf, BANNER, 10000) < 0)
		fail("raw start: no banner");
	double t1 = now_us();
	kill_wait(pid);
	close(fd);
	close(lfd);
	return (t1 - t0) / 1e3;
}

/* QEMU by hand, the way emufs does it: -S, QMP and serial as clients of
 * our sockets, handshake, query-chardev, cont. */
static double raw_start_proto(void)
{
	char ser[PATH_MAX + 32], qmp[PATH_MAX + 32], carg[PATH_MAX + 64],
	     qarg[PATH_MAX + 64], buf[512];
	snprintf(ser, sizeof ser, "%s/start-ser.sock", opt.work);
	snprintf(qmp, sizeof qmp, "%s/start-qmp.sock", opt.work);
	double t0 = now_us();
	int lq = listen_unix(qmp), ls = listen_unix(ser);
	snprintf(qarg, sizeof qarg, "socket,id=q,path=%s,server=off", qmp);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=off", ser);
	char *argv[] = { (char *)opt.qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-gdb",
			 "tcp:127.0.0.1:0", "-chardev", qarg, "-mon",
			 "chardev=q,mode=control", "-serial", "chardev:s0",
			 "-chardev", carg, "-kernel", (char *)opt.firmware,
			 "-nic", "none", NULL };
	pid_t pid = spawn(argv, logfd, SIGKILL);
	track(pid);
	struct rq *q = malloc(sizeof *q);
	rq_open(q, accept_from(lq, pid, 10000));
	rq_must(q, "{\"execute\":\"query-chardev\"}");
	int fd = accept_from(ls, pid, 10000);
	rq_must(q, "{\"execute\":\"cont\"}");
	if (read_until(fd, buf, sizeof buf, BANNER, 10000) < 0)
		fail("raw start: no banner");
	double t1 = now_us();
	kill_wait(pid);
	close(fd);
	close(q->fd);
	free(q);
	close(lq);
	close(ls);
	return (t1 - t0) / 1e3;
}

/* echo start > ctl, then serial0 until the banner. *ctl_ms: the write. */
static double fs_start(const char *inst, double *ctl_ms)
{
	char ctl[PATH_MAX + 16], ser[PATH_MAX + 16], buf[512];
	snprintf(ctl, sizeof ctl, "%s/ctl", inst);
	snprintf(ser, sizeof ser, "%s/serial0", inst);
	double t0 = now_us();
	fs_must(ctl, "start\n");
	double tc = now_us();
	int fd = open(ser, O_RDONLY);
	if (fd < 0)
		fail("open %s: %s", ser, strerror(errno));
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, 0);
		if (n < 0)
			fail("read %s: %s", ser, strerror(errno));
		if (memmem(buf, n, BANNER, strlen(BANNER)))
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (now_us() - t0 > 10e6 || poll(&p, 1, 1000) < 0)
			fail("%s: no banner in 10 s", ser);
	}
	double t1 = now_us();
	close(fd);
	fs_must(ctl, "kill\n");
	*ctl_ms = (tc - t0) / 1e3;
	return (t1 - t0) / 1e3;
}

static void bench_start(struct mainctx *c)
{
	section("start", "`echo start > ctl` to the banner in serial0 vs "
		"QEMU launched by hand to the banner on its socket");
	char b1[PATH_MAX + 8], ctl[PATH_MAX + 16];
	snprintf(b1, sizeof b1, "%s/b1", c->m->dir);
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	fs_must(ctl, "pause");           /* b0 would hold a core */
	struct samples fs = { 0 }, fsctl = { 0 }, rmin = { 0 }, rproto = { 0 };
	struct cost cst = { 0 };
	for (int i = 0; i < opt.starts + 1; i++) {
		for (int k = 0; k < 3; k++) {
			double ctl_ms;
			switch ((i + k) % 3) {
			case 0: {
				struct cost a = cost_now(c->pid);
				double t = fs_start(b1, &ctl_ms);
				struct cost b = cost_now(c->pid);
				if (i) {
					cst.cpu_us += b.cpu_us - a.cpu_us;
					cst.syscr += b.syscr - a.syscr;
					cst.syscw += b.syscw - a.syscw;
					s_add(&fs, t);
					s_add(&fsctl, ctl_ms);
				}
				break;
			}
			case 1: {
				double t = raw_start_min();
				if (i)
					s_add(&rmin, t);
				break;
			}
			default: {
				double t = raw_start_proto();
				if (i)
					s_add(&rproto, t);
			}
			}
		}
	}
	fs_must(ctl, "resume");
	row("emufs start to banner (ms)", &fs, 1, "ms");
	row("  of which the ctl write (ms)", &fsctl, 1, "ms");
	row("raw by hand, minimal (ms)", &rmin, 1, "ms");
	row("raw by hand, emufs's way (ms)", &rproto, 1, "ms");
	/* CPU only: /proc/PID/io also adds up the syscalls of the children
	 * emufs reaped, i.e. of the QEMUs themselves. */
	printf("  %-34s %9.1f us CPU per start\n", "start+kill emufs cost",
	       cst.cpu_us / opt.starts);
	tsv_value("start+kill emufs cpu per start (us)",
		  cst.cpu_us / opt.starts, "us");
	double ratio = s_med(&fs) / s_med(&rmin);
	double ratio2 = s_med(&fs) / s_med(&rproto);
	printf("  %-34s %9.2fx (vs emufs's way by hand: %.2fx)\n",
	       "ratio emufs/raw (medians)", ratio, ratio2);
	tsv_value("start ratio", ratio, "x");
	tsv_value("start ratio vs emufs's way", ratio2, "x");
	verdict("start to banner", ratio <= 1.2, "<= 1.2x",
		"%.2fx raw (%.1f vs %.1f ms)", ratio, s_med(&fs),
		s_med(&rmin));
	s_free(&fs);
	s_free(&fsctl);
	s_free(&rmin);
	s_free(&rproto);
}

/* ---- scale ------------------------------------------------------------ */

/* `cat <each>/state`: readdir of the root, then open+read+close of each. */
static double sweep(const char *mnt, int *files)
{
	char path[PATH_MAX + 300], buf[64];
	double t0 = now_us();
	DIR *d = opendir(mnt);
	if (!d)
		fail("opendir %s: %s", mnt, strerror(errno));
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/state", mnt, e->d_name);
		ssize_t r = fs_cat(path, buf, sizeof buf);
		if (r <= 0)
			fail("cat %s: %s", path, r ? strerror(-r) : "empty");
		n++;
	}
	closedir(d);
	*files = n;
	return now_us() - t0;
}

struct scale_point {
	int running;
	double sweep_med, sweep_p10, sweep_p90, per_file;
	struct res res;
};

static struct scale_point measure_point(struct mount *m, int running)
{
	struct samples s = { 0 };
	int files = 0;
	struct cost c0 = { 0 };
	for (int i = 0; i < opt.sweeps + 3; i++) {
		if (i == 3)
			c0 = cost_now(m->emufs);
		double t = sweep(m->dir, &files);
		if (i >= 3)
			s_add(&s, t);
	}
	char name[64];
	snprintf(name, sizeof name, "sweep, %d running, emufs cost", running);
	cost_row(name, c0, cost_now(m->emufs), (double)opt.sweeps * files,
		 "file");
	struct scale_point p = { running, s_med(&s) / 1000,
				 s_pct(&s, 10) / 1000, s_pct(&s, 90) / 1000,
				 s_med(&s) / files, resources(m->emufs) };
	s_free(&s);
	return p;
}

static void bench_scale(void)
{
	section("scale", "instances on one mount, started paused");
	int N = opt.scale;

	/* The same emufs with no instance at all: its base footprint. */
	struct mount *e = mount_emufs(NULL, "empty");
	int files;
	sweep(e->dir, &files);
	struct res base = resources(e->emufs);
	unmount_emufs(e);

	struct mount *m = mount_emufs(scale_cfg, "scale");
	attach_start(m->emufs);
	int points[] = { 0, 1, 8, N }, np = 4;
	struct scale_point pt[4];
	struct samples starts = { 0 };
	int running = 0;
	char path[PATH_MAX + 64];
	for (int k = 0; k < np; k++) {
		if (points[k] > N)
			points[k] = N;
		bool started = running < points[k];
		while (running < points[k]) {
			snprintf(path, sizeof path, "%s/s%02d/ctl", m->dir,
				 running);
			double t0 = now_us();
			fs_must(path, "start paused");
			s_add(&starts, (now_us() - t0) / 1e3);
			running++;
		}
		/* A freshly started QEMU keeps a core busy for a moment after
		 * its QMP is up; that is QEMU's time, not emufs's. */
		if (started)
			sleep_ms(1500);
		pt[k] = measure_point(m, running);
	}
	attach_stop();
	double t_unmount = unmount_emufs(m) / 1e3;

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
		tsv_value(name, pt[k].sweep_med, "ms");
		snprintf(name, sizeof name, "rss %d running (KiB)",
			 pt[k].running);
		tsv_value(name, pt[k].res.rss_kb, "KiB");
	}
	row("start paused (ms)", &starts, 1, "ms");
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
	tsv_value("rss per instance (KiB)", rss_total, "KiB");
	tsv_value("rss marginal per instance (KiB)", rss_marg, "KiB");
	tsv_value("threads per instance", thr, "");
	tsv_value("fds per instance", fds, "");
	char fig[96];
	snprintf(fig, sizeof fig, "%.0f KiB (marginal %.0f KiB)", rss_total,
		 rss_marg);
	verdict("emufs RSS per instance", rss_total <= 1024, "<= 1024 KiB",
		"%s", fig);
	verdict("threads per instance", thr < 0.1, "0 (one loop)",
		"%.2f (%ld -> %ld threads)", thr, one->res.threads,
		all->res.threads);
	verdict("`cat */state`, 32 running", -1, "(none)",
		"%.2f ms per sweep, %.0f us per file", all->sweep_med,
		all->per_file);
	s_free(&starts);
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: emufs-bench --emufs PATH --firmware ELF [options]\n"
		"  --qemu BIN        qemu-system-arm\n"
		"  --work DIR        scratch directory (default: a new one in "
		"/tmp)\n"
		"  --only LIST       sections: props,list,pins,poll,serial,start,"
		"scale,logsize\n"
		"  --iters N         property/pin pairs (300)\n"
		"  --polls N         poll wake-up samples (100)\n"
		"  --bursts N        serial rounds (4)\n"
		"  --burst-bytes N   bytes per burst (1048576)\n"
		"  --starts N        start samples per variant (10)\n"
		"  --scale N         instances of the scale test (32)\n"
		"  --sweeps N        `cat */state` sweeps per point (30)\n"
		"  --wrap CMD        run emufs under CMD (\"strace -c -f -o F\","
		" \"valgrind --tool=callgrind\")\n"
		"  --attach CMD      a profiler around each section; %%p is "
		"emufs's pid\n"
		"                    (\"perf record -g -o F -p %%p\")\n"
		"  --label TEXT      printed in the header (the commit)\n"
		"  --tsv FILE        append the figures to FILE\n"
		"  --strict          exit 1 when a target is missed\n"
		"  --keep            keep the scratch directory\n");
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "emufs", 1, 0, 'e' }, { "firmware", 1, 0, 'f' },
		{ "qemu", 1, 0, 'q' }, { "work", 1, 0, 'w' },
		{ "only", 1, 0, 'o' }, { "iters", 1, 0, 'i' },
		{ "polls", 1, 0, 'p' }, { "bursts", 1, 0, 'b' },
		{ "burst-bytes", 1, 0, 'B' }, { "starts", 1, 0, 's' },
		{ "scale", 1, 0, 'S' }, { "sweeps", 1, 0, 'W' },
		{ "wrap", 1, 0, 'r' }, { "tsv", 1, 0, 't' },
		{ "attach", 1, 0, 'a' }, { "label", 1, 0, 'L' },
		{ "strict", 0, 0, 'X' }, { "keep", 0, 0, 'k' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'e': opt.emufs = optarg; break;
		case 'f': opt.firmware = optarg; break;
		case 'q': opt.qemu = optarg; break;
		case 'w': snprintf(opt.work, sizeof opt.work, "%s", optarg);
			  break;
		case 'o': opt.only = optarg; break;
		case 'i': opt.iters = atoi(optarg); break;
		case 'p': opt.polls = atoi(optarg); break;
		case 'b': opt.bursts = atoi(optarg); break;
		case 'B': opt.burst_bytes = atol(optarg); break;
		case 's': opt.starts = atoi(optarg); break;
		case 'S': opt.scale = atoi(optarg); break;
		case 'W': opt.sweeps = atoi(optarg); break;
		case 'r': opt.wrap = optarg; opt.mount_timeout_ms = 60000;
			  break;
		case 't': opt.tsv = optarg; break;
		case 'a': opt.attach = optarg; break;
		case 'L': opt.label = optarg; break;
		case 'X': opt.strict = true; break;
		case 'k': opt.keep = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!opt.emufs || !opt.firmware || optind != argc || opt.iters < 1 ||
	    opt.polls < 1 || opt.bursts < 1 || opt.burst_bytes < 1 ||
	    opt.starts < 1 || opt.scale < 2 || opt.scale > 99 ||
	    opt.sweeps < 1) {
		usage(stderr);
		exit(2);
	}
}

static void rm_rf(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };
	run_wait(argv);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	char *abs_emufs = realpath(opt.emufs, NULL),
	     *abs_fw = realpath(opt.firmware, NULL);
	if (!abs_emufs || !abs_fw) {
		fprintf(stderr, "emufs-bench: %s: %s\n",
			abs_emufs ? opt.firmware : opt.emufs, strerror(errno));
		return 2;
	}
	opt.emufs = abs_emufs;
	opt.firmware = abs_fw;
	bool made_work = !opt.work[0];
	if (made_work) {
		snprintf(opt.work, sizeof opt.work, "/tmp/emufs-bench.XXXXXX");
		if (!mkdtemp(opt.work))
			fail("mkdtemp: %s", strerror(errno));
	} else if (mkdir(opt.work, 0700) < 0 && errno != EEXIST) {
		fail("%s: %s", opt.work, strerror(errno));
	}
	char lpath[PATH_MAX + 16];
	snprintf(lpath, sizeof lpath, "%s/bench.log", opt.work);
	logfd = open(lpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (opt.tsv && !(tsv = fopen(opt.tsv, "a")))
		fail("%s: %s", opt.tsv, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	write_configs();

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double loadavg[1] = { 0 };
	getloadavg(loadavg, 1);
	printf("emufs-bench%s%s: %s, %ld cores, load %.2f at start, "
	       "scratch %s\n", opt.label ? " " : "", opt.label ? opt.label : "",
	       opt.wrap || opt.attach ? "emufs PROFILED (figures not "
	       "comparable)" : "plain", ncpu, loadavg[0], opt.work);
	if (tsv)
		fprintf(tsv, "# run %s\tload %.2f\n",
			opt.label ? opt.label : "", loadavg[0]);
	double t_all = now_us();

	bool need_main = section_on("props") || section_on("list") ||
			 section_on("pins") ||
			 section_on("poll") || section_on("serial") ||
			 section_on("start") || section_on("logsize");
	if (need_main) {
		struct mainctx c = { 0 };
		c.m = mount_emufs(main_cfg, "main");
		c.pid = c.m->emufs;
		snprintf(c.b0, sizeof c.b0, "%s/b0", c.m->dir);
		char ctl[PATH_MAX + 16];
		snprintf(ctl, sizeof ctl, "%s/ctl", c.b0);
		fs_must(ctl, "start");
		rq_open(&c.raw, connect_unix(raw_b0, 10000));

#define RUN(name, call)                                                    \
	do {                                                               \
		if (section_on(name)) {                                    \
			attach_start(c.pid);                               \
			call;                                              \
			attach_stop();                                     \
		}                                                          \
	} while (0)
		RUN("props", bench_props(&c));
		RUN("list", bench_list(&c));
		RUN("pins", bench_pins(&c));
		RUN("poll", bench_poll(&c));
		off_t small_size = 0, big_size = 0;
		double small = 0, big = 0;
		long rss0 = proc_status(c.pid, "VmRSS");
		if (section_on("logsize")) {
			section("logsize", "fstat + pread of the last 4 KiB "
				"of serial0, before and after the bursts");
			small = tail_read(&c, "small", &small_size);
		}
		RUN("serial", bench_serial(&c));
		if (section_on("logsize")) {
			section("logsize", "(after the bursts)");
			big = tail_read(&c, "large", &big_size);
			long rss1 = proc_status(c.pid, "VmRSS");
			printf("  serial0 %lld -> %lld bytes: tail read "
			       "%.1f -> %.1f us; emufs RSS %ld -> %ld KiB\n",
			       (long long)small_size, (long long)big_size,
			       small, big, rss0, rss1);
		}
		RUN("start", bench_start(&c));
		close(c.raw.fd);
		unmount_emufs(c.m);
	}
	if (section_on("scale"))
		bench_scale();

	printf("\n== summary (%.0f s)\n", (now_us() - t_all) / 1e6);
	printf("  %-32s %-36s %-14s %s\n", "what", "figure (median)",
	       "target", "");
	int missed = 0;
	for (int i = 0; i < nverdicts; i++) {
		struct verdict *v = &verdicts[i];
		printf("  %-32s %-36s %-14s %s\n", v->what, v->figure,
		       v->target,
		       v->pass < 0 ? "-" : v->pass ? "PASS" : "MISS");
		missed += v->pass == 0;
	}
	cleanup();
	if (tsv)
		fclose(tsv);
	if (!opt.keep && made_work && !hard_errors)
		rm_rf(opt.work);
	else
		printf("  scratch kept: %s\n", opt.work);
	if (hard_errors)
		return 1;
	return opt.strict && missed ? 1 : 0;
}
