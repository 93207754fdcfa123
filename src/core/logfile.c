/* logfile.c - growing on-disk logs (see logfile.h). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

int logfile_open(struct logfile *lf, const char *path, long long cap)
{
	memset(lf, 0, sizeof *lf);
	/* A new file, not the old one truncated: the log that had this path
	 * (a channel of the binding before a target change) may still be
	 * read through its own fd by a follower, and must keep its bytes. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	lf->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (lf->fd < 0)
		return -errno;
	pthread_mutex_init(&lf->lock, NULL);
	lf->cap = cap;
	clock_gettime(CLOCK_REALTIME, &lf->mtime);
	return 0;
}

void logfile_set_grow_hook(struct logfile *lf, logfile_grow_fn fn,
			   void *opaque)
{
	pthread_mutex_lock(&lf->lock);
	lf->on_grow = fn;
	lf->opaque = opaque;
	pthread_mutex_unlock(&lf->lock);
}

void logfile_set_trouble_hook(struct logfile *lf, const char *name,
			      logfile_trouble_fn fn, void *opaque)
{
	pthread_mutex_lock(&lf->lock);
	snprintf(lf->name, sizeof lf->name, "%s", name);
	lf->on_trouble = fn;
	lf->trouble_opaque = opaque;
	pthread_mutex_unlock(&lf->lock);
}

void logfile_keep_lines(struct logfile *lf)
{
	pthread_mutex_lock(&lf->lock);
	lf->lines = true;
	pthread_mutex_unlock(&lf->lock);
}

void logfile_close(struct logfile *lf)
{
	if (lf->fd < 0)
		return;
	close(lf->fd);
	lf->fd = -1;
	free(lf->held);
	lf->held = NULL;
	pthread_mutex_destroy(&lf->lock);
}

static void start_over_locked(struct logfile *lf)
{
	(void)!ftruncate(lf->fd, 0);
	lf->size = lf->disk_end = 0;
	lf->held_len = 0;
	lf->generation++;
	lf->origin = 0;
}

/* The first line start at or after off in the file: off itself when a
 * newline ends the byte before it, else just past the next newline, else
 * the end (the rest is one unfinished line). */
static off_t line_start_locked(struct logfile *lf, off_t off)
{
	char buf[4096];
	off_t at = off - 1;
	if (off <= 0)
		return 0;
	while (at < lf->size) {
		ssize_t n = pread(lf->fd, buf, sizeof buf, at);
		if (n <= 0)
			break;
		char *nl = memchr(buf, '\n', n);
		if (nl)
			return at + (nl - buf) + 1;
		at += n;
	}
	return lf->size;
}

/* How many of an append's len bytes to skip so that its newest keep
 * bytes are left, starting at a line start in a log of lines (unless one
 * line is longer than keep: then it is cut). */
static size_t append_cut(const struct logfile *lf, const char *p, size_t len,
			 size_t keep)
{
	size_t cut = len - keep;
	if (!lf->lines || p[cut - 1] == '\n')
		return cut;
	const char *nl = memchr(p + cut, '\n', len - cut);
	return nl && nl + 1 < p + len ? (size_t)(nl + 1 - p) : cut;
}

/* Past the cap: move the newest keep bytes to the start and cut the rest.
 * The result is at most half the cap (with what is being appended), so
 * it is always shorter than before: `tail -f` notices and starts over.
 * A log of lines keeps fewer bytes rather than the end of a line. */
static void keep_newest_locked(struct logfile *lf, size_t keep)
{
	off_t old = lf->size;
	if ((off_t)keep > old)
		keep = old;
	off_t src = old - keep, dst = 0;
	if (lf->lines) {
		src = line_start_locked(lf, src);
		keep = old - src;
	}
	lf->origin += src;    /* the bytes before src are gone */
	size_t left = keep;
	while (left) {        /* src >= keep: the ranges never overlap */
		ssize_t n = copy_file_range(lf->fd, &src, lf->fd, &dst, left,
					    0);
		if (n <= 0)
			break;
		left -= n;
	}
	char buf[65536];
	while (left) {        /* copy_file_range unsupported: by hand */
		size_t want = left < sizeof buf ? left : sizeof buf;
		ssize_t n = pread(lf->fd, buf, want, src);
		if (n <= 0 || pwrite(lf->fd, buf, n, dst) != n)
			break;
		src += n;
		dst += n;
		left -= n;
	}
	(void)!ftruncate(lf->fd, keep - left);
	lf->size = keep - left;
	lf->generation++;
}

/* pwrite all of len at off: how many bytes went in; *err the errno of
 * the write that stopped it, 0 if all did. */
static size_t write_at(int fd, const char *p, size_t len, off_t off,
		       int *err)
{
	size_t done = 0;
	*err = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? errno : ENOSPC;
			break;
		}
		done += n;
	}
	return done;
}

/* Keep bytes of a log of lines in memory at the end of the log, or drop
 * them whole when the hold is full (limit: the bytes a caller may use). */
static void hold_locked(struct logfile *lf, const char *p, size_t len,
			size_t limit)
{
	if (lf->held_len + len > limit) {
		lf->dropped += len;
		return;
	}
	if (!lf->held && !(lf->held = malloc(LOGFILE_HOLD_MAX))) {
		lf->dropped += len;
		return;
	}
	memcpy(lf->held + lf->held_len, p, len);
	lf->held_len += len;
	lf->size += len;
}

/* Write what is held to the file, behind what is there: whether it all
 * went in (*err: why not). */
static bool flush_held_locked(struct logfile *lf, int *err)
{
	size_t done = write_at(lf->fd, lf->held, lf->held_len, lf->disk_end,
			       err);
	lf->disk_end += done;
	lf->held_len -= done;
	memmove(lf->held, lf->held + done, lf->held_len);
	return lf->held_len == 0;
}

/* The append itself, lf->lock held; fills *t and returns true when the
 * trouble hook must hear of a change. */
static bool append_locked(struct logfile *lf, const char *p, size_t len,
			  size_t limit, int *rc, struct logfile_trouble *t)
{
	int err = 0;
	bool was_failing = lf->error != 0;

	if (lf->held_len && !flush_held_locked(lf, &err)) {
		hold_locked(lf, p, len, limit);   /* behind what waits */
	} else {
		size_t done = write_at(lf->fd, p, len, lf->size, &err);
		if (!err) {
			lf->size += len;
		} else if (lf->lines) {
			lf->size += done;
			hold_locked(lf, p + done, len - done, limit);
		} else {
			/* The bytes are lost, their offsets stay theirs. */
			if (!was_failing)
				lf->lost_from = lf->size + done;
			lf->size += len;
		}
		if (!lf->lines || !err)
			lf->disk_end = lf->size;
		else
			lf->disk_end = lf->size - lf->held_len;
	}
	*rc = -err;
	memset(t, 0, sizeof *t);
	t->lines = lf->lines;
	if (err && !was_failing) {
		lf->error = err;
		t->failing = true;
		t->err = err;
		t->from = lf->lines ? lf->disk_end : lf->lost_from;
		return true;
	}
	if (!err && was_failing) {
		t->err = lf->error;
		t->from = lf->lost_from;
		t->to = lf->size - len;
		t->dropped = lf->dropped;
		lf->error = 0;
		lf->dropped = 0;
		return true;
	}
	return false;
}

static int append_limited(struct logfile *lf, const void *buf, size_t len,
			  size_t limit)
{
	const char *p = buf;
	int rc = 0;
	struct logfile_trouble t;

	pthread_mutex_lock(&lf->lock);
	/* The cap moves bytes within the file: only while writes work. */
	if (lf->cap > 0 && !lf->error && lf->size + (off_t)len > lf->cap) {
		size_t half = lf->cap / 2;
		if (len > half) {            /* only the newest bytes fit */
			size_t cut = append_cut(lf, p, len, half);
			p += cut;
			len -= cut;
			/* Bytes of the run too: what follows keeps its
			 * offset in the run (followers, logfile_pos). */
			lf->origin += cut;
		}
		keep_newest_locked(lf, half - len);
		lf->disk_end = lf->size;
		lf->wraps++;
	}
	off_t before = lf->size;
	bool tell = append_locked(lf, p, len, limit, &rc, &t);
	clock_gettime(CLOCK_REALTIME, &lf->mtime);
	bool grew = lf->size != before;
	logfile_grow_fn fn = lf->on_grow;
	void *opaque = lf->opaque;
	logfile_trouble_fn tfn = lf->on_trouble;
	void *topaque = lf->trouble_opaque;
	pthread_mutex_unlock(&lf->lock);
	if (fn && grew)
		fn(lf, opaque);
	if (tfn && tell)
		tfn(lf, &t, topaque);
	return rc;
}

int logfile_append(struct logfile *lf, const void *buf, size_t len)
{
	return append_limited(lf, buf, len, LOGFILE_HOLD_MAX / 4 * 3);
}

int logfile_notice(struct logfile *lf, const void *buf, size_t len)
{
	return append_limited(lf, buf, len, LOGFILE_HOLD_MAX);
}

static void vprintf_line(struct logfile *lf, bool notice, const char *fmt,
			 va_list ap)
{
	char line[1024];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof line - n, ".%03ld ",
		      (long)tv.tv_usec / 1000);
	int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
	for (size_t i = 24; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	line[n++] = '\n';
	if (notice)
		logfile_notice(lf, line, n);
	else
		logfile_append(lf, line, n);
}

void logfile_printf(struct logfile *lf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf_line(lf, false, fmt, ap);
	va_end(ap);
}

void logfile_vprintf_emufs(struct logfile *lf, const char *fmt, va_list ap)
{
	char msg[900];
	vsnprintf(msg, sizeof msg, fmt, ap);
	logfile_printf(lf, "emufs: %s", msg);
}

void logfile_notice_printf(struct logfile *lf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf_line(lf, true, fmt, ap);
	va_end(ap);
}

ssize_t logfile_read(struct logfile *lf, void *buf, size_t len, off_t off)
{
	pthread_mutex_lock(&lf->lock);
	off_t size = lf->size, disk_end = lf->disk_end;
	unsigned gen = lf->generation;
	if (off >= size) {
		pthread_mutex_unlock(&lf->lock);
		return 0;
	}
	if ((off_t)len > size - off)
		len = size - off;
	if (off >= disk_end) {      /* held in memory: the disk is full */
		memcpy(buf, lf->held + (off - disk_end), len);
		pthread_mutex_unlock(&lf->lock);
		return len;
	}
	pthread_mutex_unlock(&lf->lock);
	if ((off_t)len > disk_end - off)
		len = disk_end - off;
	ssize_t n;
	do
		n = pread(lf->fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Short: bytes lost at the end of a byte stream, past the file's
	 * end, which read as NUL like the holes before it. Not when the
	 * log started over meanwhile: then the file really is shorter. */
	pthread_mutex_lock(&lf->lock);
	if ((size_t)n < len && gen == lf->generation) {
		memset((char *)buf + n, 0, len - n);
		n = len;
	}
	pthread_mutex_unlock(&lf->lock);
	return n;
}

void logfile_stat(struct logfile *lf, off_t *size, struct timespec *mtime)
{
	pthread_mutex_lock(&lf->lock);
	if (size)
		*size = lf->size;
	if (mtime)
		*mtime = lf->mtime;
	pthread_mutex_unlock(&lf->lock);
}

int logfile_reset(struct logfile *lf)
{
	struct logfile_trouble t = { 0 };
	pthread_mutex_lock(&lf->lock);
	/* A byte stream that was losing bytes: its range ends with the run
	 * (the next failing append starts a new one). */
	bool tell = lf->error && !lf->lines;
	if (tell) {
		t.err = lf->error;
		t.from = lf->lost_from;
		t.to = lf->size;
		lf->error = 0;
	}
	start_over_locked(lf);
	lf->runs++;
	lf->live = true;
	clock_gettime(CLOCK_REALTIME, &lf->mtime);
	logfile_grow_fn fn = lf->on_grow;
	void *opaque = lf->opaque;
	logfile_trouble_fn tfn = lf->on_trouble;
	void *topaque = lf->trouble_opaque;
	pthread_mutex_unlock(&lf->lock);
	if (fn)
		fn(lf, opaque);
	if (tfn && tell)
		tfn(lf, &t, topaque);
	return 0;
}

/* Set a follower's flag (live, last) and, if that changed it, tell the
 * grow hook: the followers waiting on the log look again. */
static void set_and_tell(struct logfile *lf, bool *flag, bool to)
{
	pthread_mutex_lock(&lf->lock);
	bool changed = *flag != to;
	*flag = to;
	logfile_grow_fn fn = lf->on_grow;
	void *opaque = lf->opaque;
	pthread_mutex_unlock(&lf->lock);
	if (fn && changed)
		fn(lf, opaque);
}

void logfile_end(struct logfile *lf)
{
	set_and_tell(lf, &lf->live, false);
}

void logfile_retire(struct logfile *lf)
{
	set_and_tell(lf, &lf->last, true);
}

void logfile_pos(struct logfile *lf, struct logfile_pos *pos)
{
	pthread_mutex_lock(&lf->lock);
	pos->origin = lf->origin;
	pos->size = lf->size;
	pos->runs = lf->runs;
	pos->generation = lf->generation;
	pos->live = lf->live;
	pos->last = lf->last;
	pthread_mutex_unlock(&lf->lock);
}
