/* bench.h - what the files of `make bench` share (see main.c for the whole
 * picture, docs/performance.md for the method).
 *
 * One module per file, one prefix per module:
 *   main.c    bench_   options, the order of the sections, verdicts, exit
 *   clock.c   clk_     monotonic and CPU time, sleeping, a fixed-seed jitter
 *   stats.c   samples_, stats_  samples, percentiles, result rows, --tsv
 *   proc.c    proc_    children (spawn, track, kill), profilers, /proc costs
 *   mount.c   mnt_     emufs mounts, their configs, cat/echo on the mount
 *   raw.c     raw_     the baseline's I/O: unix sockets, a minimal QMP client
 *   props.c   props_   property, list, pin and poll() rows
 *   serial.c  serial_  serial bursts and the log-size rows
 *   start.c   start_   start-to-banner rows
 *   snapshots.c snapshots_ restore from a snapshot vs a cold boot (the test
 *             firmware, and the Linux guest of the kit)
 *   trace.c   trace_   MMIO trace through trace/log vs QEMU's own file
 *   scale.c   scale_   64 instances on one mount
 *   slurm.c   slurm_   64 instances launched through srun of a one-node
 *             Slurm cluster, plain and TLS, vs srun + QEMU by hand
 *   follow.c  follow_  wake-up of a reader blocked in follow/
 *   blocked.c blocked_ the mount's files with 1,000 readers blocked
 *   guest.c   guest_   the Linux guest kit: boot and console bulk
 *   floor.c   floor_   a trivial FUSE file system: the floor rows
 *   affinity.c aff_    the property rows' control: each vCPU alone on a core
 *
 * One thread does everything but block in read(): follow.c and blocked.c
 * start reader threads that only read, handing their result back through
 * a semaphore or atomics (no locks). The signal handler touches only the
 * pid tables of proc.c and mount.c.
 */
#ifndef EMUFS_BENCH_H
#define EMUFS_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

/* What the test firmware prints: once booted, and after `burst N`. */
#define BENCH_BANNER "emufs-test-firmware ready\r\n"
#define BENCH_MARKER "\r\nBURST DONE\r\n"

/* ---- main.c: options, sections, verdicts ------------------------------ */

struct bench_opt {
	const char *emufs, *firmware, *qemu, *tsv, *only, *label;
	const char *guests;    /* the guest kit (build/guests), or NULL */
	char *wrap;            /* command prefix for emufs (strace, valgrind) */
	char *attach;          /* profiler around each section, %p: emufs */
	char work[PATH_MAX];
	bool keep, strict;
	bool vcpu_core;        /* --vcpu-core: affinity.c's whole-run control */
	int iters;             /* property and pin pairs */
	int polls;             /* poll wake-up samples */
	int bursts;            /* serial rounds (3 bursts each) */
	long burst_bytes;
	int starts;            /* start samples per variant */
	int scale;             /* instances of the scale and slurm tests */
	int slurm_rounds;      /* rounds of each kind in slurm */
	int pinwake;           /* instances of the pinwake test */
	int pinwake_toggles;   /* its toggles per width (1 pin, all) */
	int pinwake_running_toggles; /* the same, running instances */
	bool pinwake_paused;   /* only the paused pass (pinwake.c) */
	int sweeps;            /* `cat <each>/state` sweeps per point */
	int readers;           /* blocked readers of `blocked` */
	int guest_rounds;      /* boot+bulk rounds per side */
	long bulk_bytes;       /* what the guest prints in `bulk` */
	int mount_timeout_ms;
};
extern struct bench_opt bench_opt;

extern int bench_logfd;        /* WORK/bench.log: emulators' and emufs's output */
extern int bench_hard_errors;  /* broken runs: exit 1 whatever the verdicts */

/* Print to stderr, stop every child and mount, exit 1. */
void bench_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* The header line of a section. */
void bench_section(const char *name, const char *what);
/* One line of the summary: pass 1 PASS, 0 MISS, -1 not judged. */
void bench_verdict(const char *what, int pass, const char *target,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sent to a reader thread to end its blocked read() with EINTR: caught by
 * a handler that does nothing, installed without SA_RESTART. */
#define BENCH_SIG_INTERRUPT SIGUSR1
/* A reader thread: a small stack, every signal blocked but
 * BENCH_SIG_INTERRUPT (the others go to the main thread). 0 or -1. */
int bench_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);

/* The main mount, shared by every section but scale. */
struct mnt;
struct raw_qmp;
struct bench_ctx {
	struct mnt *m;
	struct raw_qmp *raw;   /* second monitor of b0's QEMU */
	char b0[PATH_MAX + 8];
	pid_t pid;             /* emufs itself */
};

/* ---- affinity.c ------------------------------------------------------- */

/* The vCPU thread of every QEMU child of emufs to the last core, all
 * other threads of them, of emufs, of the floor (if > 0) and of the bench
 * to the other cores. false (nothing changed) on one core or no QEMU. */
bool aff_isolate_vcpus(pid_t emufs, pid_t floor);
/* Every core back to every thread of those processes. */
void aff_release(void);
/* --vcpu-core: the bench (and what it starts) to every core but the
 * last, and a process that moves each QEMU's busiest thread, on the whole
 * machine, to the last. The last core's number, or -1 (one core). */
int aff_watch_start(void);

/* ---- clock.c ---------------------------------------------------------- */

double clk_now_us(void);       /* CLOCK_MONOTONIC */
double clk_cpu_us(void);       /* this process's CPU time */
void clk_sleep_ms(double ms);
/* Uniform in [0, 1), the same sequence every run. */
double clk_rand01(void);

/* ---- stats.c ---------------------------------------------------------- */

struct samples {
	double *v;
	size_t n, cap;
};

void samples_add(struct samples *s, double x);
/* The p-th percentile (0..100), linear between ranks; sorts s. */
double samples_pct(struct samples *s, double p);
double samples_median(struct samples *s);
void samples_free(struct samples *s);

extern FILE *stats_tsv;        /* --tsv FILE, or NULL */
/* One row: median (p50), p10..p90 spread, p95, p99 and max, divided
 * by scale. */
void stats_row(const char *name, struct samples *s, double scale,
	       const char *unit);
/* A single figure, to the --tsv file only. */
void stats_value(const char *name, double v, const char *unit);

/* ---- proc.c ----------------------------------------------------------- */

/* fork() for a child that runs bench code: in it, no signal blocked,
 * SIGTERM, SIGINT and SIGHUP back to SIG_DFL, deathsig when we die. */
pid_t proc_fork(int deathsig);
/* fork+exec argv, output to logfd (if >= 0), deathsig when we die. */
pid_t proc_spawn(char *const argv[], int logfd, int deathsig);
/* Raw QEMUs: tracked ones are killed by proc_kill_all and on signals. */
void proc_track(pid_t pid);
void proc_untrack(pid_t pid);
void proc_kill_wait(pid_t pid);
void proc_kill_all(void);
void proc_signal_all(void);    /* async-signal-safe SIGKILL of the tracked */
/* Wait up to ms for pid to end: its status, or -1 on timeout. */
int proc_wait_for(pid_t pid, int ms);
/* Run argv to its end: its exit status (128 if killed). */
int proc_run_wait(char *const argv[]);
/* The children of parent (any process: -1) whose command starts with
 * comm: up to max of them in out, their number returned. */
int proc_list_children(pid_t parent, const char *comm, pid_t *out, int max);
/* A child of parent whose command starts with comm (e.g. emufs under
 * strace), or parent itself when none appears within about a second. */
pid_t proc_find_child(pid_t parent, const char *comm);
/* --attach: a profiler around a section (no-op without the option). */
void proc_attach_start(pid_t pid);
void proc_attach_stop(void);

/* Whether thread tid of this process sleeps in read() right now. */
bool proc_thread_in_read(pid_t tid);

/* A number of /proc/PID/status (VmRSS, Threads), or -1. */
long proc_status(pid_t pid, const char *key);

/* What a process spent: on-CPU time of all its threads, ended ones too
 * (its CPU clock; switches: the schedstat of those alive), and
 * the read()/write()-family syscalls of /proc/PID/io (send/recv are not
 * counted there; reaped children are, so not across an emulator's exit). */
struct proc_cost {
	double cpu_us;
	long syscr, syscw;
	long switches;         /* times a thread was switched in (schedstat) */
};
struct proc_cost proc_cost_now(pid_t pid);
/* The sum of the costs of pid's children now (an emufs's emulators);
 * a child that ended meanwhile drops out of the sum. */
struct proc_cost proc_children_cost(pid_t pid);
/* b - a added to *sum. */
void proc_cost_add(struct proc_cost *sum, struct proc_cost a,
		   struct proc_cost b);
/* The cost per operation between two readings, as a row. */
void proc_cost_row(const char *name, struct proc_cost a, struct proc_cost b,
		   double ops, const char *per);

struct proc_res {
	long rss_kb, threads, fds;
};
struct proc_res proc_resources(pid_t pid);

/* ---- mount.c ---------------------------------------------------------- */

struct mnt {
	char dir[PATH_MAX];
	pid_t pid;             /* emufs (or its wrapper) */
	pid_t emufs;           /* emufs itself */
	bool live;
};

/* The configs of the main and the scale mount, and the raw monitors of
 * b0 and s00 (WORK/raw-b0.sock, WORK/raw-s00.sock), written by
 * mnt_write_configs. */
extern char mnt_main_cfg[PATH_MAX], mnt_scale_cfg[PATH_MAX];
extern char mnt_raw_b0[PATH_MAX], mnt_raw_s00[PATH_MAX];
void mnt_write_configs(void);

/* Mount emufs with config (NULL: none) on WORK/name; fails the run if it
 * does not mount in time. */
struct mnt *mnt_start(const char *config, const char *name);
/* fusermount3 -u, then emufs must exit 0. Returns the time it took (us). */
double mnt_stop(struct mnt *m);
void mnt_stop_all(void);
void mnt_signal_all(void);     /* async-signal-safe SIGTERM of every emufs */

/* cat: open, read until EOF or cap, close. Bytes read, or -errno. */
ssize_t mnt_cat(const char *path, char *buf, size_t cap);
/* echo TEXT > path: 0 or -errno. */
int mnt_echo(const char *path, const char *text);
/* The same, failing the run on error (EBUSY of pause/resume is fine). */
void mnt_must(const char *path, const char *text);

/* ---- raw.c ------------------------------------------------------------ */

/* Connect, retrying while QEMU has not created the socket yet. */
int raw_connect(const char *path, int timeout_ms);
int raw_listen(const char *path);
/* Accept QEMU's connection; fails the run if child exits first. */
int raw_accept(int lfd, pid_t child, int timeout_ms);
/* Read until buf holds needle: bytes read, or -1. */
ssize_t raw_read_until(int fd, char *buf, size_t cap, const char *needle,
		       int timeout_ms);
extern long raw_read_calls;    /* read() calls of raw_read_until, in total */

/* A minimal QMP client on a connected socket (see raw.c for why). */
struct raw_qmp *raw_qmp_open(int fd);
void raw_qmp_close(struct raw_qmp *q);
/* One command (a JSON object without newline); its reply line without CRLF
 * in reply. 0 on "return", 1 on "error", -1 when the socket failed. */
int raw_qmp_cmd(struct raw_qmp *q, const char *cmd, char *reply, size_t cap);
void raw_qmp_must(struct raw_qmp *q, const char *cmd);
/* Read until the event NAME (STOP, RESUME); the line in line. 0, or -1
 * when the socket failed or timed out (5 s, raw_qmp_open). */
int raw_qmp_event(struct raw_qmp *q, const char *name, char *line,
		  size_t cap);

/* ---- floor.c: a trivial FUSE file system -------------------------------- */

/* Entries of its dir/: as many as the gpio object of props/ (small/:
 * as many as scu). */
#define FLOOR_ENTRIES 463
/* Its file, as deep below the mount as a props file below emufs's. */
#define FLOOR_VALUE_PATH "d/d/d/d/d/value"
/* How long emufs lets the kernel keep props/'s names and attributes
 * (fs/propcache.h, PROPCACHE_TIMEOUT_S): the floor does the same, and a
 * cold sample idles longer. */
#define BENCH_PROPS_CACHE_S 5.0
extern char floor_dir[PATH_MAX];   /* WORK/floor */
/* Mount it (once; unmounted at exit or by floor_stop): false when it
 * cannot be. */
bool floor_start(void);
void floor_stop(void);
/* Its process while mounted (its cost rows), else 0. */
pid_t floor_process(void);

/* ---- the sections ----------------------------------------------------- */

void props_section(struct bench_ctx *c);
/* The warm rows of a property read of c's instance (c->b0) against its
 * raw monitor (c->raw) and the floor: printed, the ratios returned; in
 * *alone those of the control, every vCPU alone on a core (zero when
 * not made: one core, or a --vcpu-core run). */
struct props_ratios {
	double p50, p95;
};
struct props_ratios props_read_warm(struct bench_ctx *c, const char *label,
				    const char *file, const char *qom,
				    const char *prop,
				    struct props_ratios *alone);
void props_list_section(struct bench_ctx *c);
void props_pin_section(struct bench_ctx *c);
void props_poll_section(struct bench_ctx *c);
void serial_section(struct bench_ctx *c);
/* A QEMU launched by hand with the test firmware, running past its
 * banner: serial on a socket chardev, or (pipe) on the pipe chardev emufs
 * gives its QEMUs; a QMP monitor for stop and cont. */
struct serial_raw {
	pid_t pid;
	bool pipe;
	int sfd;               /* guest output: the socket, or a FIFO */
	int wfd;               /* guest input: sfd, or the other FIFO */
	struct raw_qmp *q;     /* its monitor: stop and cont */
};
void serial_raw_launch(struct serial_raw *r, bool pipe);
void serial_raw_close(struct serial_raw *r);
/* Read a (non-blocking) pipe as emufs's channel does, until buf holds
 * needle: bytes read, or -1; *calls (if set) counts the syscalls. */
ssize_t serial_raw_pipe_until(int fd, char *buf, size_t cap,
			      const char *needle, long *calls);
/* fstat + pread of the last 4 KiB of serial0: the median (us); *size. */
double serial_tail_read(struct bench_ctx *c, const char *label, off_t *size);
void start_section(struct bench_ctx *c);
/* `echo start > ctl` on instance directory inst to the banner in its
 * serial0, then `kill`: ms to the banner; *ctl_ms: the write. */
double start_fs(const char *inst, double *ctl_ms);

/* ---- snapshots.c -------------------------------------------------------- */

void snapshots_section(struct bench_ctx *c);
/* snapshots-linux: the same for the kit's Linux guest, on a mount of its
 * own (like boot,bulk). */
void snapshots_linux_section(void);

/* ---- trace.c ------------------------------------------------------------ */

void trace_section(struct bench_ctx *c);
void scale_section(void);
/* `cat <each>/state` of the mount: us; *files: how many. */
double scale_sweep(const char *mnt, int *files);
void slurm_section(void);
/* Stop the cluster slurm_section started, after its QEMUs (any path). */
void slurm_cleanup(void);
/* Async-signal-safe: forks the cleanup of the cluster and its QEMUs. */
void slurm_signal_all(void);
void pinwake_section(void);
void follow_section(struct bench_ctx *c);
void blocked_section(struct bench_ctx *c);
/* boot and bulk: a mount of its own, like scale. */
void guest_section(void);
/* The kit's guest: its shell prompt (no newline after it). */
#define GUEST_PROMPT "guest# "
#define GUEST_TIMEOUT_MS 120000
/* Writes WORK/guest.json (instance g0, the virt-linux board with absolute
 * paths); false when the kit (--guests) is missing. */
bool guest_config(char *cfg, size_t cap);
/* Read fd until needle: the bytes read, or -1 on end of file, error or
 * GUEST_TIMEOUT_MS. Only the tail is kept (the bulk is megabytes). */
long guest_wait(int fd, const char *needle, long *reads);

#endif
