/* props.c - reading QOM through emufs against asking QEMU directly:
 *
 *   property  open+read-to-EOF+close of a props file   vs raw qom-get
 *   list      `ls -l` of a props directory             vs raw qom-list
 *   pin       the same on gpio/<pin>                    vs raw qom-get
 *   poll      poll() wake-up after a raw qom-set changes the pin's level
 *
 * The raw side is a second QMP monitor of the same QEMU (c->raw). Samples
 * alternate A B B A ... so that background noise hits both sides alike.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* emufs's file against raw qom-get, ABBA. Returns the ratio of medians. */
static double props_read_pair(struct bench_ctx *c, const char *label,
			      const char *file, const char *qom,
			      const char *prop)
{
	char path[PATH_MAX + 256], cmd[512], reply[4096], buf[4096];
	snprintf(path, sizeof path, "%s/%s", c->b0, file);
	snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-get\",\"arguments\":"
		 "{\"path\":\"%s\",\"property\":\"%s\"}}", qom, prop);
	struct samples fs = { 0 }, raw = { 0 };
	int iters = bench_opt.iters, warm = iters / 10 + 5;

	struct proc_cost c0 = { 0 }, c1;
	for (int i = 0; i < warm + iters; i++) {
		if (i == warm)
			c0 = proc_cost_now(c->pid);
		for (int k = 0; k < 2; k++) {
			bool fs_turn = (k == 0) == (i % 2 == 0);
			double t0 = clk_now_us();
			if (fs_turn) {
				ssize_t n = mnt_cat(path, buf, sizeof buf - 1);
				double t1 = clk_now_us();
				if (n <= 0)
					bench_fail("cat %s: %s", path,
						   n ? strerror(-n) : "empty");
				if (i >= warm)
					samples_add(&fs, t1 - t0);
				buf[n] = '\0';
			} else {
				int rc = raw_qmp_cmd(c->raw, cmd, reply,
						     sizeof reply);
				double t1 = clk_now_us();
				if (rc)
					bench_fail("raw %s: %s", cmd, reply);
				if (i >= warm)
					samples_add(&raw, t1 - t0);
			}
		}
		if (i == 0) {
			/* Both sides read the same value. */
			char *v = strchr(reply, ':');
			buf[strcspn(buf, "\n")] = '\0';
			const char *want = !strcmp(buf, "0") ? "false"
					   : !strcmp(buf, "1") ? "true" : buf;
			if (!v || !strstr(v, want))
				bench_fail("%s: emufs says \"%s\", QEMU says "
					   "%s", path, buf, reply);
		}
	}
	c1 = proc_cost_now(c->pid);
	char name[96];
	snprintf(name, sizeof name, "%s emufs (us)", label);
	stats_row(name, &fs, 1, "us");
	snprintf(name, sizeof name, "%s raw (us)", label);
	stats_row(name, &raw, 1, "us");
	snprintf(name, sizeof name, "%s emufs cost", label);
	proc_cost_row(name, c0, c1, iters, "read");
	double ratio = samples_median(&fs) / samples_median(&raw);
	printf("  %-34s %9.2fx\n", "ratio emufs/raw (medians)", ratio);
	snprintf(name, sizeof name, "%s ratio", label);
	stats_value(name, ratio, "x");
	samples_free(&fs);
	samples_free(&raw);
	return ratio;
}

/* `ls -l` of a props directory (readdir + lstat of every entry) against
 * one raw qom-list of the object: what listing a big object costs. */
static void props_list_pair(struct bench_ctx *c, const char *dir,
			    const char *qom)
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
			double t0 = clk_now_us();
			if ((k == 0) == (i % 2 == 0)) {
				DIR *d = opendir(path);
				if (!d)
					bench_fail("opendir %s: %s", path,
						   strerror(errno));
				struct dirent *e;
				struct stat st;
				entries = 0;
				while ((e = readdir(d))) {
					if (e->d_name[0] == '.')
						continue;
					if (fstatat(dirfd(d), e->d_name, &st,
						    AT_SYMLINK_NOFOLLOW) < 0)
						bench_fail("stat %s/%s: %s",
							   path, e->d_name,
							   strerror(errno));
					entries++;
				}
				closedir(d);
				if (i >= 2)
					samples_add(&fs, clk_now_us() - t0);
			} else {
				if (raw_qmp_cmd(c->raw, cmd, reply,
						sizeof reply))
					bench_fail("raw %s: %s", cmd, reply);
				if (i >= 2)
					samples_add(&raw, clk_now_us() - t0);
			}
		}
	}
	char name[96];
	snprintf(name, sizeof name, "ls -l %s (%d) emufs (ms)", dir + 6,
		 entries);
	stats_row(name, &fs, 1000, "ms");
	snprintf(name, sizeof name, "ls -l %s raw qom-list (ms)", dir + 6);
	stats_row(name, &raw, 1000, "ms");
	printf("  %-34s %9.1fx\n", "ratio emufs/raw (medians)",
	       samples_median(&fs) / samples_median(&raw));
	samples_free(&fs);
	samples_free(&raw);
}

void props_section(struct bench_ctx *c)
{
	bench_section("property", "open+read-to-EOF+close of a props file vs "
		      "raw qom-get on a second monitor of the same QEMU");
	double small = props_read_pair(c, "prop scu/silicon-rev",
				       "props/machine/soc/scu/silicon-rev",
				       "/machine/soc/scu", "silicon-rev");
	double large = props_read_pair(c, "prop gpio/gpioA1",
				       "props/machine/soc/gpio/gpioA1",
				       "/machine/soc/gpio", "gpioA1");
	bench_verdict("property read (10-entry dir)", small <= 1.3, "<= 1.3x",
		      "%.2fx raw", small);
	bench_verdict("property read (463-entry dir)", large <= 1.3, "<= 1.3x",
		      "%.2fx raw", large);
}

void props_list_section(struct bench_ctx *c)
{
	bench_section("list", "`ls -l` of a props directory (readdir + lstat "
		      "of each entry) vs one raw qom-list");
	props_list_pair(c, "props/machine/soc/scu", "/machine/soc/scu");
	props_list_pair(c, "props/machine/soc/gpio", "/machine/soc/gpio");
}

void props_pin_section(struct bench_ctx *c)
{
	bench_section("pin", "open+read-to-EOF+close of gpio/led vs raw "
		      "qom-get");
	double r = props_read_pair(c, "pin gpio/led", "gpio/led",
				   "/machine/soc/gpio", "gpioA1");
	bench_verdict("pin read", -1, "(none)", "%.2fx raw", r);
}

/* A raw qom-set of A0 (the firmware mirrors it to A1 = gpio/led) and the
 * time until poll() on the open led file reports POLLPRI. */
void props_poll_section(struct bench_ctx *c)
{
	bench_section("poll", "poll() on gpio/led: wake-up after a raw qom-set "
		      "of gpioA0 (mirrored to A1 by the firmware)");
	char path[PATH_MAX + 16], reply[4096], cmd[256], buf[16];
	int polls = bench_opt.polls;
	snprintf(path, sizeof path, "%s/gpio/led", c->b0);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bench_fail("open %s: %s", path, strerror(errno));
	if (pread(fd, buf, sizeof buf, 0) < 0)
		bench_fail("read %s: %s", path, strerror(errno));
	struct samples lat = { 0 };
	int level = buf[0] == '1', missed = 0;
	for (int i = 0; i < polls + 3; i++) {
		/* A random phase against emufs's pin watcher period. */
		clk_sleep_ms(clk_rand01() * 25);
		level = !level;
		snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-set\","
			 "\"arguments\":{\"path\":\"/machine/soc/gpio\","
			 "\"property\":\"gpioA0\",\"value\":%s}}",
			 level ? "true" : "false");
		double t0 = clk_now_us();
		if (raw_qmp_cmd(c->raw, cmd, reply, sizeof reply))
			bench_fail("raw qom-set: %s", reply);
		struct pollfd p = { fd, POLLPRI | POLLERR, 0 };
		int n = poll(&p, 1, 1000);
		double t1 = clk_now_us();
		ssize_t r = pread(fd, buf, sizeof buf, 0);
		if (n != 1 || !(p.revents & POLLPRI) || r != 2 ||
		    buf[0] != '0' + level) {
			missed++;
			continue;
		}
		if (i >= 3)
			samples_add(&lat, t1 - t0);
	}
	close(fd);
	stats_row("poll wake-up (ms)", &lat, 1000, "ms");
	if (missed)
		printf("  %d of %d changes not reported within 1 s\n", missed,
		       polls + 3);
	double p95 = samples_pct(&lat, 95) / 1000;
	printf("  %-34s %9.3f ms\n", "p95", p95);
	stats_value("poll wake-up p95 (ms)", p95, "ms");
	bench_verdict("poll wake-up, p95", !missed && p95 <= 20, "<= 20 ms",
		      "%.1f ms (median %.1f)", p95,
		      samples_median(&lat) / 1000);
	samples_free(&lat);
}
