/* tracepipe.c - the trace FIFO, or the followed trace file (see
 * tracepipe.h). */
#include "tracepipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
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
/* A FIFO emptied by a wake-up rests before it is read again, and the
 * emulator's writes meanwhile wait in the FIFO (made this big when the
 * kernel lets us) instead of waking the loop a line at a time: a guest
 * tracing every MMIO access writes ~700,000 lines a second, and a loop
 * woken for each few of them took the core from every other file's
 * requests (a `cat state` beside it: p95 1.4-2.5 ms against 0.06 ms,
 * docs/performance.md). The rest lasts as long as the FIFO takes to
 * fill at TRACEPIPE_FILL_RATE, so no faster writer ever waits on it,
 * and at most TRACEPIPE_REST_MAX_US: a trace line reaches trace/log
 * that much later at worst. */
#define TRACEPIPE_FIFO_SIZE (1024 * 1024)
#define TRACEPIPE_FILL_RATE 256         /* bytes per microsecond */
#define TRACEPIPE_REST_MAX_US 2000
/* A followed file: a longer line is no trace line, and is dropped. Disk
 * blocks already read are freed in steps of this many bytes. */
#define TRACEPIPE_LINE_MAX 4096
#define TRACEPIPE_PUNCH_STEP (1 << 20)

void tracepipe_init(struct tracepipe *tp, struct logfile *log)
{
	tp->fd = tp->ino = -1;
	tp->keep = NULL;
	tp->part = NULL;
	tp->npart = 0;
	tp->punched = 0;
	tp->again = NULL;
	tp->rest_us = 0;
	tp->resting = false;
	atomic_init(&tp->watch, NULL);
	tp->log = log;
}

/* ---- a followed file --------------------------------------------------- */

/* n bytes of the file: its whole lines that keep accepts into the log;
 * the start of a line not yet whole is kept for the next call (npart
 * past TRACEPIPE_LINE_MAX: a line too long, being skipped). */
static void take_lines(struct tracepipe *tp, const char *buf, size_t n)
{
	char *out = malloc(n + TRACEPIPE_LINE_MAX + 1);
	size_t nout = 0;
	const char *p = buf, *end = buf + n;
	if (!out) {
		tp->npart = TRACEPIPE_LINE_MAX + 1;  /* lost: skip to a line */
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = (nl ? nl : end) - p;
		bool fits = tp->npart + len <= TRACEPIPE_LINE_MAX;
		if (fits)
			memcpy(tp->part + tp->npart, p, len);
		tp->npart = fits ? tp->npart + len : TRACEPIPE_LINE_MAX + 1;
		if (!nl)
			break;
		if (fits && tp->keep(tp->part, tp->npart)) {
			memcpy(out + nout, tp->part, tp->npart);
			nout += tp->npart;
			out[nout++] = '\n';
		}
		tp->npart = 0;
		p = nl + 1;
	}
	if (nout)
		logfile_append(tp->log, out, nout);
	free(out);
}

/* Free the disk blocks below where reading got: the emulator writes
 * past them only. Where holes cannot be punched the file just grows. */
static void punch_read(struct tracepipe *tp)
{
	off_t at = lseek(tp->fd, 0, SEEK_CUR);
	off_t upto = at - at % TRACEPIPE_PUNCH_STEP;
	if (at < 0 || upto <= tp->punched)
		return;
	if (fallocate(tp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      tp->punched, upto - tp->punched) == 0)
		tp->punched = upto;
}

/* Read what was appended; false when it stopped early (more to read). */
static bool follow_read(struct tracepipe *tp, int reads)
{
	char buf[16384];
	for (int i = 0; i < reads; i++) {
		ssize_t n = read(tp->fd, buf, sizeof buf);
		if (n <= 0) {
			punch_read(tp);
			return true;
		}
		take_lines(tp, buf, n);
	}
	punch_read(tp);
	return false;
}

static void on_follow(void *opaque, uint32_t events)
{
	struct tracepipe *tp = opaque;
	char ev[4096];
	/* The events go first: a write after this makes a new one. */
	while (read(tp->ino, ev, sizeof ev) > 0)
		;
	if (!follow_read(tp, TRACEPIPE_READS_PER_WAKE * 4))
		ioloop_timer_arm_us(tp->again, 1000);   /* the rest, soon */
}

int tracepipe_follow(struct tracepipe *tp, struct ioloop *loop,
		     const char *path, tracepipe_filter keep)
{
	struct io_watch *w = NULL;
	int rc = -ENOMEM;
	tp->keep = keep;
	if (!(tp->part = malloc(TRACEPIPE_LINE_MAX)))
		goto fail;
	/* Read and write: punching holes needs the file open for writing. */
	if ((tp->fd = open(path, O_RDWR | O_CLOEXEC)) < 0 ||
	    (tp->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(tp->ino, path, IN_MODIFY) < 0 ||
	    !(tp->again = ioloop_add_timer(loop, -1, 0, on_follow, tp)) ||
	    !(w = ioloop_add(loop, tp->ino, EPOLLIN, on_follow, tp))) {
		rc = errno ? -errno : -ENOMEM;
		goto fail;
	}
	atomic_store(&tp->watch, w);
	return 0;
fail:
	/* Idle again, so that the end of the run reads nothing. */
	ioloop_remove(tp->again);
	tp->again = NULL;
	tracepipe_close(tp);
	return rc;
}

/* ---- a FIFO ------------------------------------------------------------ */

/* Rest (stop watching, the timer armed; again, after a rest that ended
 * with a read) or watch again. */
static void rest(struct tracepipe *tp, bool on)
{
	struct io_watch *w = atomic_load(&tp->watch);
	if (!w)
		return;
	/* Off epoll (QEMU's every line would call it back) only with the
	 * timer that ends the rest armed. */
	if (on && ioloop_timer_arm_us(tp->again, tp->rest_us) < 0)
		on = false;
	if (on == tp->resting)
		return;
	if (on ? ioloop_ignore(w) == 0 : ioloop_modify(w, EPOLLIN) == 0)
		tp->resting = on;
	else if (!on)        /* still off epoll: rest on, try at its end */
		ioloop_timer_arm_us(tp->again, TRACEPIPE_REST_MAX_US);
}

/* The FIFO's watch, and the end of a rest (the timer). */
static void on_trace(void *opaque, uint32_t events)
{
	struct tracepipe *tp = opaque;
	static _Thread_local char buf[TRACEPIPE_READ_CHUNK];
	size_t got = 0;
	for (int i = 0; i < TRACEPIPE_READS_PER_WAKE; i++) {
		ssize_t n = read(tp->fd, buf, sizeof buf);
		if (n > 0) {
			logfile_append(tp->log, buf, n);
			got += (size_t)n;
			continue;
		}
		/* EOF: the emulator closed its end (it ended). Nothing of tp
		 * is touched once our watch is gone: tracepipe_end no
		 * longer waits for us. */
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			ioloop_remove(atomic_exchange(&tp->watch, NULL));
			return;
		}
		/* Emptied: rest if it brought something (more is coming),
		 * else wait for the writer's next line. */
		rest(tp, got > 0 && tp->rest_us > 0);
		return;
	}
	rest(tp, false);     /* more waits: the watch calls again at once */
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
	/* Best effort: a smaller FIFO only shortens the rest. */
	fcntl(fd, F_SETPIPE_SZ, TRACEPIPE_FIFO_SIZE);
	int size = fcntl(fd, F_GETPIPE_SZ);
	long us = size > 0 ? size / TRACEPIPE_FILL_RATE : 0;
	tp->rest_us = us < TRACEPIPE_REST_MAX_US ? us : TRACEPIPE_REST_MAX_US;
	if (!(tp->again = ioloop_add_timer(loop, -1, 0, on_trace, tp)))
		return errno ? -errno : -ENOMEM;
	struct io_watch *w = ioloop_add(loop, fd, EPOLLIN, on_trace, tp);
	if (!w) {
		int e = errno ? -errno : -ENOMEM;
		ioloop_remove(tp->again);
		tp->again = NULL;
		return e;
	}
	atomic_store(&tp->watch, w);
	return 0;
}

void tracepipe_end(struct tracepipe *tp)
{
	/* On return the loop's callback is not running: the drain below
	 * is the only reader, so the log stays in order. */
	ioloop_remove(atomic_exchange(&tp->watch, NULL));
	if (tp->again)
		ioloop_remove(tp->again);
	tp->again = NULL;
	char buf[16384];
	ssize_t n;
	if (tp->keep && tp->fd >= 0)
		while (!follow_read(tp, TRACEPIPE_READS_PER_WAKE))
			;
	else
		while (tp->fd >= 0 && (n = read(tp->fd, buf, sizeof buf)) > 0)
			logfile_append(tp->log, buf, n);
	if (tp->log)
		logfile_end(tp->log);
}

void tracepipe_close(struct tracepipe *tp)
{
	if (tp->fd >= 0)
		close(tp->fd);
	if (tp->ino >= 0)
		close(tp->ino);
	tp->fd = tp->ino = -1;
	free(tp->part);
	tp->part = NULL;
}
