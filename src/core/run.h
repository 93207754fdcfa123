/* run.h - one run of an emulator: its process and everything connected
 * to it, from a start to the end of the process. What a connector
 * (connector.h) may use: the run's target, its request timeout, its
 * private pointer, and the functions below. Nothing here reaches the
 * instance the run belongs to (instance.h owns runs, through struct
 * run_owner).
 *
 * A run is reference counted, so a FUSE worker that is talking to the
 * emulator keeps it valid while the emulator dies underneath; it is
 * freed when the last reference goes.
 */
#ifndef EMUFS_RUN_H
#define EMUFS_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "process.h"
#include "tracepipe.h"

struct binding;
struct cfg_target;
struct channel;
struct connector_ops;
struct instance;
struct io_watch;
struct ioloop;
struct launcher;
struct logfile;
struct run;

/* How much of the emulator's output a run keeps to quote. */
#define RUN_TAIL_MAX 1024

/* What the owner of runs (instance.c) hears of them. */
struct run_owner {
	/* On the I/O loop: the process ended and r->exited is set. The
	 * run stays valid until this returns. */
	void (*exited)(struct run *r);
	/* An event line from the emulator (QMP event JSON; name: its
	 * event name, or NULL). */
	void (*event)(struct run *r, const char *line, const char *name);
	/* The run was freed (its last reference went): owner's last touch
	 * by this run. */
	void (*freed)(struct instance *owner);
	/* Whether r is still the owner's running or paused run (no stop is
	 * ending it). */
	bool (*live)(struct run *r);
	/* run_props_changed(): any thread, must not block. */
	void (*props_changed)(struct run *r);
};

/* What a run is made of; copied by run_new. The run holds a reference on
 * the binding (its channels) for its life; the log must outlive the run:
 * the owner keeps it until freed(). */
struct run_init {
	const struct run_owner *ops;
	struct instance *owner;
	const struct connector_ops *conn;
	const struct launcher *launcher;
	const struct cfg_target *target;
	int timeout_ms;
	struct ioloop *loop;
	struct logfile *log;           /* the instance's `log` */
	struct logfile *events;        /* the instance's `events` */
	struct logfile *trace;         /* the instance's `trace/log` */
	const char *name;              /* the instance's name */
	const char *dir;               /* its state directory */
	struct binding *binding;       /* the bound target's channels */
	const char *image;             /* what to boot (copied), or NULL */
	const char *snapshot;          /* start from: copied, or NULL */
};

struct run {
	atomic_int refs;
	struct instance *inst;         /* the owner; opaque to runs */
	const struct run_owner *owner;
	const struct connector_ops *conn;
	const struct launcher *launcher;
	const struct cfg_target *target;
	int timeout_ms;                /* request timeout */
	struct ioloop *loop;
	struct logfile *log;
	struct logfile *events;
	struct logfile *trace;
	/* The trace output into `trace/log`: idle unless the connector
	 * attached it (run_attach_trace); closed with the run. */
	struct tracepipe tracepipe;
	char *name;
	char *dir;
	/* The image this run boots (the `firmware` file: the target's own
	 * or the user's), or NULL: the connector boots nothing of its own. */
	char *image;
	/* A snapshot's directory (core/snapshot.h) whose saved disks this
	 * run starts from, or NULL: a load on a stopped instance. */
	char *snapshot;
	/* The binding's (a reference): its channels are the run's for its
	 * life, whatever target the owner binds meanwhile. */
	struct binding *binding;
	struct channel *channels;
	size_t nchannels;
	struct process proc;           /* the launcher's */
	int pid;                       /* proc's pid as spawned, for good
					* (the reap clears proc.pid) */
	/* Taken with atomic_exchange by whoever removes them: the I/O loop
	 * at EOF (a hung-up fd would wake it forever) or run_close. */
	struct io_watch *_Atomic pid_watch;  /* pidfd: the process ended */
	struct io_watch *_Atomic out_watch;  /* stdout/stderr into log */
	pthread_mutex_t lock;          /* protects exited, wstatus, tail,
					* tail_len */
	pthread_cond_t cond;           /* signalled when exited is set */
	bool exited;
	int wstatus;
	/* The last bytes of the process's output: what a failed start
	 * quotes (run_last_output). */
	char tail[RUN_TAIL_MAX];
	size_t tail_len;
	void *priv;                    /* the connector's */
	/* Set by launch for an emulator it did not start (attach), which
	 * runs as it was found: 1 running, 0 paused; -1: as asked. */
	int found_running;
};

/* A run with one reference (the caller's), or NULL. */
struct run *run_new(const struct run_init *init);
/* Another reference on a run the caller holds one on, or that a watch
 * whose callback is running points to. */
struct run *run_get(struct run *r);
void run_put(struct run *r);

/* The run is over for good (stopped, killed, ended by itself): detach
 * its channels, shut the connector down, stop watching the process and
 * keep the rest of its output. Its owner calls it once. */
void run_close(struct run *r);

/* ---- for connectors ------------------------------------------------ */

/* Launch argv through the run's launcher with env's NAME=VALUE strings
 * added to its environment (env may be NULL), watch its exit and copy
 * its output into `log`. With a launcher that owns no process (attach):
 * argv is not used (may be NULL); the attachment's end is watched. */
int run_spawn(struct run *r, char *const argv[], char *const env[],
	      char *why, size_t whylen);
/* Take the rest of the process's output into `log` and stop watching
 * it: once the process ended, everything it printed is in `log` and in
 * run_last_output() on return. Never with a lock held (it waits for the
 * I/O loop's callback: core.h). */
void run_finish_output(struct run *r);
/* The last RUN_QUOTE_LINES lines the process printed, as
 * run_last_lines() gives them: "" if none. Two, since an emulator's
 * error is often followed by a hint ("qemu-system-arm: unsupported
 * machine type 'x'", "Use -machine help to list supported machines"). */
#define RUN_QUOTE_LINES 2
void run_last_output(struct run *r, char *buf, size_t len);
/* The last nlines non-empty lines of the n bytes at s, without their
 * line ends (CR, LF), joined by "; " into out (cut to outlen); "" if
 * none. Pure (tests/unit). */
void run_last_lines(const char *s, size_t n, int nlines, char *out,
		    size_t outlen);
/* Wait until the process ended, at most timeout_ms: 0 or -ETIMEDOUT. */
int run_wait_exit(struct run *r, int timeout_ms);
bool run_exited(struct run *r);
/* Send the process a signal (the launcher's way). */
void run_signal(struct run *r, int sig);
/* The process id as spawned (still after the reap; 0 before the
 * spawn), and an fd that polls readable once it ended. */
int run_pid(struct run *r);
int run_exit_fd(struct run *r);
/* An event line from the emulator (QMP event JSON) into `events`;
 * name: the event's name, so STOP and RESUME show in `state`. line NULL:
 * the connector appended it itself (in a batch); only what name means for
 * the state is left to do. */
void run_emulator_event(struct run *r, const char *line, const char *name);
/* What the connector told props/ may have changed (objects came or went,
 * a link was retargeted, a mode learnt): caches above it drop what they
 * keep of this instance's props/. Any thread; must not block. */
void run_props_changed(struct run *r);
/* Event lines the connector batched (each ending in '\n') into
 * `events`, in one append. */
void run_append_events(struct run *r, const char *lines, size_t len);
/* Whether the run is still the instance's running or paused one (no stop
 * is ending it). */
bool run_live(struct run *r);
/* A line "emufs: ..." in the instance's `log`. */
void run_log(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The instance's name and state directory (sockets, overlays). */
const char *run_name(struct run *r);
const char *run_dir(struct run *r);
/* The core's I/O loop, for the connector's own watches. */
struct ioloop *run_loop(struct run *r);
/* Connect channel i of the target (cfg order) to the emulator: guest
 * output read from fd, input written to wfd (fd itself for a socket):
 * owned by the channel from now on, the caller's still on failure. Only
 * during launch. */
int run_attach_channel(struct run *r, size_t i, int fd, int wfd);
/* Make the run's trace FIFO at path and drain it into `trace/log`
 * (tracepipe.h): before the emulator is spawned, so that its open for
 * writing finds a reader. 0 or -errno. */
int run_attach_trace(struct run *r, const char *path);
/* Follow the file at path that the emulator created for its log, into
 * `trace/log` the lines keep accepts (tracepipe_follow): for an emulator
 * that writes its trace output into its general log. 0 or -errno. */
int run_follow_trace(struct run *r, const char *path, tracepipe_filter keep);

#endif
