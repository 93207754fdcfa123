/* tracepipe.h - the FIFO that carries an emulator's trace output into
 * trace/log (trace.h): emufs makes it and opens it for reading before the
 * emulator opens it for writing, then the I/O loop drains it into the log.
 * A FIFO and not a file: an emulator writes its log at its own offset, so
 * a file the cap trimmed under it would fill with NUL bytes.
 */
#ifndef EMUFS_TRACEPIPE_H
#define EMUFS_TRACEPIPE_H

struct io_watch;
struct ioloop;
struct logfile;

struct tracepipe {
	int fd;                            /* the read end, or -1 */
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
/* The run ended: take the rest and stop watching (the fd stays open
 * until tracepipe_close). Then the log's run ends (logfile_end), so its
 * followers reach end of file. */
void tracepipe_end(struct tracepipe *tp);
void tracepipe_close(struct tracepipe *tp);

#endif
