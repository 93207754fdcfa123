/* tracepipe.c - the trace FIFO (see tracepipe.h). */
#include "tracepipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioloop.h"
#include "logfile.h"

/* Bytes drained per wake-up before yielding to the loop's other watches:
 * a guest tracing every MMIO access writes tens of MB/s, and one busy
 * instance must not starve the others' channels. What the FIFO holds
 * meanwhile holds the emulator back (its writes block): the cap bounds
 * the disk, the FIFO the rate. */
#define TRACEPIPE_READ_CHUNK (64 * 1024)
#define TRACEPIPE_READS_PER_WAKE 16

void tracepipe_init(struct tracepipe *tp, struct logfile *log)
{
	tp->fd = -1;
	atomic_init(&tp->watch, NULL);
	tp->log = log;
}

static void on_trace(void *opaque, uint32_t events)
{
	struct tracepipe *tp = opaque;
	static _Thread_local char buf[TRACEPIPE_READ_CHUNK];
	for (int i = 0; i < TRACEPIPE_READS_PER_WAKE; i++) {
		ssize_t n = read(tp->fd, buf, sizeof buf);
		if (n > 0) {
			logfile_append(tp->log, buf, n);
			continue;
		}
		/* EOF: the emulator closed its end (it ended). Nothing of tp
		 * is touched once our watch is gone: tracepipe_end no
		 * longer waits for us. */
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			ioloop_remove(atomic_exchange(&tp->watch, NULL));
		return;
	}
}

int tracepipe_open(struct tracepipe *tp, struct ioloop *loop,
		   const char *path)
{
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return -errno;
	/* Opened for reading first, without waiting for a writer: then the
	 * emulator's open for writing does not block, and its output has
	 * somewhere to go from its first line. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		unlink(path);
		return e;
	}
	tp->fd = fd;
	struct io_watch *w = ioloop_add(loop, fd, EPOLLIN, on_trace, tp);
	if (!w)
		return errno ? -errno : -ENOMEM;
	atomic_store(&tp->watch, w);
	return 0;
}

void tracepipe_end(struct tracepipe *tp)
{
	/* On return the loop's callback is not running: the drain below
	 * is the only reader, so the log stays in order. */
	ioloop_remove(atomic_exchange(&tp->watch, NULL));
	char buf[16384];
	ssize_t n;
	while (tp->fd >= 0 && (n = read(tp->fd, buf, sizeof buf)) > 0)
		logfile_append(tp->log, buf, n);
	if (tp->log)
		logfile_end(tp->log);
}

void tracepipe_close(struct tracepipe *tp)
{
	if (tp->fd >= 0)
		close(tp->fd);
	tp->fd = -1;
}
