/* affinity.c - the controls of a run on a spinning guest: every QEMU's
 * vCPU thread alone on the last core and everything else (the bench,
 * emufs, the floor, QEMU's other threads) on the others. Two ways: for
 * the warm property rows only (aff_isolate_vcpus, a control row of every
 * run), or for the whole run (--vcpu-core: aff_watch_start, a process
 * that moves the busiest thread of every QEMU on the machine as they
 * come).
 *
 * Why: the test firmware spins, so its vCPU thread keeps a core at 100%.
 * A thread the scheduler wakes onto that core waits for the vCPU's slice
 * to end (a tick, 2.5-5 ms here), and a read through emufs wakes more
 * threads than a raw qom-get does. Run free, the warm rows' p95 lands on
 * those stalls or not from one run to the next; the control shows what a
 * read costs when no thread of it can land behind a spinning vCPU
 * (docs/performance.md, "The warm rows' p95 on a running guest").
 *
 * The vCPU is the QEMU thread with the most CPU time: true of a guest
 * that spins, as the test firmware does. Threads made while isolated
 * inherit their maker's core; aff_release() gives every thread of the
 * processes back every core.
 */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define AFF_MAX_PROCS 16

/* The processes isolated, and the cores that aff_release() gives all
 * their threads back (the bench's own when it isolated them). */
static pid_t aff_procs[AFF_MAX_PROCS];
static int aff_nprocs;
static cpu_set_t aff_all;

/* A thread's CPU time in clock ticks, or -1 when it is gone. */
static long long aff_thread_ticks(pid_t pid, pid_t tid)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *p = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
	fclose(f);
	unsigned long long ut, st;
	/* After ")": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* The busiest thread of pid (the most CPU time): its tid, or 0. */
static pid_t aff_busiest(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	pid_t top = 0;
	long long top_ticks = -1;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		long long t = tid > 0 ? aff_thread_ticks(pid, tid) : -1;
		if (t > top_ticks) {
			top = tid;
			top_ticks = t;
		}
	}
	if (d)
		closedir(d);
	return top;
}

/* Every thread of pid to set, then the busiest one (the vCPU) to its own
 * set when busiest is not NULL. */
static void aff_pin_threads(pid_t pid, const cpu_set_t *set,
			    const cpu_set_t *busiest)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		if (tid > 0)
			sched_setaffinity(tid, sizeof *set, set);
	}
	if (d)
		closedir(d);
	pid_t top = busiest ? aff_busiest(pid) : 0;
	if (top > 0)
		sched_setaffinity(top, sizeof *busiest, busiest);
}

/* The cores this process may use, split into the last one and the
 * others: the last one's number, or -1 with fewer than two. */
static int aff_split(cpu_set_t *all, cpu_set_t *rest, cpu_set_t *last)
{
	if (sched_getaffinity(0, sizeof *all, all) < 0 || CPU_COUNT(all) < 2)
		return -1;
	int n = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, all))
			n = i;
	*rest = *all;
	CPU_CLR(n, rest);
	CPU_ZERO(last);
	CPU_SET(n, last);
	return n;
}

bool aff_isolate_vcpus(pid_t emufs, pid_t floor)
{
	cpu_set_t rest, vcpu;
	if (aff_split(&aff_all, &rest, &vcpu) < 0)
		return false;
	pid_t qemus[AFF_MAX_PROCS - 3];
	int nq = proc_list_children(emufs, "qemu-system", qemus,
			       AFF_MAX_PROCS - 3);
	if (nq == 0)
		return false;
	aff_nprocs = 0;
	aff_procs[aff_nprocs++] = getpid();
	aff_procs[aff_nprocs++] = emufs;
	if (floor > 0)
		aff_procs[aff_nprocs++] = floor;
	for (int i = 0; i < aff_nprocs; i++)
		aff_pin_threads(aff_procs[i], &rest, NULL);
	for (int i = 0; i < nq; i++) {
		aff_pin_threads(qemus[i], &rest, &vcpu);
		aff_procs[aff_nprocs++] = qemus[i];
	}
	return true;
}

void aff_release(void)
{
	for (int i = 0; i < aff_nprocs; i++)
		aff_pin_threads(aff_procs[i], &aff_all, NULL);
	aff_nprocs = 0;
}

/* ---- --vcpu-core: the whole run ---------------------------------------- */

#define AFF_WATCH_MAX 256

/* The watcher process's own. */
static struct { pid_t pid, vcpu; } aff_moved[AFF_WATCH_MAX];
static cpu_set_t aff_rest, aff_last;

/* Every QEMU's busiest thread to the last core; one that was the busiest
 * before and is no longer (a QEMU's main thread while it loads) back to
 * the others. Slots of QEMUs that ended are reused. */
static void aff_watch_once(void)
{
	static pid_t q[AFF_WATCH_MAX];
	int n = proc_list_children(-1, "qemu-system", q, AFF_WATCH_MAX);
	for (int i = 0; i < n; i++) {
		pid_t top = aff_busiest(q[i]);
		int slot = -1;
		for (int k = 0; k < AFF_WATCH_MAX && slot < 0; k++)
			if (aff_moved[k].pid == q[i])
				slot = k;
		for (int k = 0; k < AFF_WATCH_MAX && slot < 0; k++)
			if (aff_moved[k].pid == 0 ||
			    kill(aff_moved[k].pid, 0) < 0)
				slot = k;
		if (top <= 0 || slot < 0 ||
		    (aff_moved[slot].pid == q[i] && aff_moved[slot].vcpu == top))
			continue;
		if (aff_moved[slot].pid == q[i])
			sched_setaffinity(aff_moved[slot].vcpu, sizeof aff_rest,
					  &aff_rest);
		sched_setaffinity(top, sizeof aff_last, &aff_last);
		aff_moved[slot].pid = q[i];
		aff_moved[slot].vcpu = top;
	}
}

/* The watcher: a process of its own, so that its CPU (a scan of /proc
 * every 250 ms) is not the bench's (the raw serial reader's CPU is the
 * bench process's). It dies with the bench. */
static void aff_watch(void)
{
	for (;;) {
		aff_watch_once();
		clk_sleep_ms(250);
	}
}

int aff_watch_start(void)
{
	cpu_set_t all;
	int last = aff_split(&all, &aff_rest, &aff_last);
	if (last < 0)
		return -1;
	/* The bench first: what it forks (emufs, QEMUs, the floor, slurmd
	 * through srun) starts on the other cores. */
	aff_pin_threads(getpid(), &aff_rest, NULL);
	pid_t pid = proc_fork(SIGKILL);
	if (pid < 0)
		return -1;
	if (pid == 0)
		aff_watch();
	proc_track(pid);
	return last;
}
