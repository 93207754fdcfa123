/* serial.c - the guest's serial output through emufs against reading it
 * straight from QEMU's chardev:
 *
 *   serial    1 MiB guest burst read through follow/serial0 (blocking
 *             reads), serial0 (poll(), or st_size like `tail -f`)   vs the
 *             best raw reader: QEMU's pipe chardev as emufs runs it, read
 *             in 64 KiB reads with emufs's own rests (serial_raw_pipe_until)
 *   logsize   fstat + tail read of serial0, small log vs after the bursts
 *
 * The test firmware answers `burst N` with N bytes of a known pattern and
 * BENCH_MARKER; every burst is checked byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "bench.h"
#include "core/channel.h"   /* the rests of the raw reader: emufs's own */

/* The raw reader's read size: what emufs's channel reads at once. */
#define SERIAL_RAW_READ (64 * 1024)

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

void serial_raw_launch(struct serial_raw *r, bool pipe)
{
	const struct bench_opt *o = &bench_opt;
	char qmp[PATH_MAX + 32], ser[PATH_MAX + 32], qarg[PATH_MAX + 64],
	     carg[PATH_MAX + 64], fifo[PATH_MAX + 40];
	snprintf(qmp, sizeof qmp, "%s/rawser-qmp.sock", o->work);
	snprintf(ser, sizeof ser, "%s/rawser.%s", o->work,
		 pipe ? "pipe" : "sock");
	unlink(qmp);
	unlink(ser);
	snprintf(qarg, sizeof qarg, "unix:%s,server=on,wait=off", qmp);
	r->pipe = pipe;
	if (pipe) {
		/* As emufs runs its QEMUs (qemu_argv.c, qemu_sock.c): the pipe
		 * chardev through a mux on two FIFOs opened read-write, so
		 * QEMU's opens never wait for a peer. */
		snprintf(carg, sizeof carg, "pipe,id=s0,path=%s,mux=on", ser);
		int fds[2];
		for (int i = 0; i < 2; i++) {
			snprintf(fifo, sizeof fifo, "%s%s", ser,
				 i ? ".in" : ".out");
			unlink(fifo);
			if (mkfifo(fifo, 0600) < 0 ||
			    (fds[i] = open(fifo, O_RDWR | O_NONBLOCK |
					   O_CLOEXEC)) < 0)
				bench_fail("fifo %s: %s", fifo,
					   strerror(errno));
		}
		r->sfd = fds[0];
		r->wfd = fds[1];
	} else {
		snprintf(carg, sizeof carg,
			 "socket,id=s0,path=%s,server=on,wait=off", ser);
	}
	char *argv[] = { (char *)o->qemu, "-machine", "ast2500-evb", "-S",
			 "-no-user-config", "-display", "none", "-monitor",
			 "none", "-parallel", "none", "-nic", "none",
			 "-kernel", (char *)o->firmware, "-qmp", qarg,
			 "-chardev", carg, "-serial", "chardev:s0", NULL };
	r->pid = proc_spawn(argv, bench_logfd, SIGKILL);
	proc_track(r->pid);
	r->q = raw_qmp_open(raw_connect(qmp, 10000));
	if (!pipe)
		r->sfd = r->wfd = raw_connect(ser, 10000);
	raw_qmp_must(r->q, "{\"execute\":\"cont\"}");
	char buf[256];
	if (pipe ? serial_raw_pipe_until(r->sfd, buf, sizeof buf, BENCH_BANNER,
					 NULL) < 0
		 : raw_read_until(r->sfd, buf, sizeof buf, BENCH_BANNER,
				  5000) < 0)
		bench_fail("raw serial QEMU: no banner");
}

void serial_raw_close(struct serial_raw *r)
{
	proc_kill_wait(r->pid);
	raw_qmp_close(r->q);
	close(r->sfd);
	if (r->wfd != r->sfd)
		close(r->wfd);
}

/* The best raw reader of QEMU's serial pipe: what emufs's channel does
 * (src/core/channel.h), without the log and the file system. Large
 * reads; after a read that drained the pipe it rests, 200 us at first,
 * twice as long (up to 10 ms) while the guest streamed through the rest,
 * so one read takes a rest's bytes at once; it blocks in poll() only
 * when a rest brought nothing. Whether the guest streamed is judged on
 * what the read right after the rest got (emufs asks FIONREAD), one
 * syscall less. Reads into buf until it holds needle: bytes read, or -1
 * (end of file, error, or 60 s). *calls counts every syscall, if set. */
ssize_t serial_raw_pipe_until(int fd, char *buf, size_t cap,
			      const char *needle, long *calls)
{
	size_t got = 0, nl = strlen(needle);
	unsigned rest_us = 0;          /* the rest just taken, 0: none */
	long sys = 0;
	double end = clk_now_us() + 60e6;
	while (got < cap) {
		size_t want = cap - got < SERIAL_RAW_READ ? cap - got
							  : SERIAL_RAW_READ;
		ssize_t n = read(fd, buf + got, want);
		sys++;
		if (n < 0 && errno == EAGAIN) {
			if (clk_now_us() > end)
				break;
			struct pollfd p = { fd, POLLIN, 0 };
			poll(&p, 1, 1000);
			sys++;
			rest_us = 0;           /* quiet: the next rest is short */
			continue;
		}
		if (n <= 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		size_t from = got > nl ? got - nl : 0;
		got += n;
		if (memmem(buf + from, got - from, needle, nl)) {
			if (calls)
				*calls += sys;
			return got;
		}
		if ((size_t)n == want)
			continue;              /* more may wait: no rest */
		bool streamed = rest_us && (unsigned long long)n * 1000 >=
			(unsigned long long)rest_us * CHANNEL_STREAM_KBPS;
		rest_us = !streamed ? CHANNEL_COALESCE_US
			: rest_us * 2 < CHANNEL_COALESCE_MAX_US ? rest_us * 2
			: CHANNEL_COALESCE_MAX_US;
		clk_sleep_ms(rest_us / 1000.0);
		sys++;
	}
	if (calls)
		*calls += sys;
	return -1;
}

static char *serial_buf;       /* one burst, either side */

/* The end of a burst read by who: checks every byte (*ok), returns the
 * seconds since t0. */
static double serial_done(const char *who, const char *cmd, long n,
			  size_t got, double t0, bool *ok)
{
	double t1 = clk_now_us();
	long bad = serial_check_burst(serial_buf, got, cmd, n);
	if (bad >= 0)
		fprintf(stderr, "emufs-bench: %s burst wrong at offset %ld\n",
			who, bad);
	*ok = bad < 0;
	return (t1 - t0) / 1e6;
}

/* One burst straight from the pipe: seconds, and whether it was intact;
 * its syscalls added to *calls. */
static double serial_raw_burst(struct serial_raw *r, long n, bool *ok,
			       long *calls)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	size_t cap = n + 4096;
	double t0 = clk_now_us();
	if (write(r->wfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("raw serial write: %s", strerror(errno));
	ssize_t got = serial_raw_pipe_until(r->sfd, serial_buf, cap,
					    BENCH_MARKER, calls);
	*calls += 1;
	if (got < 0)
		bench_fail("raw serial: no BURST DONE within 60 s");
	return serial_done("raw", cmd, n, got, t0, ok);
}

/* ---- the emufs side --------------------------------------------------- */

/* How a burst is read through emufs. */
enum serial_reader {
	SERIAL_FOLLOW,         /* blocking read()s of follow/serial0 */
	SERIAL_POLL,           /* serial0: poll() POLLIN, pread what grew */
	SERIAL_ST_SIZE,        /* serial0: st_size every SERIAL_TAIL_MS */
	SERIAL_RAW,            /* not emufs: serial_raw_burst */
	SERIAL_KINDS
};

static const char *const serial_reader_name[SERIAL_KINDS] = {
	"follow/serial0 reader", "poll() reader", "st_size reader",
	"raw pipe reader",
};

/* One burst through follow/serial0: from the write of the command until
 * a blocking read() returned the marker. */
static double serial_follow_burst(struct bench_ctx *c, long n, bool *ok)
{
	char path[PATH_MAX + 16], fpath[PATH_MAX + 32], cmd[64];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	snprintf(fpath, sizeof fpath, "%s/follow/serial0", c->b0);
	snprintf(cmd, sizeof cmd, "burst %ld\n", n);
	int rfd = open(fpath, O_RDONLY), wfd = open(path, O_WRONLY);
	if (rfd < 0 || wfd < 0)
		bench_fail("open %s: %s", rfd < 0 ? fpath : path,
			   strerror(errno));
	if (lseek(rfd, 0, SEEK_END) < 0)   /* only what comes next */
		bench_fail("lseek %s: %s", fpath, strerror(errno));
	size_t cap = n + 4096, got = 0, ml = strlen(BENCH_MARKER);
	double t0 = clk_now_us();
	if (write(wfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("write %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t r = read(rfd, serial_buf + got, cap - got);
		if (r <= 0)
			bench_fail("read %s: %s", fpath,
				   r ? strerror(errno) : "end of file");
		size_t from = got > ml ? got - ml : 0;
		got += r;
		if (memmem(serial_buf + from, got - from, BENCH_MARKER, ml))
			break;
		if (got == cap)
			bench_fail("%s: no marker in %zu bytes", fpath, got);
	}
	double t = serial_done("follow/", cmd, n, got, t0, ok);
	close(rfd);
	close(wfd);
	return t;
}

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
	double t = serial_done("serial0", cmd, n, got, t0, ok);
	close(rfd);
	close(wfd);
	return t;
}

/* ---- the section ------------------------------------------------------ */

/* The figures of each kind of reader. */
struct serial_figures {
	struct samples t[SERIAL_KINDS];      /* seconds per burst */
	struct samples pair[SERIAL_RAW];     /* per-round ratios raw/emufs */
	struct proc_cost cost[SERIAL_RAW];   /* emufs's, per reader */
	double self[SERIAL_KINDS];   /* this program's CPU per reader */
	struct proc_cost raw;        /* the raw reader's, in its bursts */
	long raw_calls;              /* its syscalls, all of them */
	bool all_ok;
};

/* The KiB the raw reader read in the counted rounds (it reads one burst
 * more per round than each emufs reader). */
static double serial_raw_kib(struct serial_figures *f)
{
	return f->t[SERIAL_RAW].n * bench_opt.burst_bytes / 1024.0;
}

/* One reader's row of cost: emufs's CPU, read/write-family syscalls and
 * context switches per KiB, against the raw reader's. */
static void serial_cost_row(struct serial_figures *f, int k, double kib)
{
	char name[96];
	const struct proc_cost *e = &f->cost[k];
	double raw = f->raw.cpu_us / serial_raw_kib(f);
	snprintf(name, sizeof name, "emufs per KiB, %s", serial_reader_name[k]);
	printf("  %-34s %9.1f us CPU (%.2fx raw), %.1f syscalls (r+w), "
	       "%.1f switches; reader %.1f us\n", name, e->cpu_us / kib,
	       e->cpu_us / kib / raw, (e->syscr + e->syscw) / kib,
	       e->switches / kib, f->self[k] / kib);
	snprintf(name, sizeof name, "serial emufs cpu per KiB, %s (us)",
		 serial_reader_name[k]);
	stats_value(name, e->cpu_us / kib, "us");
	snprintf(name, sizeof name, "serial emufs syscalls per KiB, %s",
		 serial_reader_name[k]);
	stats_value(name, (e->syscr + e->syscw) / kib, "");
}

static void serial_report(struct serial_figures *f)
{
	const struct bench_opt *o = &bench_opt;
	double kib = o->bursts * o->burst_bytes / 1024.0;
	char name[96];
	for (int k = 0; k < SERIAL_KINDS; k++) {
		snprintf(name, sizeof name, "burst, %s (s)",
			 serial_reader_name[k]);
		stats_row(name, &f->t[k], 1, "s");
	}
	double raw_med = samples_median(&f->t[SERIAL_RAW]);
	printf("  %-34s %9.1f KiB/s raw; emufs %.1f (follow/) %.1f (poll) "
	       "%.1f (st_size), bytes %s\n", "throughput, medians",
	       kib / o->bursts / raw_med,
	       kib / o->bursts / samples_median(&f->t[SERIAL_FOLLOW]),
	       kib / o->bursts / samples_median(&f->t[SERIAL_POLL]),
	       kib / o->bursts / samples_median(&f->t[SERIAL_ST_SIZE]),
	       f->all_ok ? "intact" : "CORRUPTED");
	double rkib = serial_raw_kib(f);
	printf("  %-34s %9.1f us CPU, %.1f syscalls (all; r+w %.1f), %.1f "
	       "switches per KiB\n", "raw pipe reader, itself",
	       f->raw.cpu_us / rkib, f->raw_calls / rkib,
	       (f->raw.syscr + f->raw.syscw) / rkib, f->raw.switches / rkib);
	stats_value("serial raw reader cpu per KiB (us)", f->raw.cpu_us / rkib,
		    "us");
	for (int k = 0; k < SERIAL_RAW; k++)
		serial_cost_row(f, k, kib);
	/* Judged on every burst's ratio to the raw bursts around it (the
	 * goal: >= 0.95x in every round); p5, as the worse end is what
	 * counts here. */
	for (int k = 0; k < SERIAL_RAW; k++) {
		struct samples *p = &f->pair[k];
		double worst = samples_pct(p, 0);
		snprintf(name, sizeof name, "ratio raw/emufs, %s",
			 serial_reader_name[k]);
		printf("  %-34s %9.2fx  p5 %.2fx  worst %.2fx  n=%zu\n", name,
		       samples_median(p), samples_pct(p, 5), worst, p->n);
		snprintf(name, sizeof name, "serial pair ratio worst, %s",
			 serial_reader_name[k]);
		stats_value(name, worst, "x");
		snprintf(name, sizeof name, "serial 1 MiB burst, %s",
			 serial_reader_name[k]);
		bench_verdict(name, worst >= 0.95 && f->all_ok,
			      ">= 0.95x each round", "worst %.2fx, median "
			      "%.2fx, bytes %s", worst, samples_median(p),
			      f->all_ok ? "intact" : "CORRUPT");
	}
	for (int k = 0; k < SERIAL_RAW; k++) {
		double x = f->cost[k].cpu_us / kib / (f->raw.cpu_us / rkib);
		snprintf(name, sizeof name, "serial emufs CPU/KiB, %s",
			 serial_reader_name[k]);
		bench_verdict(name, x <= 1.5, "<= 1.5x raw reader",
			      "%.2fx (%.1f vs %.1f us/KiB)", x,
			      f->cost[k].cpu_us / kib, f->raw.cpu_us / rkib);
	}
}

/* One burst of reader k, only its own QEMU running. */
static double serial_one(struct bench_ctx *c, struct serial_raw *r,
			 struct serial_figures *f, int k, long n, bool keep,
			 bool *ok)
{
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	if (k == SERIAL_RAW) {
		mnt_must(ctl, "pause");
		raw_qmp_must(r->q, "{\"execute\":\"cont\"}");
		long calls = 0;
		struct proc_cost a = proc_cost_now(getpid());
		double t = serial_raw_burst(r, n, ok, &calls);
		struct proc_cost b = proc_cost_now(getpid());
		if (keep) {
			proc_cost_add(&f->raw, a, b);
			f->raw_calls += calls;
		}
		return t;
	}
	raw_qmp_must(r->q, "{\"execute\":\"stop\"}");
	mnt_must(ctl, "resume");
	double self0 = clk_cpu_us();
	struct proc_cost a = proc_cost_now(c->pid);
	double t = k == SERIAL_FOLLOW ? serial_follow_burst(c, n, ok)
		 : serial_fs_burst(c, n, ok, k == SERIAL_POLL);
	struct proc_cost b = proc_cost_now(c->pid);
	if (keep) {
		proc_cost_add(&f->cost[k], a, b);
		f->self[k] += clk_cpu_us() - self0;
	}
	return t;
}

void serial_section(struct bench_ctx *c)
{
	const struct bench_opt *o = &bench_opt;
	bench_section("serial", "guest `burst N` through emufs vs read "
		      "straight from the pipe chardev of a QEMU launched by "
		      "hand, by a reader that rests as emufs does");
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	struct serial_raw r;
	serial_raw_launch(&r, true);
	serial_buf = malloc(o->burst_bytes + 4096);
	if (!serial_buf)
		bench_fail("out of memory");
	struct serial_figures f = { .all_ok = true };
	bool ok;
	/* What emufs spends with its instance running and nobody reading:
	 * part of every burst's cost below, that no read causes. */
	raw_qmp_must(r.q, "{\"execute\":\"stop\"}");
	mnt_must(ctl, "resume");
	struct proc_cost i0 = proc_cost_now(c->pid);
	clk_sleep_ms(1000);
	struct proc_cost i1 = proc_cost_now(c->pid);
	printf("  %-34s %9.1f us CPU, %ld syscalls (r+w), %ld switches per "
	       "second\n", "emufs idle, instance running", i1.cpu_us - i0.cpu_us,
	       i1.syscr + i1.syscw - i0.syscr - i0.syscw,
	       i1.switches - i0.switches);
	/* Only the side being measured runs: the other QEMU is paused, so
	 * each side has the same cores to itself. A round is raw, A, raw,
	 * B, raw, C, raw, the readers' order rotating: each emufs burst is
	 * judged against the mean of the raw bursts just before and after
	 * it, seconds apart, as the load of the machine moves. Round 0
	 * (64 KiB) warms every path and is not counted. */
	for (int i = 0; i < o->bursts + 1; i++) {
		long n = i == 0 ? 65536 : o->burst_bytes;
		double before = serial_one(c, &r, &f, SERIAL_RAW, n, i > 0, &ok);
		f.all_ok &= ok;
		if (i)
			samples_add(&f.t[SERIAL_RAW], before);
		for (int j = 0; j < SERIAL_RAW; j++) {
			int k = (i + j) % SERIAL_RAW;
			double t = serial_one(c, &r, &f, k, n, i > 0, &ok);
			f.all_ok &= ok;
			double after = serial_one(c, &r, &f, SERIAL_RAW, n,
						  i > 0, &ok);
			f.all_ok &= ok;
			if (i) {
				samples_add(&f.t[k], t);
				samples_add(&f.t[SERIAL_RAW], after);
				samples_add(&f.pair[k], (before + after) / 2 / t);
			}
			before = after;
		}
	}
	serial_raw_close(&r);
	mnt_must(ctl, "resume");
	serial_report(&f);
	if (!f.all_ok)
		bench_hard_errors++;
	for (int k = 0; k < SERIAL_KINDS; k++)
		samples_free(&f.t[k]);
	for (int k = 0; k < SERIAL_RAW; k++)
		samples_free(&f.pair[k]);
	free(serial_buf);
	serial_buf = NULL;
}
