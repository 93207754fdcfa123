/* serial.c - the guest's serial output through emufs against reading it
 * straight from a socket chardev:
 *
 *   serial    1 MiB guest burst read through serial0   vs a socket chardev
 *   logsize   fstat + tail read of serial0, small log vs after the bursts
 *
 * The test firmware answers `burst N` with N bytes of a known pattern and
 * BENCH_MARKER; every burst is checked byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- the burst pattern ------------------------------------------------ */

/* Byte o of a burst: 64-byte lines, an 8-digit line number, then text. */
static char serial_pattern_at(size_t o)
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

/* data must be exactly: echo, n pattern bytes, BENCH_MARKER. Returns the
 * first wrong offset, or -1 when every byte is right. */
static long serial_check_burst(const char *data, size_t len, const char *echo,
			       size_t n)
{
	size_t el = strlen(echo), ml = strlen(BENCH_MARKER);
	if (len < el || memcmp(data, echo, el))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (el + i >= len || data[el + i] != serial_pattern_at(i))
			return el + i;
	if (len != el + n + ml || memcmp(data + el + n, BENCH_MARKER, ml))
		return el + n;
	return -1;
}

/* ---- log size: fstat + read of the last 4 KiB of serial0 --------------- */

double serial_tail_read(struct bench_ctx *c, const char *label, off_t *sizep)
{
	char path[PATH_MAX + 16], buf[4096], name[96];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bench_fail("open %s: %s", path, strerror(errno));
	struct samples s = { 0 };
	struct stat st = { 0 };
	for (int i = 0; i < 220; i++) {
		double t0 = clk_now_us();
		if (fstat(fd, &st) < 0)
			bench_fail("fstat %s: %s", path, strerror(errno));
		off_t off = st.st_size > 4096 ? st.st_size - 4096 : 0;
		ssize_t n = pread(fd, buf, sizeof buf, off);
		double t1 = clk_now_us();
		if (n < 0)
			bench_fail("read %s: %s", path, strerror(errno));
		if (i >= 20)
			samples_add(&s, t1 - t0);
	}
	close(fd);
	snprintf(name, sizeof name, "tail read, %s log (us)", label);
	stats_row(name, &s, 1, "us");
	*sizep = st.st_size;
	double med = samples_median(&s);
	samples_free(&s);
	return med;
}

/* ---- the raw side: a QEMU launched by hand ---------------------------- */

void serial_raw_launch(struct serial_raw *r)
{
	const struct bench_opt *o = &bench_opt;
	char qmp[PATH_MAX + 32], ser[PATH_MAX + 32], qarg[PATH_MAX + 64],
	     carg[PATH_MAX + 64];
	snprintf(qmp, sizeof qmp, "%s/rawser-qmp.sock", o->work);
	snprintf(ser, sizeof ser, "%s/rawser.sock", o->work);
	unlink(qmp);
	unlink(ser);
	snprintf(qarg, sizeof qarg, "unix:%s,server=on,wait=off", qmp);
	snprintf(carg, sizeof carg, "socket,id=s0,path=%s,server=on,wait=off",
		 ser);
	char *argv[] = { (char *)o->qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", (char *)o->firmware, "-qmp", qarg,
			 "-chardev", carg, "-serial", "chardev:s0", NULL };
	r->pid = proc_spawn(argv, bench_logfd, SIGKILL);
	proc_track(r->pid);
	r->q = raw_qmp_open(raw_connect(qmp, 10000));
	r->sfd = raw_connect(ser, 10000);
	raw_qmp_must(r->q, "{\"execute\":\"cont\"}");
	char buf[256];
	if (raw_read_until(r->sfd, buf, sizeof buf, BENCH_BANNER, 5000) < 0)
		bench_fail("raw serial QEMU: no banner");
}

static char *serial_buf;       /* one burst, either side */

/* One burst straight from the socket: seconds, and whether it was intact. */
static double serial_raw_burst(struct serial_raw *r, long n, bool *ok)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	size_t cap = n + 4096;
	double t0 = clk_now_us();
	if (write(r->sfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("raw serial write: %s", strerror(errno));
	ssize_t got = raw_read_until(r->sfd, serial_buf, cap, BENCH_MARKER,
				     60000);
	double t1 = clk_now_us();
	if (got < 0)
		bench_fail("raw serial: no BURST DONE within 60 s");
	long bad = serial_check_burst(serial_buf, got, cmd, n);
	if (bad >= 0)
		fprintf(stderr, "emufs-bench: raw burst wrong at offset %ld\n",
			bad);
	*ok = bad < 0;
	return (t1 - t0) / 1e6;
}

/* ---- the emufs side --------------------------------------------------- */

/* One burst through serial0: from the write of the command until the
 * file holds the marker. The reader either follows eagerly (poll POLLIN,
 * then pread what grew) or the way `tail -f` does, looking at st_size
 * every SERIAL_TAIL_MS (coreutils' tail does it every second). */
#define SERIAL_TAIL_MS 10
static double serial_fs_burst(struct bench_ctx *c, long n, bool *ok,
			      bool eager)
{
	char path[PATH_MAX + 16], cmd[64];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	int rfd = open(path, O_RDONLY), wfd = open(path, O_WRONLY);
	if (rfd < 0 || wfd < 0)
		bench_fail("open %s: %s", path, strerror(errno));
	struct stat st;
	fstat(rfd, &st);
	off_t base = st.st_size;
	size_t cap = n + 4096, got = 0, ml = strlen(BENCH_MARKER);
	double t0 = clk_now_us();
	if (write(wfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("write %s: %s", path, strerror(errno));
	double end = t0 + 60e6;
	for (;;) {
		ssize_t r = pread(rfd, serial_buf + got, cap - got,
				  base + got);
		if (r < 0)
			bench_fail("read %s: %s", path, strerror(errno));
		if (r > 0) {
			size_t from = got > ml ? got - ml : 0;
			got += r;
			if (memmem(serial_buf + from, got - from,
				   BENCH_MARKER, ml))
				break;
			if (got == cap)
				bench_fail("%s: no marker in %zu bytes", path,
					   got);
			continue;
		}
		if (clk_now_us() > end)
			bench_fail("%s: no BURST DONE within 60 s", path);
		if (eager) {
			struct pollfd p = { rfd, POLLIN, 0 };
			if (poll(&p, 1, 1000) < 0)
				bench_fail("poll %s: %s", path,
					   strerror(errno));
			continue;
		}
		do {
			clk_sleep_ms(SERIAL_TAIL_MS);
			if (fstat(rfd, &st) < 0)
				bench_fail("fstat %s: %s", path,
					   strerror(errno));
		} while (st.st_size <= base + (off_t)got &&
			 clk_now_us() < end);
	}
	double t1 = clk_now_us();
	close(rfd);
	close(wfd);
	long bad = serial_check_burst(serial_buf, got, cmd, n);
	if (bad >= 0)
		fprintf(stderr, "emufs-bench: emufs burst wrong at offset "
			"%ld\n", bad);
	*ok = bad < 0;
	return (t1 - t0) / 1e6;
}

/* ---- the section ------------------------------------------------------ */

/* The figures of the three kinds of burst. */
struct serial_figures {
	struct samples fs, fst, raw;   /* poll() reader, st_size reader, raw */
	struct samples pair, pair_st;  /* per-round ratios raw/emufs */
	struct proc_cost cfs, cfst;    /* emufs's cost, per reader */
	double self[3];        /* this program's CPU: poll, st_size, raw */
	long raw_reads;
	bool all_ok;
};

static void serial_report(struct serial_figures *f)
{
	const struct bench_opt *o = &bench_opt;
	double mib = o->burst_bytes / 1048576.0;
	stats_row("burst via emufs, poll() reader (s)", &f->fs, 1, "s");
	stats_row("burst via emufs, st_size reader (s)", &f->fst, 1, "s");
	stats_row("burst raw socket (s)", &f->raw, 1, "s");
	double raw_med = samples_median(&f->raw);
	double ratio = raw_med / samples_median(&f->fs);
	double ratio_st = raw_med / samples_median(&f->fst);
	printf("  %-34s %9.1f KiB/s raw, emufs %.1f (poll) %.1f (st_size)\n",
	       "throughput", mib * 1024 / raw_med,
	       mib * 1024 / samples_median(&f->fs),
	       mib * 1024 / samples_median(&f->fst));
	printf("  %-34s %9.2fx  (st_size reader %.2fx)  bytes %s\n",
	       "throughput emufs/raw", ratio, ratio_st,
	       f->all_ok ? "intact" : "CORRUPTED");
	double kib = o->bursts * o->burst_bytes / 1024.0;
	proc_cost_row("burst emufs cost, poll() reader", (struct proc_cost){ 0 },
		      f->cfs, kib, "KiB");
	proc_cost_row("burst emufs cost, st_size reader",
		      (struct proc_cost){ 0 }, f->cfst, kib, "KiB");
	printf("  %-34s %9.1f read() calls per KiB\n", "raw reader, for scale",
	       f->raw_reads / kib);
	double cpu_poll = (f->cfs.cpu_us + f->self[0]) / kib;
	double cpu_st = (f->cfst.cpu_us + f->self[1]) / kib;
	printf("  %-34s %9.1f us CPU per KiB raw; emufs+reader %.1f (poll) "
	       "%.1f (st_size)\n", "CPU outside QEMU", f->self[2] / kib,
	       cpu_poll, cpu_st);
	/* Judged on the per-round ratios: a round's bursts run seconds
	 * apart, the rounds a minute apart, and the load moves between. */
	double pr = samples_median(&f->pair);
	double pr_st = samples_median(&f->pair_st);
	printf("  %-34s %9.2fx  (st_size reader %.2fx)  p10-p90 %.2f-%.2f\n",
	       "per-round ratios, median", pr, pr_st,
	       samples_pct(&f->pair, 10), samples_pct(&f->pair, 90));
	stats_value("serial cpu outside qemu raw (us/KiB)", f->self[2] / kib,
		    "us");
	stats_value("serial cpu outside qemu emufs poll (us/KiB)", cpu_poll,
		    "us");
	stats_value("serial cpu outside qemu emufs st_size (us/KiB)", cpu_st,
		    "us");
	stats_value("serial pair ratio", pr, "x");
	stats_value("serial pair ratio st_size reader", pr_st, "x");
	stats_value("serial throughput ratio", ratio, "x");
	stats_value("serial throughput ratio st_size reader", ratio_st, "x");
	bench_verdict("serial 1 MiB burst, poll() reader",
		      pr >= 0.95 && f->all_ok, ">= 0.95x", "%.2fx raw, bytes %s",
		      pr, f->all_ok ? "intact" : "CORRUPT");
	bench_verdict("serial 1 MiB burst, st_size reader",
		      pr_st >= 0.95 && f->all_ok, ">= 0.95x",
		      "%.2fx raw, bytes %s", pr_st,
		      f->all_ok ? "intact" : "CORRUPT");
}

void serial_section(struct bench_ctx *c)
{
	const struct bench_opt *o = &bench_opt;
	bench_section("serial", "guest `burst N` through serial0 vs read "
		      "straight from a socket chardev of a QEMU launched by "
		      "hand");
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	struct serial_raw r;
	serial_raw_launch(&r);
	serial_buf = malloc(o->burst_bytes + 4096);
	if (!serial_buf)
		bench_fail("out of memory");
	struct serial_figures f = { .all_ok = true };
	bool ok;
	/* Only the side being measured runs: the other QEMU is paused, so
	 * each side has the same cores to itself. The order rotates. */
	for (int i = 0; i < o->bursts + 1; i++) {
		long n = i == 0 ? 65536 : o->burst_bytes;
		double t_round[3] = { 0 };
		for (int k = 0; k < 3; k++) {
			int turn = (i + k) % 3;
			double self0 = clk_cpu_us();
			if (turn < 2) {
				bool eager = turn == 0;
				raw_qmp_must(r.q, "{\"execute\":\"stop\"}");
				mnt_must(ctl, "resume");
				struct proc_cost a = proc_cost_now(c->pid);
				double t = serial_fs_burst(c, n, &ok, eager);
				struct proc_cost b = proc_cost_now(c->pid);
				t_round[turn] = t;
				if (i) {
					samples_add(eager ? &f.fs : &f.fst, t);
					proc_cost_add(eager ? &f.cfs : &f.cfst,
						      a, b);
				}
			} else {
				mnt_must(ctl, "pause");
				raw_qmp_must(r.q, "{\"execute\":\"cont\"}");
				long rc0 = raw_read_calls;
				double t = serial_raw_burst(&r, n, &ok);
				t_round[turn] = t;
				if (i) {
					samples_add(&f.raw, t);
					f.raw_reads += raw_read_calls - rc0;
				}
			}
			if (i)
				f.self[turn] += clk_cpu_us() - self0;
			f.all_ok &= ok;
		}
		if (i) {   /* the three bursts of a round ran seconds apart */
			samples_add(&f.pair, t_round[2] / t_round[0]);
			samples_add(&f.pair_st, t_round[2] / t_round[1]);
		}
	}
	proc_kill_wait(r.pid);
	close(r.sfd);
	raw_qmp_close(r.q);
	mnt_must(ctl, "resume");
	serial_report(&f);
	if (!f.all_ok)
		bench_hard_errors++;
	samples_free(&f.fs);
	samples_free(&f.fst);
	samples_free(&f.raw);
	samples_free(&f.pair);
	samples_free(&f.pair_st);
	free(serial_buf);
	serial_buf = NULL;
}
