/* start.c - `echo start > ctl` until the firmware's banner shows in
 * serial0, against QEMU launched by hand two ways: the minimal one (no
 * QMP, CPUs run at once) and emufs's own (-S, QMP, query-chardev, cont).
 * The three kinds rotate their order from round to round.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* A QEMU by hand, tracked so that an error kills it. */
static pid_t start_spawn(char *const argv[])
{
	pid_t pid = proc_spawn(argv, bench_logfd, SIGKILL);
	proc_track(pid);
	return pid;
}

/* Wait for the banner on the serial socket fd, then kill the QEMU and
 * close fd. Returns the milliseconds from t0 (a clk_now_us reading) to the
 * banner. */
static double start_banner(int fd, pid_t pid, double t0)
{
	char buf[512];
	if (raw_read_until(fd, buf, sizeof buf, BENCH_BANNER, 10000) < 0)
		bench_fail("raw start: no banner");
	double t1 = clk_now_us();
	proc_kill_wait(pid);
	close(fd);
	return (t1 - t0) / 1e3;
}

/* QEMU by hand, the minimal way: the serial chardev connects to our socket
 * while QEMU initialises, the CPUs run at once, no QMP. */
static double start_raw_min(void)
{
	const struct bench_opt *o = &bench_opt;
	char ser[PATH_MAX + 32], carg[PATH_MAX + 64];
	snprintf(ser, sizeof ser, "%s/start-ser.sock", o->work);
	double t0 = clk_now_us();
	int lfd = raw_listen(ser);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=off", ser);
	char *argv[] = { (char *)o->qemu, "-machine", "ast2500-evb",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", (char *)o->firmware, "-chardev", carg,
			 "-serial", "chardev:s0", NULL };
	pid_t pid = start_spawn(argv);
	double ms = start_banner(raw_accept(lfd, pid, 10000), pid, t0);
	close(lfd);
	return ms;
}

/* QEMU by hand, the way emufs does it: -S, QMP and serial as clients of
 * our sockets, handshake, query-chardev, cont. */
static double start_raw_proto(void)
{
	const struct bench_opt *o = &bench_opt;
	char ser[PATH_MAX + 32], qmp[PATH_MAX + 32], carg[PATH_MAX + 64],
	     qarg[PATH_MAX + 64];
	snprintf(ser, sizeof ser, "%s/start-ser.sock", o->work);
	snprintf(qmp, sizeof qmp, "%s/start-qmp.sock", o->work);
	double t0 = clk_now_us();
	int lq = raw_listen(qmp), ls = raw_listen(ser);
	snprintf(qarg, sizeof qarg, "socket,id=q,path=%s,server=off", qmp);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=off", ser);
	char *argv[] = { (char *)o->qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-gdb",
			 "tcp:127.0.0.1:0", "-chardev", qarg, "-mon",
			 "chardev=q,mode=control", "-serial", "chardev:s0",
			 "-chardev", carg, "-kernel", (char *)o->firmware,
			 "-nic", "none", NULL };
	pid_t pid = start_spawn(argv);
	struct raw_qmp *q = raw_qmp_open(raw_accept(lq, pid, 10000));
	raw_qmp_must(q, "{\"execute\":\"query-chardev\"}");
	int fd = raw_accept(ls, pid, 10000);
	raw_qmp_must(q, "{\"execute\":\"cont\"}");
	double ms = start_banner(fd, pid, t0);
	raw_qmp_close(q);
	close(lq);
	close(ls);
	return ms;
}

/* echo start > ctl, then serial0 until the banner, then kill. *ctl_ms:
 * the write. */
double start_fs(const char *inst, double *ctl_ms)
{
	char ctl[PATH_MAX + 16], ser[PATH_MAX + 16], buf[512];
	snprintf(ctl, sizeof ctl, "%s/ctl", inst);
	snprintf(ser, sizeof ser, "%s/serial0", inst);
	double t0 = clk_now_us();
	mnt_must(ctl, "start\n");
	double tc = clk_now_us();
	int fd = open(ser, O_RDONLY);
	if (fd < 0)
		bench_fail("open %s: %s", ser, strerror(errno));
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, 0);
		if (n < 0)
			bench_fail("read %s: %s", ser, strerror(errno));
		if (memmem(buf, n, BENCH_BANNER, strlen(BENCH_BANNER)))
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (clk_now_us() - t0 > 10e6 || poll(&p, 1, 1000) < 0)
			bench_fail("%s: no banner in 10 s", ser);
	}
	double t1 = clk_now_us();
	close(fd);
	mnt_must(ctl, "kill\n");
	*ctl_ms = (tc - t0) / 1e3;
	return (t1 - t0) / 1e3;
}

void start_section(struct bench_ctx *c)
{
	int starts = bench_opt.starts;
	bench_section("start", "`echo start > ctl` to the banner in serial0 "
		      "vs QEMU launched by hand to the banner on its socket");
	char b1[PATH_MAX + 8], ctl[PATH_MAX + 16];
	snprintf(b1, sizeof b1, "%s/b1", c->m->dir);
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	mnt_must(ctl, "pause");           /* b0 would hold a core */
	struct samples fs = { 0 }, fsctl = { 0 }, rmin = { 0 }, rproto = { 0 };
	struct proc_cost cst = { 0 };
	for (int i = 0; i < starts + 1; i++) {
		for (int k = 0; k < 3; k++) {
			double ctl_ms;
			switch ((i + k) % 3) {
			case 0: {
				struct proc_cost a = proc_cost_now(c->pid);
				double t = start_fs(b1, &ctl_ms);
				struct proc_cost b = proc_cost_now(c->pid);
				if (i) {
					proc_cost_add(&cst, a, b);
					samples_add(&fs, t);
					samples_add(&fsctl, ctl_ms);
				}
				break;
			}
			case 1: {
				double t = start_raw_min();
				if (i)
					samples_add(&rmin, t);
				break;
			}
			default: {
				double t = start_raw_proto();
				if (i)
					samples_add(&rproto, t);
			}
			}
		}
	}
	mnt_must(ctl, "resume");
	stats_row("emufs start to banner (ms)", &fs, 1, "ms");
	stats_row("  of which the ctl write (ms)", &fsctl, 1, "ms");
	stats_row("raw by hand, minimal (ms)", &rmin, 1, "ms");
	stats_row("raw by hand, emufs's way (ms)", &rproto, 1, "ms");
	/* CPU only: /proc/PID/io also adds up the syscalls of the children
	 * emufs reaped, i.e. of the QEMUs themselves. */
	printf("  %-34s %9.1f us CPU per start\n", "start+kill emufs cost",
	       cst.cpu_us / starts);
	stats_value("start+kill emufs cpu per start (us)", cst.cpu_us / starts,
		    "us");
	double ratio = samples_median(&fs) / samples_median(&rmin);
	double ratio2 = samples_median(&fs) / samples_median(&rproto);
	printf("  %-34s %9.2fx (vs emufs's way by hand: %.2fx)\n",
	       "ratio emufs/raw (medians)", ratio, ratio2);
	stats_value("start ratio", ratio, "x");
	stats_value("start ratio vs emufs's way", ratio2, "x");
	bench_verdict("start to banner", ratio <= 1.2, "<= 1.2x",
		      "%.2fx raw (%.1f vs %.1f ms)", ratio, samples_median(&fs),
		      samples_median(&rmin));
	samples_free(&fs);
	samples_free(&fsctl);
	samples_free(&rmin);
	samples_free(&rproto);
}
