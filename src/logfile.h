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
 */
#ifndef EMUFS_LOGFILE_H
#define EMUFS_LOGFILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct logfile;

typedef void (*logfile_grow_fn)(struct logfile *lf, void *opaque);


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
};

int logfile_open(struct logfile *lf, const char *path, long long cap);
/* Who to tell when the log grew (or started over): set once after open. */
void logfile_set_grow_hook(struct logfile *lf, logfile_grow_fn fn,
			   void *opaque);
void logfile_close(struct logfile *lf);
/* A log of text lines: the cap's trimming keeps whole lines (a line
 * longer than half the cap is cut). Channels stay byte streams. */
void logfile_keep_lines(struct logfile *lf);

int logfile_append(struct logfile *lf, const void *buf, size_t len);
/* One line "2026-11-22T17:00:00.123 <text>\n". */
void logfile_printf(struct logfile *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* At most len bytes at off; 0 at or past the end. Never blocks. */
ssize_t logfile_read(struct logfile *lf, void *buf, size_t len, off_t off);
void logfile_stat(struct logfile *lf, off_t *size, struct timespec *mtime);
/* Size and generation together, for poll. */
void logfile_position(struct logfile *lf, off_t *size, unsigned *gen);
/* Start over at size 0 (a new run). */
int logfile_reset(struct logfile *lf);

#endif
