/* logfile.c - growing on-disk logs (see logfile.h). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

int logfile_open(struct logfile *lf, const char *path, long long cap)
{
	memset(lf, 0, sizeof *lf);
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
	pthread_mutex_destroy(&lf->lock);
}

static void start_over_locked(struct logfile *lf)
{
	(void)!ftruncate(lf->fd, 0);
	lf->size = 0;
	lf->generation++;
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

int logfile_append(struct logfile *lf, const void *buf, size_t len)
{
	const char *p = buf;
	int rc = 0;

	pthread_mutex_lock(&lf->lock);
	if (lf->cap > 0 && lf->size + (off_t)len > lf->cap) {
		size_t half = lf->cap / 2;
		if (len > half) {            /* only the newest bytes fit */
			size_t cut = append_cut(lf, p, len, half);
			p += cut;
			len -= cut;
		}
		keep_newest_locked(lf, half - len);
		lf->wraps++;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(lf->fd, p + done, len - done,
				   lf->size + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += n;
	}
	lf->size += done;
	clock_gettime(CLOCK_REALTIME, &lf->mtime);
	logfile_grow_fn fn = lf->on_grow;
	void *opaque = lf->opaque;
	pthread_mutex_unlock(&lf->lock);
	if (fn && done)
		fn(lf, opaque);
	return rc;
}

void logfile_printf(struct logfile *lf, const char *fmt, ...)
{
	char line[1024];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof line - n, ".%03ld ",
		      (long)tv.tv_usec / 1000);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
	for (size_t i = 24; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	line[n++] = '\n';
	logfile_append(lf, line, n);
}

ssize_t logfile_read(struct logfile *lf, void *buf, size_t len, off_t off)
{
	pthread_mutex_lock(&lf->lock);
	off_t size = lf->size;
	pthread_mutex_unlock(&lf->lock);
	if (off >= size)
		return 0;
	if ((off_t)len > size - off)
		len = size - off;
	ssize_t n;
	do
		n = pread(lf->fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
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

void logfile_position(struct logfile *lf, off_t *size, unsigned *gen)
{
	pthread_mutex_lock(&lf->lock);
	*size = lf->size;
	*gen = lf->generation;
	pthread_mutex_unlock(&lf->lock);
}

int logfile_reset(struct logfile *lf)
{
	pthread_mutex_lock(&lf->lock);
	start_over_locked(lf);
	clock_gettime(CLOCK_REALTIME, &lf->mtime);
	logfile_grow_fn fn = lf->on_grow;
	void *opaque = lf->opaque;
	pthread_mutex_unlock(&lf->lock);
	if (fn)
		fn(lf, opaque);
	return 0;
}
