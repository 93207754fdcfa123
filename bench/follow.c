/* follow.c - a reader blocked in follow/ against a raw reader blocked on
 * the same thing, woken by the same kind of change:
 *
 *   follow  byte   '\n' written to serial0, echoed by the firmware, to the
 *                  wake of a read() of follow/serial0   vs the same echo
 *                  read() from the socket chardev of a QEMU run by hand
 *           state  `echo pause|resume > ctl` to the wake of a read() of
 *                  follow/state   vs a raw QMP reader, on a second monitor
 *                  of the same QEMU, woken by the STOP/RESUME event of the
 *                  same change
 *
 * Each reader is a thread of its own that the kernel shows asleep in
 * read() (proc_thread_in_read) before the change is made: every figure is
 * a wake-up, never a late read that found the data waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define FOLLOW_BLOCK 10        /* samples per side before the QEMUs swap */
#define FOLLOW_WAIT_S 3        /* a wake later than this is a miss */

/* One reader thread: at each go, one blocking read() of fd, or with q one
 * QMP event named event; then done. go and done order every other field
 * between the two threads, so there is no lock. */
struct follow_reader {
	pthread_t th;
	_Atomic pid_t tid;     /* 0 until the thread runs */
	sem_t go, done;
	int fd;                /* a follow/ file or a socket; -1 with q */
	struct raw_qmp *q;
	const char *event;     /* with q: STOP or RESUME */
	bool quit;
	char buf[512];
	ssize_t n;             /* what the read returned, or -errno */
	double t_woke;         /* clk_now_us() as it returned */
};

static void *follow_reader_main(void *arg)
{
	struct follow_reader *r = arg;
	atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
	for (;;) {
		while (sem_wait(&r->go) < 0)
			;
		if (r->quit)
			return NULL;
		ssize_t n;
		if (r->q) {
			n = raw_qmp_event(r->q, r->event, r->buf,
					  sizeof r->buf) ? -EIO
					: (ssize_t)strlen(r->buf);
		} else {
			n = read(r->fd, r->buf, sizeof r->buf - 1);
			if (n < 0)
				n = -errno;
		}
		r->t_woke = clk_now_us();
		r->n = n;
		if (n >= 0)
			r->buf[n] = '\0';
		sem_post(&r->done);
	}
}

static void follow_reader_start(struct follow_reader *r, int fd,
				struct raw_qmp *q)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->q = q;
	sem_init(&r->go, 0, 0);
	sem_init(&r->done, 0, 0);
	if (bench_thread_create(&r->th, follow_reader_main, r))
		bench_fail("pthread_create: %s", strerror(errno));
}

static void follow_reader_stop(struct follow_reader *r)
{
	r->quit = true;
	sem_post(&r->go);
	pthread_join(r->th, NULL);
	sem_destroy(&r->go);
	sem_destroy(&r->done);
}

/* Let r read, and return once the kernel shows it asleep in read(). A
 * read that returns at once had stale data: it fails the run, as every
 * figure after it would be wrong. */
static void follow_arm(struct follow_reader *r, const char *what)
{
	sem_post(&r->go);
	double end = clk_now_us() + 2e6;
	while (!atomic_load(&r->tid) || !proc_thread_in_read(r->tid)) {
		if (sem_trywait(&r->done) == 0)
			bench_fail("%s: the reader returned %zd before the "
				   "change (\"%.40s\")", what, r->n,
				   r->n > 0 ? r->buf : "");
		if (clk_now_us() > end)
			bench_fail("%s: the reader is not in read() after 2 s",
				   what);
		clk_sleep_ms(0.05);
	}
}

/* Wait for r's read to return: true if it did within FOLLOW_WAIT_S. If
 * not, a signal ends the read (EINTR) and the sample is a miss. */
static bool follow_woke(struct follow_reader *r)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += FOLLOW_WAIT_S;
	while (sem_timedwait(&r->done, &ts) < 0)
		if (errno == ETIMEDOUT) {
			while (sem_trywait(&r->done) < 0) {
				pthread_kill(r->th, BENCH_SIG_INTERRUPT);
				clk_sleep_ms(10);
			}
			return false;
		}
	return true;
}

static void follow_p95_row(const char *name, struct samples *s)
{
	stats_row(name, s, 1000, "ms");
	printf("  %-34s %9.3f ms\n", "  p95", samples_pct(s, 95) / 1000);
}

/* ---- guest byte to reader ---------------------------------------------- */

struct follow_byte {
	struct samples fs, raw;
	struct proc_cost cost;
	int fs_ops;            /* samples inside cost, warm-up included */
	int missed, wrong;
};

/* One '\n' into wfd, echoed into what r blocks on: the time to r's wake. */
static void follow_byte_sample(struct follow_reader *r, int wfd, bool keep,
			       struct samples *s, struct follow_byte *f,
			       const char *what)
{
	follow_arm(r, what);
	double t0 = clk_now_us();
	if (write(wfd, "\n", 1) != 1)
		bench_fail("%s: write: %s", what, strerror(errno));
	if (!follow_woke(r)) {
		f->missed++;
		return;
	}
	if (r->n != 1 || r->buf[0] != '\n') {
		f->wrong++;
		return;
	}
	if (keep)
		samples_add(s, r->t_woke - t0);
}

static void follow_byte_part(struct bench_ctx *c, const char *ctl)
{
	char path[PATH_MAX + 32], fpath[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/serial0", c->b0);
	snprintf(fpath, sizeof fpath, "%s/follow/serial0", c->b0);
	int wfd = open(path, O_WRONLY), rfd = open(fpath, O_RDONLY);
	if (wfd < 0 || rfd < 0)
		bench_fail("open %s: %s", wfd < 0 ? path : fpath,
			   strerror(errno));
	if (lseek(rfd, 0, SEEK_END) < 0)   /* wait only for what comes next */
		bench_fail("lseek %s: %s", fpath, strerror(errno));
	struct serial_raw raw;
	serial_raw_launch(&raw, false);
	struct follow_reader rf, rr;
	follow_reader_start(&rf, rfd, NULL);
	follow_reader_start(&rr, raw.sfd, NULL);
	struct follow_byte f = { 0 };
	int blocks = (bench_opt.polls + FOLLOW_BLOCK - 1) / FOLLOW_BLOCK;
	/* Only the side being measured runs (the firmware spins on its UART
	 * and would hold a core); the order of the sides alternates. */
	for (int b = 0; b < 2 * blocks; b++) {
		bool fs_turn = (b % 2 == 0) == (b / 2 % 2 == 0);
		if (fs_turn) {
			raw_qmp_must(raw.q, "{\"execute\":\"stop\"}");
			mnt_must(ctl, "resume");
		} else {
			mnt_must(ctl, "pause");
			raw_qmp_must(raw.q, "{\"execute\":\"cont\"}");
		}
		struct proc_cost a = proc_cost_now(c->pid);
		/* The first two of a block warm the path after the swap. */
		for (int i = 0; i < FOLLOW_BLOCK + 2; i++) {
			if (fs_turn)
				follow_byte_sample(&rf, wfd, i >= 2, &f.fs, &f,
						   fpath);
			else
				follow_byte_sample(&rr, raw.sfd, i >= 2, &f.raw,
						   &f, "raw serial socket");
		}
		if (fs_turn) {
			proc_cost_add(&f.cost, a, proc_cost_now(c->pid));
			f.fs_ops += FOLLOW_BLOCK + 2;
		}
	}
	mnt_must(ctl, "resume");
	follow_reader_stop(&rf);
	follow_reader_stop(&rr);
	serial_raw_close(&raw);
	close(rfd);
	close(wfd);

	follow_p95_row("byte: follow/serial0 wake (ms)", &f.fs);
	follow_p95_row("byte: raw socket wake (ms)", &f.raw);
	printf("  %-34s %9.2fx\n", "ratio emufs/raw (medians)",
	       samples_median(&f.fs) / samples_median(&f.raw));
	proc_cost_row("byte: emufs cost (write + wake)",
		      (struct proc_cost){ 0 }, f.cost, f.fs_ops, "echo");
	if (f.missed || f.wrong)
		printf("  %d samples not woken within %d s, %d woken with "
		       "other bytes than the echo\n", f.missed, FOLLOW_WAIT_S,
		       f.wrong);
	double p95 = samples_pct(&f.fs, 95) / 1000;
	stats_value("follow byte wake p95 (ms)", p95, "ms");
	stats_value("follow byte raw p95 (ms)", samples_pct(&f.raw, 95) / 1000,
		    "ms");
	bench_verdict("follow wake, guest byte, p95",
		      !f.missed && !f.wrong && p95 <= 20, "<= 20 ms",
		      "%.1f ms (raw %.1f, max %.1f)", p95,
		      samples_pct(&f.raw, 95) / 1000,
		      samples_pct(&f.fs, 100) / 1000);
	samples_free(&f.fs);
	samples_free(&f.raw);
}

/* ---- state change to reader -------------------------------------------- */

static void follow_state_part(struct bench_ctx *c, const char *ctl)
{
	char fpath[PATH_MAX + 32], line[4096];
	snprintf(fpath, sizeof fpath, "%s/follow/state", c->b0);
	int rfd = open(fpath, O_RDONLY);
	if (rfd < 0)
		bench_fail("open %s: %s", fpath, strerror(errno));
	ssize_t n = read(rfd, line, sizeof line - 1);
	if (n != 8 || memcmp(line, "running\n", 8))
		bench_fail("%s: \"%.*s\" at open, not running", fpath,
			   n > 0 ? (int)n : 0, line);
	/* Past every event queued on the raw monitor so far. */
	if (raw_qmp_cmd(c->raw, "{\"execute\":\"query-status\"}", line,
			sizeof line))
		bench_fail("raw query-status: %s", line);
	struct follow_reader rf, rr;
	follow_reader_start(&rf, rfd, NULL);
	follow_reader_start(&rr, -1, c->raw);
	struct samples fs = { 0 }, raw = { 0 }, ctlt = { 0 }, after = { 0 },
		       behind = { 0 };
	struct proc_cost c0 = proc_cost_now(c->pid);
	int changes = bench_opt.polls + 2 + bench_opt.polls % 2, missed = 0,
	    wrong = 0;
	for (int i = 0; i < changes; i++) {   /* even: ends running */
		bool pause = i % 2 == 0;
		rr.event = pause ? "STOP" : "RESUME";
		follow_arm(&rf, fpath);
		follow_arm(&rr, "raw QMP monitor");
		double t0 = clk_now_us();
		mnt_must(ctl, pause ? "pause" : "resume");
		double t_ret = clk_now_us();
		bool ok_fs = follow_woke(&rf), ok_raw = follow_woke(&rr);
		if (!ok_fs || !ok_raw) {
			missed++;
			continue;
		}
		if (strcmp(rf.buf, pause ? "paused\n" : "running\n")) {
			wrong++;
			continue;
		}
		if (i < 2)
			continue;
		samples_add(&fs, rf.t_woke - t0);
		samples_add(&raw, rr.t_woke - t0);
		samples_add(&ctlt, t_ret - t0);
		samples_add(&after, rf.t_woke - t_ret);
		samples_add(&behind, rf.t_woke - rr.t_woke);
	}
	struct proc_cost c1 = proc_cost_now(c->pid);
	follow_reader_stop(&rf);
	follow_reader_stop(&rr);
	close(rfd);

	follow_p95_row("state: follow/state wake (ms)", &fs);
	follow_p95_row("state: raw QMP event wake (ms)", &raw);
	stats_row("state: ctl write alone (ms)", &ctlt, 1000, "ms");
	stats_row("state: wake after ctl returned (ms)", &after, 1000, "ms");
	stats_row("state: wake behind raw event (ms)", &behind, 1000, "ms");
	proc_cost_row("state: emufs cost (ctl + wake)", c0, c1, changes,
		      "change");
	if (missed || wrong)
		printf("  %d changes not seen within %d s, %d with another "
		       "line than the new state\n", missed, FOLLOW_WAIT_S,
		       wrong);
	double p95 = samples_pct(&fs, 95) / 1000;
	stats_value("follow state wake p95 (ms)", p95, "ms");
	stats_value("follow state raw p95 (ms)", samples_pct(&raw, 95) / 1000,
		    "ms");
	bench_verdict("follow wake, state change, p95",
		      !missed && !wrong && p95 <= 20, "<= 20 ms",
		      "%.1f ms (raw %.1f, max %.1f)", p95,
		      samples_pct(&raw, 95) / 1000,
		      samples_pct(&fs, 100) / 1000);
	samples_free(&fs);
	samples_free(&raw);
	samples_free(&ctlt);
	samples_free(&after);
	samples_free(&behind);
}

void follow_section(struct bench_ctx *c)
{
	bench_section("follow", "a reader blocked in read() of follow/serial0 "
		      "and follow/state: time to its wake, vs a raw reader "
		      "blocked on the same change");
	char ctl[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/ctl", c->b0);
	mnt_must(ctl, "resume");
	follow_byte_part(c, ctl);
	follow_state_part(c, ctl);
}
