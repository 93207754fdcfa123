/* logfile.h - a growing log kept on disk: serial channels, `log`, `events`.
 *
 * Appends come from the I/O loop (emulator output) or any thread (emufs's
 * own messages); reads at any offset come from the file with pread(), so
 * memory use does not grow with the log. The size and mtime are tracked
 * here, not fstat()ed, so a reader never sees a half-written append.
 *
 * Past the cap the log keeps its newest half-cap of bytes, moved to offset
 * 0: the file shrinks, so `tail -f` reports "file truncated" and goes on
 * following (docs/serial.md). A log of lines (`log`, `events`) keeps
 * whole lines: what it keeps begins at a line's start.
 *
 * A full disk (docs/reference.md 3.3, docs/serial.md "A full disk"): an append
 * the file refuses is never silent. A log of lines keeps what it could
 * not write in memory (up to LOGFILE_HOLD_MAX), at the offsets it would
 * have had, and reads serve it from there; past that, appends are
 * dropped whole and counted. A byte stream (a channel) drops the bytes
 * but keeps their offsets: the lost range reads as NUL bytes, and the
 * bytes that follow stay at their offsets. Both tell the trouble hook
 * when appending first fails and when it works again.
 */
#ifndef EMUFS_LOGFILE_H
#define EMUFS_LOGFILE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct logfile;

typedef void (*logfile_grow_fn)(struct logfile *lf, void *opaque);

/* Memory a log of lines may hold while its disk refuses appends; the
 * last quarter only for notices (logfile_notice), so that the notice of
 * a full disk always finds room. */
#define LOGFILE_HOLD_MAX (64 * 1024)

/* What the trouble hook is told. */
struct logfile_trouble {
	bool failing;          /* true: appending began to fail; false: it
				* works again */
	int err;               /* the errno of the failed append */
	bool lines;            /* a log of lines, else a byte stream */
	off_t from, to;        /* byte stream: the bytes [from, to) are lost
				* (to: only when it works again) */
	unsigned long long dropped;  /* lines: bytes dropped, not held */
};
typedef void (*logfile_trouble_fn)(struct logfile *lf,
				   const struct logfile_trouble *t,
				   void *opaque);

struct logfile {
	pthread_mutex_t lock;     /* protects everything below */
	int fd;
	off_t size;
	struct timespec mtime;
	long long cap;
	unsigned long long wraps; /* times the cap made it start over */
	unsigned generation;      /* bumped whenever it starts over */
	bool lines;               /* trim at line starts (logfile_keep_lines) */
	logfile_grow_fn on_grow;  /* called after each append, lock dropped */
	void *opaque;
	/* A full disk: */
	int error;                /* errno of the failing append, 0 if none */
	off_t disk_end;           /* [0, disk_end) is in the file (with the
				   * holes of lost bytes); lines held in
				   * memory are [disk_end, size) */
	char *held;
	size_t held_len;
	off_t lost_from;          /* byte stream: first byte lost this time */
	unsigned long long dropped; /* lines: bytes dropped this time */
	logfile_trouble_fn on_trouble; /* called lock dropped */
	void *trouble_opaque;
	char name[64];
	/* Followers (follow/, which must never lose their place): */
	off_t origin;             /* byte 0 of the file is byte `origin`
				   * of the run: the cap cut the rest */
	unsigned runs;            /* logfile_reset()s so far */
	bool live;                /* a run is on: reset, not yet ended */
	bool last;                /* no run comes after this one
				   * (logfile_retire) */
};

/* Where a log stands, all of it at one moment: its size and generation
 * (poll), and for a follower the bytes [origin, origin + size) of run
 * number `runs` (file offsets [0, size)). */
struct logfile_pos {
	off_t origin, size;
	unsigned runs, generation;
	bool live, last;
};

int logfile_open(struct logfile *lf, const char *path, long long cap);
/* Who to tell when the log grew (or started over): set once after open. */
void logfile_set_grow_hook(struct logfile *lf, logfile_grow_fn fn,
			   void *opaque);
void logfile_close(struct logfile *lf);
/* Who to tell when appending fails and works again, and the log's name
 * in the notices (`serial0`, `log`): set once after open. */
void logfile_set_trouble_hook(struct logfile *lf, const char *name,
			      logfile_trouble_fn fn, void *opaque);
/* A log of text lines: the cap's trimming keeps whole lines (a line
 * longer than half the cap is cut). Channels stay byte streams. */
void logfile_keep_lines(struct logfile *lf);

/* 0, or the -errno of a write the disk refused (the bytes were held or
 * dropped as said above; the log goes on). */
int logfile_append(struct logfile *lf, const void *buf, size_t len);
/* An append that may use all of LOGFILE_HOLD_MAX: for the notices that
 * say what a full disk cost. */
int logfile_notice(struct logfile *lf, const void *buf, size_t len);
/* One line "2026-11-22T17:00:00.123 <text>\n". */
void logfile_printf(struct logfile *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same line, as a notice. */
void logfile_notice_printf(struct logfile *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One of emufs's own lines in `log`: "emufs: " and the message. */
void logfile_vprintf_emufs(struct logfile *lf, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* At most len bytes at off; 0 at or past the end. Never blocks. */
ssize_t logfile_read(struct logfile *lf, void *buf, size_t len, off_t off);
void logfile_stat(struct logfile *lf, off_t *size, struct timespec *mtime);
/* Start over at size 0 (a new run). */
int logfile_reset(struct logfile *lf);
/* The run ended: no more bytes until the next reset. Tells the grow
 * hook, so that followers see the end. */
void logfile_end(struct logfile *lf);
/* No run will ever come (its channel's binding was replaced): tells the
 * grow hook, so that followers waiting for a next run see the end. */
void logfile_retire(struct logfile *lf);
void logfile_pos(struct logfile *lf, struct logfile_pos *pos);

#endif
