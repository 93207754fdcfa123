/* guest.c - the Linux guest of the kit (`make guest-kit`, the virt-linux
 * board) through emufs against the same QEMU with `-serial stdio`:
 *
 *   boot   `echo start > ctl` until `guest# ` in follow/serial0
 *          vs QEMU spawned with -serial stdio until `guest# ` on its stdout
 *   bulk   the guest prints --bulk-bytes (4 MiB) on its console: from the
 *          command written to serial0 (to QEMU's stdin) until the end
 *          marker is read back
 *
 * Each round boots once per side and runs one bulk on that boot; the side
 * that goes first alternates. Needs qemu-system-aarch64 and the kit
 * (--guests DIR, `make bench` passes build/guests); without them the rows
 * say so and are not judged.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define GUEST_QEMU "qemu-system-aarch64"
/* Printed after the bulk; the command's echo holds $((6*7)), not 42. */
#define GUEST_MARKER "BULK-42"

static char guest_kernel[PATH_MAX], guest_initrd[PATH_MAX + 16];

/* The QEMU arguments both sides share (the virt-linux board). */
#define GUEST_ARGS_JSON							\
	"\"-cpu\", \"cortex-a53\", \"-m\", \"256\", \"-nic\", \"none\", "	\
	"\"-initrd\", \"%s\", \"-append\", \"console=ttyAMA0 quiet\""

bool guest_config(char *cfg, size_t cap)
{
	const struct bench_opt *o = &bench_opt;
	struct stat st;
	/* Absolute: emufs resolves a relative kernel against the config's
	 * directory, and QEMU the -initrd against its own. */
	char *kit = realpath(o->guests, NULL);
	if (!kit)
		return false;
	snprintf(guest_kernel, sizeof guest_kernel, "%s/arm64/Image", kit);
	snprintf(guest_initrd, sizeof guest_initrd, "%s/arm64/initrd.gz",
		 kit);
	free(kit);
	if (stat(guest_kernel, &st) < 0 || stat(guest_initrd, &st) < 0)
		return false;
	snprintf(cfg, cap, "%s/guest.json", o->work);
	FILE *f = fopen(cfg, "w");
	if (!f)
		bench_fail("%s: %s", cfg, strerror(errno));
	fprintf(f,
		"{\n \"targets\": {\n"
		"  \"linux\": {\"emulator\": \"qemu\",\n"
		"   \"qemu\": {\"binary\": \"" GUEST_QEMU "\", \"machine\": "
		"\"virt\", \"kernel\": \"%s\",\n"
		"    \"args\": [" GUEST_ARGS_JSON "]},\n"
		"   \"serial\": {\"serial0\": 0}}\n },\n"
		" \"instances\": {\"g0\": {\"target\": \"linux\"}},\n"
		" \"settings\": {\"request_timeout_ms\": 20000}\n}\n",
		guest_kernel, guest_initrd);
	fclose(f);
	return true;
}

long guest_wait(int fd, const char *needle, long *reads)
{
	char buf[65536 + 64];
	size_t nl = strlen(needle), keep = 0;
	long total = 0;
	double end = clk_now_us() + GUEST_TIMEOUT_MS * 1e3;
	for (;;) {
		ssize_t n = read(fd, buf + keep, sizeof buf - keep);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { fd, POLLIN, 0 };
			if (clk_now_us() > end || poll(&p, 1, 1000) < 0)
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		(*reads)++;
		total += n;
		size_t len = keep + n;
		if (memmem(buf, len, needle, nl))
			return total;
		keep = len < nl ? len : nl - 1;
		memmove(buf, buf + len - keep, keep);
		if (clk_now_us() > end)
			return -1;
	}
}

static void guest_cmd(char *cmd, size_t cap)
{
	/* yes and head are busybox builtins: cheap for the guest's CPU,
	 * so the console is what is measured. 64-byte lines. */
	snprintf(cmd, cap, "yes 0123456789abcdef0123456789abcdef0123456789"
		 "abcdef0123456789abcde | head -c %ld; echo BULK-$((6*7))\n",
		 bench_opt.bulk_bytes);
}

/* One round's figures of one side. */
struct guest_run {
	double boot_ms, bulk_s;
	long bytes, reads;
	double ctl_ms;         /* emufs: of boot_ms, the `start` write */
	double qemu_s;         /* QEMU's CPU during the bulk */
};

/* ---- the baseline: -serial stdio -------------------------------------- */

static void guest_raw(struct guest_run *g)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		bench_fail("pipe: %s", strerror(errno));
	char *argv[] = { GUEST_QEMU, "-machine", "virt", "-no-user-config",
			 "-display", "none", "-monitor", "none", "-parallel",
			 "none", "-cpu", "cortex-a53", "-m", "256", "-nic",
			 "none", "-kernel", guest_kernel, "-initrd",
			 guest_initrd, "-append", "console=ttyAMA0 quiet",
			 "-serial", "stdio", NULL };
	double t0 = clk_now_us();
	pid_t pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* A session of its own, as emufs gives its QEMUs
		 * (process.c): with autogroup scheduling each session is
		 * one group with its own share of the cores, so on a loaded
		 * machine both sides must be one. */
		setsid();
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (bench_logfd >= 0)
			dup2(bench_logfd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	proc_track(pid);
	close(in[0]);
	close(out[1]);
	long reads = 0;
	if (guest_wait(out[0], GUEST_PROMPT, &reads) < 0)
		bench_fail("stdio guest: no prompt within %d s",
			   GUEST_TIMEOUT_MS / 1000);
	double t1 = clk_now_us();
	char cmd[256];
	guest_cmd(cmd, sizeof cmd);
	reads = 0;
	struct proc_cost qa = proc_cost_now(pid);
	if (write(in[1], cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("stdio guest: write: %s", strerror(errno));
	long bytes = guest_wait(out[0], GUEST_MARKER, &reads);
	double t2 = clk_now_us();
	struct proc_cost qb = proc_cost_now(pid);
	if (bytes < 0)
		bench_fail("stdio guest: no %s", GUEST_MARKER);
	proc_kill_wait(pid);
	close(in[1]);
	close(out[0]);
	*g = (struct guest_run){ (t1 - t0) / 1e3, (t2 - t1) / 1e6, bytes,
				 reads, 0, (qb.cpu_us - qa.cpu_us) / 1e6 };
}

/* ---- through emufs ---------------------------------------------------- */

static void guest_fs(struct mnt *m, struct guest_run *g)
{
	char ctl[PATH_MAX + 16], fol[PATH_MAX + 32], ser[PATH_MAX + 16];
	snprintf(ctl, sizeof ctl, "%s/g0/ctl", m->dir);
	snprintf(fol, sizeof fol, "%s/g0/follow/serial0", m->dir);
	snprintf(ser, sizeof ser, "%s/g0/serial0", m->dir);
	/* Opened while stopped: follows the next run from its first byte. */
	int ffd = open(fol, O_RDONLY);
	if (ffd < 0)
		bench_fail("open %s: %s", fol, strerror(errno));
	double t0 = clk_now_us();
	mnt_must(ctl, "start\n");
	double tc = clk_now_us();
	long reads = 0;
	if (guest_wait(ffd, GUEST_PROMPT, &reads) < 0)
		bench_fail("%s: no prompt within %d s", fol,
			   GUEST_TIMEOUT_MS / 1000);
	double t1 = clk_now_us();
	char cmd[256];
	guest_cmd(cmd, sizeof cmd);
	reads = 0;
	pid_t qemu = proc_find_child(m->emufs, "qemu-system-aar");
	struct proc_cost qa = proc_cost_now(qemu);
	int wfd = open(ser, O_WRONLY);
	if (wfd < 0 || write(wfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fail("write %s: %s", ser, strerror(errno));
	long bytes = guest_wait(ffd, GUEST_MARKER, &reads);
	double t2 = clk_now_us();
	struct proc_cost qb = proc_cost_now(qemu);
	if (bytes < 0)
		bench_fail("%s: no %s", fol, GUEST_MARKER);
	close(wfd);
	close(ffd);
	mnt_must(ctl, "kill\n");
	*g = (struct guest_run){ (t1 - t0) / 1e3, (t2 - t1) / 1e6, bytes,
				 reads, (tc - t0) / 1e3,
				 (qb.cpu_us - qa.cpu_us) / 1e6 };
}

/* ---- the section ------------------------------------------------------ */

void guest_section(void)
{
	const struct bench_opt *o = &bench_opt;
	bench_section("boot,bulk", "the Linux guest kit: start to `guest# ` "
		      "and a console bulk through emufs vs QEMU -serial stdio");
	char cfg[PATH_MAX + 16];
	if (!o->guests || !guest_config(cfg, sizeof cfg)) {
		printf("  no guest kit in %s (make guest-kit): not measured\n",
		       o->guests ? o->guests : "(--guests not given)");
		bench_verdict("guest boot to prompt", -1, ">= 0.9x", "no kit");
		bench_verdict("guest console bulk", -1, ">= 0.9x", "no kit");
		return;
	}
	struct mnt *m = mnt_start(cfg, "guest");
	pid_t emufs = m->emufs;
	struct samples bfs = { 0 }, braw = { 0 }, kfs = { 0 }, kraw = { 0 };
	struct samples bctl = { 0 }, qfs = { 0 }, qraw = { 0 };
	struct samples pboot = { 0 }, pbulk = { 0 };
	struct proc_cost cost = { 0 };
	long reads_fs = 0, reads_raw = 0, bytes_min = -1;
	for (int i = 0; i < o->guest_rounds; i++) {
		struct guest_run fs = { 0 }, raw = { 0 };
		for (int k = 0; k < 2; k++) {
			if ((i + k) % 2 == 0) {
				struct proc_cost a = proc_cost_now(emufs);
				guest_fs(m, &fs);
				proc_cost_add(&cost, a, proc_cost_now(emufs));
			} else {
				guest_raw(&raw);
			}
		}
		samples_add(&bfs, fs.boot_ms);
		samples_add(&bctl, fs.ctl_ms);
		samples_add(&qfs, fs.qemu_s);
		samples_add(&qraw, raw.qemu_s);
		samples_add(&braw, raw.boot_ms);
		samples_add(&kfs, fs.bulk_s);
		samples_add(&kraw, raw.bulk_s);
		samples_add(&pboot, raw.boot_ms / fs.boot_ms);
		samples_add(&pbulk, raw.bulk_s / fs.bulk_s);
		reads_fs += fs.reads;
		reads_raw += raw.reads;
		long lo = fs.bytes < raw.bytes ? fs.bytes : raw.bytes;
		if (bytes_min < 0 || lo < bytes_min)
			bytes_min = lo;
		printf("  round %d: boot %.0f / %.0f ms, bulk %.2f / %.2f s "
		       "(emufs / stdio)\n", i + 1, fs.boot_ms, raw.boot_ms,
		       fs.bulk_s, raw.bulk_s);
		fflush(stdout);
	}
	mnt_stop(m);
	stats_row("boot to prompt via emufs (ms)", &bfs, 1, "ms");
	stats_row("  of which the ctl write (ms)", &bctl, 1, "ms");
	stats_row("boot to prompt -serial stdio (ms)", &braw, 1, "ms");
	stats_row("bulk via emufs (s)", &kfs, 1, "s");
	stats_row("bulk -serial stdio (s)", &kraw, 1, "s");
	stats_row("QEMU CPU in bulk via emufs (s)", &qfs, 1, "s");
	stats_row("QEMU CPU in bulk -serial stdio (s)", &qraw, 1, "s");
	double mib = o->bulk_bytes / 1048576.0 * o->guest_rounds;
	printf("  %-34s %9.1f us CPU per MiB (boot and bulk), stdio reader "
	       "%.0f reads/MiB, emufs follow reader %.0f\n", "emufs cost",
	       cost.cpu_us / mib, reads_raw / mib, reads_fs / mib);
	if (bytes_min < o->bulk_bytes)
		bench_hard_errors++;
	double rb = samples_median(&pboot), rk = samples_median(&pbulk);
	printf("  %-34s boot %.2fx, bulk %.2fx (stdio time / emufs time)\n",
	       "per-round ratios, median", rb, rk);
	stats_value("guest boot ratio", rb, "x");
	stats_value("guest bulk ratio", rk, "x");
	bench_verdict("guest boot to prompt", rb >= 0.9, ">= 0.9x",
		      "%.2fx stdio (%.0f vs %.0f ms)", rb, samples_median(&bfs),
		      samples_median(&braw));
	char what[64];
	snprintf(what, sizeof what, "guest %.0f KiB console bulk",
		 o->bulk_bytes / 1024.0);
	bench_verdict(what, rk >= 0.9, ">= 0.9x",
		      "%.2fx stdio (%.1f vs %.1f s)", rk, samples_median(&kfs),
		      samples_median(&kraw));
	samples_free(&bfs);
	samples_free(&bctl);
	samples_free(&qfs);
	samples_free(&qraw);
	samples_free(&braw);
	samples_free(&kfs);
	samples_free(&kraw);
	samples_free(&pboot);
	samples_free(&pbulk);
}
