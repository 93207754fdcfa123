/* pinwake.c - poll() wake-up of pin files with many watched pins (issue
 * 18, interface.md 3.5's 50 ms): bench_opt.pinwake instances, each with
 * its button pin (gpioA0) open in this process, so emufs's pin watcher
 * asks every instance each round. A raw qom-set of gpioA0 over a second
 * monitor of a random instance, at a random phase against the watcher's
 * period, and the time from the qom-set until poll() on that instance's
 * open file reports POLLPRI; --pinwake-toggles of them (1,000). The same
 * with one file open (one watched pin). And emufs's CPU while nothing
 * changes, per watched pin.
 *
 * Two passes. Paused instances first (QMP answers at once, no guest
 * runs): what emufs adds, the judged rows. Then running ones, the issue's
 * wording, with --pinwake-running-toggles (100): the test firmware
 * busy-polls its GPIO and UART, so 48 guests want 48 cores of the 2 and
 * every QMP reply, the raw qom-set's included, waits for one; the raw
 * qom-set's own time is printed beside, and the verdict is the same.
 * --pinwake-paused skips the running pass.
 *
 * With EMUFS_PIN_PROFILE=FILE in the environment, emufs writes its
 * watcher's rounds to FILE (src/core/pin.c) and this writes each toggle
 * to FILE.bench, on the same monotonic clock, so that a toggle's wake-up
 * splits into its parts (bench/pinprof.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* The scale instances, each a target with its own raw monitor. */
static void pinwake_config(char *path, size_t cap)
{
	const struct bench_opt *o = &bench_opt;
	snprintf(path, cap, "%s/pinwake.json", o->work);
	FILE *f = fopen(path, "w");
	if (!f)
		bench_fail("%s: %s", path, strerror(errno));
	fprintf(f, "{\n \"targets\": {");
	for (int i = 0; i < o->pinwake; i++)
		fprintf(f, "%s\n  \"t%02d\": {\"emulator\": \"qemu\", \"qemu\": "
			"{\"binary\": \"%s\", \"machine\": \"ast2500-evb\", "
			"\"kernel\": \"%s\", \"args\": [\"-nic\", \"none\", "
			"\"-qmp\", \"unix:%s/raw-p%02d.sock,server=on,wait=off\"]},"
			" \"gpio\": {\"button\": {\"qom\": \"/machine/soc/gpio\", "
			"\"property\": \"gpioA0\", \"direction\": \"in\"}}}",
			i ? "," : "", i, o->qemu, o->firmware, o->work, i);
	fprintf(f, "\n },\n \"instances\": {");
	for (int i = 0; i < o->pinwake; i++)
		fprintf(f, "%s\n  \"p%02d\": {\"target\": \"t%02d\"}",
			i ? "," : "", i, i);
	fprintf(f, "\n },\n \"settings\": {\"request_timeout_ms\": 20000}\n}\n");
	fclose(f);
}

struct pinwake_inst {
	int fd;                /* gpio/button, open: watched */
	struct raw_qmp *raw;
	int level;
};

/* polls samples of a toggle on a random one of the first `watched`
 * instances; the rest of the files are closed meanwhile. */
static void pinwake_round(struct pinwake_inst *v, int watched, int n,
			  const char *label, FILE *trace)
{
	char cmd[256], reply[4096], buf[8], name[96];
	struct samples lat = { 0 }, raw = { 0 };
	int missed = 0;
	if (trace)
		fprintf(trace, "width %d\n", watched);
	for (int k = 0; k < n + 3; k++) {
		int i = (int)(clk_rand01() * watched);
		struct pinwake_inst *p = &v[i];
		clk_sleep_ms(clk_rand01() * 25);     /* a random phase */
		p->level = !p->level;
		snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-set\","
			 "\"arguments\":{\"path\":\"/machine/soc/gpio\","
			 "\"property\":\"gpioA0\",\"value\":%s}}",
			 p->level ? "true" : "false");
		double t0 = clk_now_us();
		if (raw_qmp_cmd(p->raw, cmd, reply, sizeof reply))
			bench_fail("raw qom-set: %s", reply);
		double tset = clk_now_us();
		struct pollfd pfd = { p->fd, POLLPRI | POLLERR, 0 };
		int got = poll(&pfd, 1, 1000);
		double t1 = clk_now_us();
		ssize_t r = pread(p->fd, buf, sizeof buf, 0);
		bool ok = got == 1 && (pfd.revents & POLLPRI) && r == 2 &&
			  buf[0] == '0' + p->level;
		if (trace)
			fprintf(trace, "toggle p%02d %.0f %.0f %.0f %d\n", i,
				t0, tset, t1, ok);
		if (!ok) {
			missed++;
			continue;
		}
		if (k >= 3) {
			samples_add(&lat, t1 - t0);
			samples_add(&raw, tset - t0);
		}
	}
	snprintf(name, sizeof name, "wake-up, %s (ms)", label);
	stats_row(name, &lat, 1000, "ms");
	stats_row("  of it the raw qom-set (ms)", &raw, 1000, "ms");
	samples_free(&raw);
	double p95 = samples_pct(&lat, 95) / 1000;
	printf("  %-34s %9d of %d\n", "changes missed (none in 1 s)", missed,
	       n + 3);
	snprintf(name, sizeof name, "poll wake-up p95, %s", label);
	bench_verdict(name, !missed && p95 <= 20, "<= 20 ms, 0 missed",
		      "%.1f ms (median %.1f, max %.1f), %d missed", p95,
		      samples_median(&lat) / 1000,
		      samples_pct(&lat, 100) / 1000, missed);
	samples_free(&lat);
}

static void pinwake_pass(bool paused, int toggles)
{
	int N = bench_opt.pinwake;
	bench_section("pinwake", paused
		      ? "poll() on gpio/button of many instances (paused): "
			"wake-up after a raw qom-set of gpioA0"
		      : "poll() on gpio/button of many instances (running): "
			"wake-up after a raw qom-set of gpioA0");
	char cfg[PATH_MAX], path[PATH_MAX + 64];
	pinwake_config(cfg, sizeof cfg);
	struct mnt *m = mnt_start(cfg, "pinwake");
	struct pinwake_inst *v = calloc(N, sizeof *v);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%s/p%02d/ctl", m->dir, i);
		mnt_must(path, paused ? "start paused" : "start");
		snprintf(path, sizeof path, "%s/raw-p%02d.sock",
			 bench_opt.work, i);
		v[i].raw = raw_qmp_open(raw_connect(path, 20000));
		v[i].fd = -1;
	}
	clk_sleep_ms(1500);    /* the QEMUs settle (see scale.c) */
	char buf[8];
	const char *prof = getenv("EMUFS_PIN_PROFILE");
	FILE *trace = NULL;
	if (prof) {
		snprintf(path, sizeof path, "%s.bench", prof);
		if (!(trace = fopen(path, "w")))
			bench_fail("%s: %s", path, strerror(errno));
	}
	/* What the QEMUs cost with no pin watched: the rows below less
	 * this are what answering the watcher costs them. */
	struct proc_cost q0 = proc_children_cost(m->emufs);
	clk_sleep_ms(2000);
	proc_cost_row(paused ? "the QEMUs (paused), no pin watched"
			     : "the QEMUs, no pin watched", q0,
		      proc_children_cost(m->emufs), 2.0 * N, "QEMU-second");
	int widths[] = { 1, N };   /* one watched pin, then all */
	for (int k = 0; k < 2; k++) {
		int w = widths[k];
		for (int i = 0; i < w; i++) {
			snprintf(path, sizeof path, "%s/p%02d/gpio/button",
				 m->dir, i);
			v[i].fd = open(path, O_RDONLY);
			if (v[i].fd < 0 || pread(v[i].fd, buf, sizeof buf, 0) != 2)
				bench_fail("open/read %s", path);
			v[i].level = buf[0] == '1';
		}
		char label[48];
		snprintf(label, sizeof label, "%d watched pin%s%s", w,
			 w == 1 ? "" : "s", paused ? "" : ", running");
		pinwake_round(v, w, toggles, label, trace);
		/* The watcher's cost while nothing changes: emufs's, and the
		 * QEMUs' answering it (all of theirs while paused; running,
		 * their guests' too). */
		struct proc_cost a = proc_cost_now(m->emufs);
		struct proc_cost qa = proc_children_cost(m->emufs);
		clk_sleep_ms(2000);
		struct proc_cost b = proc_cost_now(m->emufs);
		struct proc_cost qb = proc_children_cost(m->emufs);
		snprintf(label, sizeof label, "idle watcher, %d pin%s%s, emufs",
			 w, w == 1 ? "" : "s", paused ? "" : " running");
		proc_cost_row(label, a, b, 2.0 * w, "pin-second");
		snprintf(label, sizeof label, "  the %d QEMU%s%s", N,
			 N == 1 ? "" : "s", paused ? " (paused)" : "");
		proc_cost_row(label, qa, qb, 2.0 * w, "pin-second");
		for (int i = 0; i < w; i++) {
			close(v[i].fd);
			v[i].fd = -1;
		}
	}
	if (trace)
		fclose(trace);
	for (int i = 0; i < N; i++)
		raw_qmp_close(v[i].raw);
	free(v);
	mnt_stop(m);
}

void pinwake_section(void)
{
	pinwake_pass(true, bench_opt.pinwake_toggles);
	if (!bench_opt.pinwake_paused)
		pinwake_pass(false, bench_opt.pinwake_running_toggles);
}
