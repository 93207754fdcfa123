/* affinity.c - the control of the property rows: the same warm reads with
 * every QEMU's vCPU thread alone on the last core and everything else
 * (the bench, emufs, the floor, QEMU's other threads) on the others.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define AFF_MAX_PROCS 16

/* The processes isolated and the cores they had: main thread only. */
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

/* Every thread of pid to set, or to the busiest one's own set when
 * busiest is not NULL (the vCPU). */
static void aff_pin_threads(pid_t pid, const cpu_set_t *set,
			    const cpu_set_t *busiest)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	pid_t top = 0;
	long long top_ticks = -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		sched_setaffinity(tid, sizeof *set, set);
		long long t = busiest ? aff_thread_ticks(pid, tid) : -1;
		if (t > top_ticks) {
			top = tid;
			top_ticks = t;
		}
	}
	closedir(d);
	if (busiest && top > 0)
		sched_setaffinity(top, sizeof *busiest, busiest);
}

bool aff_isolate_vcpus(pid_t emufs, pid_t floor)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2 || sched_getaffinity(0, sizeof aff_all, &aff_all) < 0 ||
	    CPU_COUNT(&aff_all) < 2)
		return false;
	int last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &aff_all))
			last = i;
	cpu_set_t rest = aff_all, vcpu;
	CPU_CLR(last, &rest);
	CPU_ZERO(&vcpu);
	CPU_SET(last, &vcpu);

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
