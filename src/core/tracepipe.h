/* tracepipe.h - what carries an emulator's trace output into trace/log
 * (trace.h), in one of two ways:
 *
 * - a FIFO (tracepipe_open): emufs makes it and opens it for reading
 *   before the emulator opens it for writing, then the I/O loop drains it
 *   into the log. A FIFO and not a file: an emulator writes its log at its
 *   own offset, so a file the cap trimmed under it would fill with NUL
 *   bytes. Every byte is trace output (QEMU's -D).
 * - a file the emulator made (tracepipe_follow), for an emulator that
 *   will not write into a FIFO (Renode moves anything at its log path
 *   aside and creates a file). The loop reads what was appended when
 *   inotify says it was modified, keeps the whole lines a filter accepts
 *   (the emulator's log holds its other messages too), and frees the
 *   disk blocks it has read (a hole punched below the emulator's offset,
 *   which it never writes again): the file's disk use stays bounded
 *   although its size grows.
 */
#ifndef EMUFS_TRACEPIPE_H
#define EMUFS_TRACEPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct io_watch;
struct ioloop;
struct logfile;

/* Whether one line of the emulator's log (no newline) is trace output. */
typedef bool (*tracepipe_filter)(const char *line, size_t len);

struct tracepipe {
	int fd;                            /* the read end, or -1 */
	/* A followed file: its inotify fd (-1 for a FIFO), the filter, the
	 * start of a line not yet whole, and how far the file is freed.
	 * Touched by the loop's callback, or by tracepipe_end once the
	 * watch is gone: never by two threads at once. */
	int ino;
	tracepipe_filter keep;
	char *part;
	size_t npart;
	off_t punched;
	struct io_watch *again;            /* one-shot: more to read (a
					    * FIFO: its rest is over) */
	/* A FIFO's rest between reads (tracepipe.c), and whether the watch
	 * is off for one: the loop's callbacks alone touch resting. */
	long rest_us;
	bool resting;
	/* Taken with atomic_exchange by whoever removes it: the loop at
	 * EOF (a FIFO without a writer would wake it for ever) or
	 * tracepipe_end. */
	struct io_watch *_Atomic watch;
	struct logfile *log;
};

/* An idle pipe (fd -1). */
void tracepipe_init(struct tracepipe *tp, struct logfile *log);
/* Make the FIFO at path (replacing a file there), open it for reading
 * without waiting for a writer, and drain it into the log from the loop.
 * 0 or -errno. */
int tracepipe_open(struct tracepipe *tp, struct ioloop *loop,
		   const char *path);
/* Follow the file at path, which the emulator created and appends its
 * log to, from its start; keep the lines keep accepts. The caller may
 * unlink path once this returned. 0 or -errno. */
int tracepipe_follow(struct tracepipe *tp, struct ioloop *loop,
		     const char *path, tracepipe_filter keep);
/* The run ended: take the rest and stop watching (the fd stays open
 * until tracepipe_close). Then the log's run ends (logfile_end), so its
 * followers reach end of file. */
void tracepipe_end(struct tracepipe *tp);
void tracepipe_close(struct tracepipe *tp);

#endif
