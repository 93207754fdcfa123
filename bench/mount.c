/* mount.c - emufs as the benchmark uses it: the configs it mounts, the
 * mounts themselves (started in the foreground, so that SIGTERM unmounts
 * and stops its QEMUs), and cat/echo on their files.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MNT_MAX 4
/* Read by the signal handler (live, pid). */
static struct mnt mnt_all[MNT_MAX];

char mnt_main_cfg[PATH_MAX], mnt_scale_cfg[PATH_MAX];
char mnt_raw_b0[PATH_MAX], mnt_raw_s00[PATH_MAX];

/* ---- configuration ---------------------------------------------------- */

/* A target of the test firmware alone, started by name ("fw"). */
#define MNT_FW_TARGET							\
	"  \"fw\": {\"emulator\": \"qemu\",\n"				\
	"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","	\
	" \"kernel\": \"%s\", \"args\": [\"-nic\", \"none\"]},\n"	\
	"   \"serial\": {\"serial0\": 0}}\n },\n"

/* WORK/name into path, opened for writing. */
static FILE *mnt_create(char *path, size_t cap, const char *name)
{
	snprintf(path, cap, "%s/%s", bench_opt.work, name);
	FILE *f = fopen(path, "w");
	if (!f)
		bench_fail("%s: %s", path, strerror(errno));
	return f;
}

/* fwq: the test firmware plus a second QMP monitor on raw_sock, the
 * baseline's way into the very QEMU emufs drives. */
static void mnt_fwq_target(FILE *f, const char *raw_sock)
{
	const struct bench_opt *o = &bench_opt;
	fprintf(f,
		"  \"fwq\": {\"emulator\": \"qemu\",\n"
		"   \"qemu\": {\"binary\": \"%s\", \"machine\": \"ast2500-evb\","
		" \"kernel\": \"%s\",\n"
		"    \"args\": [\"-nic\", \"none\", \"-qmp\", "
		"\"unix:%s,server=on,wait=off\"]},\n"
		"   \"serial\": {\"serial0\": 0},\n"
		"   \"gpio\": {\"button\": {\"qom\": \"/machine/soc/gpio\", "
		"\"property\": \"gpioA0\", \"direction\": \"in\"},\n"
		"            \"led\": {\"qom\": \"/machine/soc/gpio\", "
		"\"property\": \"gpioA1\", \"direction\": \"out\"}}},\n",
		o->qemu, o->firmware, raw_sock);
}

void mnt_write_configs(void)
{
	const struct bench_opt *o = &bench_opt;
	snprintf(mnt_raw_b0, sizeof mnt_raw_b0, "%s/raw-b0.sock", o->work);
	snprintf(mnt_raw_s00, sizeof mnt_raw_s00, "%s/raw-s00.sock",
		 o->work);
	FILE *f = mnt_create(mnt_main_cfg, sizeof mnt_main_cfg, "main.json");
	fprintf(f, "{\n \"targets\": {\n");
	mnt_fwq_target(f, mnt_raw_b0);
	fprintf(f,
		MNT_FW_TARGET
		" \"instances\": {\"b0\": {\"target\": \"fwq\"}, "
		"\"b1\": {\"target\": \"fw\"}},\n"
		" \"settings\": {\"request_timeout_ms\": 10000}\n}\n",
		o->qemu, o->firmware);
	fclose(f);

	/* s00 with a raw monitor too: the property rows at scale. */
	f = mnt_create(mnt_scale_cfg, sizeof mnt_scale_cfg, "scale.json");
	fprintf(f, "{\n \"targets\": {\n");
	mnt_fwq_target(f, mnt_raw_s00);
	fprintf(f, MNT_FW_TARGET " \"instances\": {", o->qemu, o->firmware);
	for (int i = 0; i < o->scale; i++)
		fprintf(f, "%s\n  \"s%02d\": {\"target\": \"%s\"}",
			i ? "," : "", i, i ? "fw" : "fwq");
	fprintf(f, "\n },\n \"settings\": {\"request_timeout_ms\": 20000}\n}\n");
	fclose(f);
}

/* ---- mounts ----------------------------------------------------------- */

static bool mnt_is_mounted(const char *dir)
{
	struct stat a, b;
	char parent[PATH_MAX + 4];
	snprintf(parent, sizeof parent, "%s/..", dir);
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 &&
	       a.st_dev != b.st_dev;
}

struct mnt *mnt_start(const char *config, const char *name)
{
	struct mnt *m = NULL;
	for (int i = 0; i < MNT_MAX && !m; i++)
		if (!mnt_all[i].live)
			m = &mnt_all[i];
	snprintf(m->dir, sizeof m->dir, "%s/%s", bench_opt.work, name);
	char state[PATH_MAX + 16];
	snprintf(state, sizeof state, "%s/%s-state", bench_opt.work, name);
	mkdir(m->dir, 0755);
	char *argv[32];
	int n = 0;
	char *wrap = bench_opt.wrap ? strdup(bench_opt.wrap) : NULL;
	char *save = NULL;
	for (char *t = wrap ? strtok_r(wrap, " ", &save) : NULL; t && n < 20;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n++] = (char *)bench_opt.emufs;
	argv[n++] = "-f";
	if (config) {
		argv[n++] = "-c";
		argv[n++] = (char *)config;
	}
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = m->dir;
	argv[n] = NULL;
	/* SIGTERM: a foreground emufs then unmounts and stops its QEMUs. */
	m->pid = proc_spawn(argv, bench_logfd, SIGTERM);
	free(wrap);
	double end = clk_now_us() + bench_opt.mount_timeout_ms * 1000.0;
	while (!mnt_is_mounted(m->dir)) {
		int st;
		if (waitpid(m->pid, &st, WNOHANG) == m->pid)
			bench_fail("emufs exited before mounting %s (see "
				   "%s/bench.log)", m->dir, bench_opt.work);
		if (clk_now_us() > end)
			bench_fail("%s not mounted after %d ms", m->dir,
				   bench_opt.mount_timeout_ms);
		clk_sleep_ms(5);
	}
	m->live = true;
	m->emufs = bench_opt.wrap ? proc_find_child(m->pid, "emufs") : m->pid;
	return m;
}

double mnt_stop(struct mnt *m)
{
	if (!m->live)
		return 0;
	double t0 = clk_now_us();
	char *argv[] = { "fusermount3", "-u", m->dir, NULL };
	if (proc_run_wait(argv))
		fprintf(stderr, "emufs-bench: fusermount3 -u %s failed\n",
			m->dir);
	int st = proc_wait_for(m->pid, 30000);
	if (st < 0) {
		fprintf(stderr, "emufs-bench: emufs on %s did not exit; "
			"killing it\n", m->dir);
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		bench_hard_errors++;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "emufs-bench: emufs on %s ended with status "
			"%d\n", m->dir, st);
		bench_hard_errors++;
	}
	m->live = false;
	return clk_now_us() - t0;
}

void mnt_stop_all(void)
{
	for (int i = 0; i < MNT_MAX; i++)
		if (mnt_all[i].live)
			mnt_stop(&mnt_all[i]);
}

void mnt_signal_all(void)
{
	for (int i = 0; i < MNT_MAX; i++)
		if (mnt_all[i].live)
			kill(mnt_all[i].pid, SIGTERM);
}

/* ---- the file-system side --------------------------------------------- */

ssize_t mnt_cat(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += n;
		if (got == cap)
			break;
	}
	close(fd);
	return got;
}

int mnt_echo(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	size_t l = strlen(text);
	int rc = write(fd, text, l) == (ssize_t)l ? 0 : -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

void mnt_must(const char *path, const char *text)
{
	int rc = mnt_echo(path, text);
	/* pause/resume of what is already paused/running: EBUSY, fine. */
	if (rc == -EBUSY && (!strcmp(text, "pause") || !strcmp(text, "resume")))
		rc = 0;
	if (rc)
		bench_fail("echo %s > %s: %s", text, path, strerror(-rc));
}
