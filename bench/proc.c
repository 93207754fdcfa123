/* proc.c - the benchmark's children and what processes cost.
 *
 * Children: raw QEMUs (tracked here, so that an error or a signal kills
 * them), the --attach profiler, and short helpers (fusermount3, rm). Every
 * child dies with us (PR_SET_PDEATHSIG).
 *
 * Costs: from /proc, so that they hold for any process (emufs, or emufs
 * under a wrapper): CPU of all threads, read/write syscalls, RSS, threads,
 * open fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* ---- children --------------------------------------------------------- */

#define PROC_MAX_CHILDREN 128
/* Raw QEMUs; 0 when reaped. Read by the signal handler. */
static pid_t proc_children[PROC_MAX_CHILDREN];

void proc_track(pid_t pid)
{
	for (int i = 0; i < PROC_MAX_CHILDREN; i++)
		if (!proc_children[i]) {
			proc_children[i] = pid;
			return;
		}
}

void proc_untrack(pid_t pid)
{
	for (int i = 0; i < PROC_MAX_CHILDREN; i++)
		if (proc_children[i] == pid)
			proc_children[i] = 0;
}

pid_t proc_fork(int deathsig)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The bench's handlers (which stop every mount) are not the
	 * child's, and libfuse installs its own only over SIG_DFL. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, deathsig);
	return 0;
}

pid_t proc_spawn(char *const argv[], int logfd, int deathsig)
{
	pid_t pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
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

void proc_kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	proc_untrack(pid);
}

void proc_kill_all(void)
{
	for (int i = 0; i < PROC_MAX_CHILDREN; i++)
		if (proc_children[i])
			proc_kill_wait(proc_children[i]);
}

void proc_signal_all(void)
{
	for (int i = 0; i < PROC_MAX_CHILDREN; i++)
		if (proc_children[i])
			kill(proc_children[i], SIGKILL);
}

int proc_wait_for(pid_t pid, int ms)
{
	double end = clk_now_us() + ms * 1000.0;
	int st;
	do {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		clk_sleep_ms(5);
	} while (clk_now_us() < end);
	return -1;
}

int proc_run_wait(char *const argv[])
{
	pid_t pid = proc_spawn(argv, -1, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int proc_list_children(pid_t parent, const char *comm, pid_t *out, int max)
{
	char path[64], line[512], want[64];
	int n = 0;
	snprintf(want, sizeof want, "(%s", comm);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && n < max && (e = readdir(d))) {
		int pid = atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int ppid = 0;
		char *p = fgets(line, sizeof line, f) ? strrchr(line, ')')
						      : NULL;
		if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
		    (parent < 0 || ppid == parent) && strstr(line, want))
			out[n++] = pid;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* strace/perf fork their command; valgrind runs it in place, then the
 * parent stays the answer. */
pid_t proc_find_child(pid_t parent, const char *comm)
{
	pid_t found = parent;
	for (int tries = 0; tries < 100; tries++) {
		if (proc_list_children(parent, comm, &found, 1) == 1)
			break;
		clk_sleep_ms(10);
	}
	return found;
}

/* ---- --attach: a profiler (perf record/trace -p %p) around a section -- */

static pid_t proc_attached;

void proc_attach_start(pid_t pid)
{
	if (!bench_opt.attach)
		return;
	char cmd[2048], *argv[64], *save = NULL;
	size_t o = 0;
	for (const char *p = bench_opt.attach; *p && o < sizeof cmd - 16;
	     p++) {
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
	proc_attached = proc_spawn(argv, bench_logfd, SIGINT);
	clk_sleep_ms(1500);          /* perf needs a moment to attach */
}

void proc_attach_stop(void)
{
	if (!proc_attached)
		return;
	kill(proc_attached, SIGINT);
	if (proc_wait_for(proc_attached, 20000) < 0)
		proc_kill_wait(proc_attached);
	proc_attached = 0;
}

/* ---- /proc ------------------------------------------------------------ */

long proc_status(pid_t pid, const char *key)
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

bool proc_thread_in_read(pid_t tid)
{
	/* The kernel's own word: the syscall a blocked thread sleeps in
	 * ("running" while it runs), not a guess from its run state. */
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return false;
	line[n] = '\0';
	char *end;
	long nr = strtol(line, &end, 10);
	return end != line && nr == SYS_read;
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

struct proc_cost proc_cost_now(pid_t pid)
{
	struct proc_cost c = { 0 };
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
		unsigned long long ns = 0, wait, runs;
		if (f && fscanf(f, "%llu %llu %llu", &ns, &wait, &runs) == 3) {
			c.cpu_us += ns / 1e3;
			c.switches += runs;
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	/* The process's CPU clock counts its ended threads too (a FUSE
	 * worker that leaves the pool after a request); the sum above
	 * loses a thread's whole life when it ends between two readings. */
	clockid_t cid;
	struct timespec ts;
	if (clock_getcpuclockid(pid, &cid) == 0 &&
	    clock_gettime(cid, &ts) == 0)
		c.cpu_us = ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
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

struct proc_cost proc_children_cost(pid_t pid)
{
	/* By the parent in /proc/N/stat: a thread's children file loses
	 * them while they move to another thread after theirs ended. */
	pid_t kids[1024];
	struct proc_cost sum = { 0 }, zero = { 0 };
	int n = proc_list_children(pid, "", kids, 1024);
	for (int i = 0; i < n; i++)
		proc_cost_add(&sum, zero, proc_cost_now(kids[i]));
	return sum;
}

void proc_cost_add(struct proc_cost *sum, struct proc_cost a,
		   struct proc_cost b)
{
	sum->cpu_us += b.cpu_us - a.cpu_us;
	sum->syscr += b.syscr - a.syscr;
	sum->syscw += b.syscw - a.syscw;
	sum->switches += b.switches - a.switches;
}

void proc_cost_row(const char *name, struct proc_cost a, struct proc_cost b,
		   double ops, const char *per)
{
	printf("  %-34s %9.1f us CPU, %.1f read + %.1f write syscalls "
	       "per %s\n", name, (b.cpu_us - a.cpu_us) / ops,
	       (b.syscr - a.syscr) / ops, (b.syscw - a.syscw) / ops, per);
	if (stats_tsv) {
		fprintf(stats_tsv, "%s cpu per %s (us)\t%.6g\t\t\tus\n", name,
			per, (b.cpu_us - a.cpu_us) / ops);
		fprintf(stats_tsv, "%s syscalls per %s\t%.6g\t\t\t\n", name,
			per, (b.syscr - a.syscr + b.syscw - a.syscw) / ops);
	}
}

struct proc_res proc_resources(pid_t pid)
{
	return (struct proc_res){ proc_status(pid, "VmRSS"),
				  proc_status(pid, "Threads"),
				  proc_fds(pid) };
}
