/* channel.c - serial channels (see channel.h). */
#include "channel.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioloop.h"

/* Bytes read per callback before yielding to other watches. */
#define CHANNEL_READ_CHUNK (64 * 1024)
#define CHANNEL_READS_PER_WAKE 16
/* An emptied input queue keeps its buffer up to this size; a bigger one
 * (a paused guest's backlog, up to CHANNEL_MAX_BACKLOG) goes back to the
 * system once drained. */
#define CHANNEL_KEEP_CAP (64 * 1024)

int channel_init(struct channel *ch, const struct cfg_channel *cfg,
		 const char *logpath, long long cap)
{
	memset(ch, 0, sizeof *ch);
	ch->cfg = cfg;
	ch->fd = ch->wfd = ch->pty_master = ch->pty_slave = -1;
	pthread_mutex_init(&ch->lock, NULL);
	return logfile_open(&ch->log, logpath, cap);
}

void channel_destroy(struct channel *ch)
{
	channel_detach(ch);
	logfile_close(&ch->log);
	pthread_mutex_destroy(&ch->lock);
	free(ch->out);
}

void channel_new_run(struct channel *ch)
{
	logfile_reset(&ch->log);
}

/* The events the channel's socket is watched for; ch->lock held. A
 * resting channel with nothing to write there is off epoll altogether
 * (ioloop_ignore): the guest's every byte would call epoll back
 * otherwise. A hang-up meanwhile is the read at the rest's end. 0, or
 * the -errno of the reading watch's change (putting it back on epoll
 * can fail: ENOMEM, ENOSPC). */
static int watch_events_locked(struct channel *ch)
{
	uint32_t out = ch->outlen ? EPOLLOUT : 0;
	if (ch->wwatch)
		ioloop_modify(ch->wwatch, out);
	if (!ch->watch)
		return 0;
	uint32_t events = (ch->resting ? 0 : EPOLLIN | EPOLLRDHUP) |
			  (ch->wwatch ? 0 : out);
	return events ? ioloop_modify(ch->watch, events)
		      : ioloop_ignore(ch->watch);
}

/* Drop the input queue and its buffer; ch->lock held. */
static void drop_queue_locked(struct channel *ch)
{
	free(ch->out);
	ch->out = NULL;
	ch->outcap = ch->outoff = ch->outlen = 0;
}

/* Hand queued input to the emulator; ch->lock held. */
static void flush_locked(struct channel *ch)
{
	while (ch->outoff < ch->outlen) {
		/* A pipe cannot raise SIGPIPE: its writer holds a read end
		 * too (qemu.c opens it O_RDWR). */
		ssize_t n = ch->wfd == ch->fd ?
			send(ch->wfd, ch->out + ch->outoff,
			     ch->outlen - ch->outoff, MSG_NOSIGNAL) :
			write(ch->wfd, ch->out + ch->outoff,
			      ch->outlen - ch->outoff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;       /* EAGAIN: wait for EPOLLOUT */
		}
		ch->outoff += n;
		ch->in_bytes += n;
	}
	if (ch->outoff == ch->outlen) {
		ch->outoff = ch->outlen = 0;
		if (ch->outcap > CHANNEL_KEEP_CAP)
			drop_queue_locked(ch);
	}
	watch_events_locked(ch);
}

/* Guest output to the pty, never blocking: what its reader has not taken
 * is dropped there (the log has it all). */
static void copy_to_pty(struct channel *ch, const char *buf, size_t n)
{
	pthread_mutex_lock(&ch->lock);
	if (ch->pty_master >= 0 && ch->pty_full) {
		ch->pty_dropped += n;
	} else if (ch->pty_master >= 0) {
		ssize_t w = write(ch->pty_master, buf, n);
		if (w < (ssize_t)n) {
			ch->pty_dropped += n - (w > 0 ? w : 0);
			/* Full: wait for its reader instead of trying (one
			 * failing syscall) with every chunk. */
			ch->pty_full = 1;
			ioloop_modify(ch->pty_watch, EPOLLIN | EPOLLOUT);
		}
	}
	pthread_mutex_unlock(&ch->lock);
}

/* Typed on the pty: to the guest, like a write to the channel file. */
static void on_pty(void *opaque, uint32_t events)
{
	struct channel *ch = opaque;
	char buf[4096];
	pthread_mutex_lock(&ch->lock);
	int fd = ch->pty_master;
	if (fd >= 0 && (events & EPOLLOUT) && ch->pty_full) {
		ch->pty_full = 0;
		ioloop_modify(ch->pty_watch, EPOLLIN);
	}
	pthread_mutex_unlock(&ch->lock);
	if (fd < 0 || !(events & EPOLLIN))
		return;
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0)
		channel_write(ch, buf, n);
}

/* After a read that brought bytes: stop reading for the next rest (see
 * channel.h). streamed: how much the read right after the last rest got
 * says the guest streamed all through it (0 when no rest came before:
 * the first rest is the short one). While the guest streams, EPOLLIN
 * stays off from one rest to the next: the end of a rest reads at once
 * (on_rest_over), so a chunk costs one wake of the timer, not the two
 * epoll_ctl()s and the wake on EPOLLIN of turning the watch off and on
 * again. */
static void rest(struct channel *ch, bool streamed)
{
	pthread_mutex_lock(&ch->lock);
	if (ch->rest_timer && ch->watch) {
		ch->rest_us = !streamed ? CHANNEL_COALESCE_US
			: ch->rest_us * 2 < CHANNEL_COALESCE_MAX_US
			? ch->rest_us * 2 : CHANNEL_COALESCE_MAX_US;
		/* Off epoll only with the timer that ends the rest armed;
		 * without it, back to EPOLLIN. */
		int armed = ioloop_timer_arm_us(ch->rest_timer,
						ch->rest_us) == 0;
		if (armed != ch->resting) {
			ch->resting = armed;
			watch_events_locked(ch);
		}
	}
	pthread_mutex_unlock(&ch->lock);
}

/* Nothing waited as a rest ended: wait for bytes on EPOLLIN again, and
 * the next rest is the short one (an echo after quiet waits 200 us at
 * most). */
static void listen_again(struct channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->rest_us = 0;
	if (ch->resting) {
		ch->resting = 0;
		if (watch_events_locked(ch) < 0) {
			/* Still off epoll: rest on, and try at its end. */
			ch->resting = 1;
			ch->rest_us = CHANNEL_COALESCE_MAX_US;
			ioloop_timer_arm_us(ch->rest_timer, ch->rest_us);
		}
	}
	pthread_mutex_unlock(&ch->lock);
}

/* The guest's bytes to the log and to whoever else reads them. */
static void deliver(struct channel *ch, const char *buf, size_t n)
{
	logfile_append(&ch->log, buf, n);
	copy_to_pty(ch, buf, n);
	if (ch->tap)
		ch->tap(ch->tap_opaque, buf, n);
}

/* Read what the emulator wrote (I/O loop). A read shorter than the buffer
 * emptied the pipe (or socket) as of that moment: it rests then, rather
 * than read again at once. A guest's UART trickles on while the loop
 * reads, so reading until EAGAIN took a few bytes per read (a syscall,
 * an append and a wake of every follower each: ~25 reads per KiB in the
 * serial bench) instead of a rest's worth. Only a full buffer reads on
 * at once, CHANNEL_READS_PER_WAKE times at most before the other
 * watches get their turn. after_rest: called as a rest ended, so what
 * the first read gets says whether the guest streamed through it. */
static void drain(struct channel *ch, bool after_rest)
{
	char buf[CHANNEL_READ_CHUNK];

	pthread_mutex_lock(&ch->lock);
	int fd = ch->watch ? ch->fd : -1;
	unsigned rested = ch->rest_us;
	pthread_mutex_unlock(&ch->lock);
	if (fd < 0)
		return;
	/* fd stays open until channel_detach() removed this watch (and
	 * the rest timer), which waits for this callback to return. */
	size_t got = 0;
	for (int i = 0; i < CHANNEL_READS_PER_WAKE; i++) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n > 0) {
			deliver(ch, buf, n);
			got += n;
			if ((size_t)n == sizeof buf)
				continue;
			/* Streamed: at least what CHANNEL_STREAM_KBPS
			 * fill in the rest that just ended waited. */
			rest(ch, after_rest && rested &&
			     got * 1000 >= (unsigned long long)rested *
			     CHANNEL_STREAM_KBPS);
			return;
		}
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (got)
				rest(ch, false);
			else
				listen_again(ch);
			return;
		}
		/* EOF or error: the emulator closed its end. Stop watching;
		 * the run's end detaches the channel for good. */
		pthread_mutex_lock(&ch->lock);
		struct io_watch *w = ch->watch;
		ch->watch = NULL;
		pthread_mutex_unlock(&ch->lock);
		ioloop_remove(w);
		return;
	}
	/* CHANNEL_READS_PER_WAKE full buffers: more waits. EPOLLIN (on
	 * again if a rest had it off) brings the loop back after the
	 * other watches had their turn. */
	listen_again(ch);
}

static void on_rest_over(void *opaque, uint32_t events)
{
	drain(opaque, true);
}

/* The input pipe has room again. */
static void on_writable(void *opaque, uint32_t events)
{
	struct channel *ch = opaque;
	pthread_mutex_lock(&ch->lock);
	if (ch->wfd >= 0 && (events & EPOLLOUT))
		flush_locked(ch);
	pthread_mutex_unlock(&ch->lock);
}

static void on_io(void *opaque, uint32_t events)
{
	struct channel *ch = opaque;

	pthread_mutex_lock(&ch->lock);
	int fd = ch->fd;
	if (fd >= 0 && !ch->wwatch && (events & EPOLLOUT))
		flush_locked(ch);
	bool in = !ch->resting;
	pthread_mutex_unlock(&ch->lock);
	/* EPOLLIN, or the hang-up epoll reports whatever the events: read.
	 * A socket's EPOLLOUT alone while resting: the rest reads. */
	if (fd >= 0 && (in || (events & ~(uint32_t)EPOLLOUT)))
		drain(ch, false);
}

static int open_pty(struct channel *ch)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return -errno;
	char path[64];
	if (grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, path, sizeof path) != 0)
		goto fail;
	int s = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);      /* no echo of guest output back to it */
		tcsetattr(s, TCSANOW, &t);
	}
	ch->pty_master = m;
	ch->pty_slave = s;
	snprintf(ch->pty_path, sizeof ch->pty_path, "%s", path);
	return 0;
fail:;
	int e = -errno;
	close(m);
	return e ? e : -EIO;
}

int channel_pty_path(struct channel *ch, char *buf, size_t len)
{
	pthread_mutex_lock(&ch->lock);
	int rc = ch->pty_master >= 0 ? 0 : -ENOENT;
	if (rc == 0)
		snprintf(buf, len, "%s", ch->pty_path);
	pthread_mutex_unlock(&ch->lock);
	return rc;
}

int channel_attach(struct channel *ch, struct ioloop *loop, int fd, int wfd,
		   unsigned char escape)
{
	pthread_mutex_lock(&ch->lock);
	/* A pty is a convenience: the channel works without one. */
	if (open_pty(ch) == 0)
		ch->pty_watch = ioloop_add(loop, ch->pty_master, EPOLLIN,
					   on_pty, ch);
	ch->fd = fd;
	ch->wfd = wfd;
	ch->escape = escape;
	ch->loop = loop;
	ch->outoff = ch->outlen = 0;
	ch->resting = 0;
	ch->rest_us = 0;
	ch->pty_full = 0;
	ch->rest_timer = ioloop_add_timer(loop, -1, 0, on_rest_over, ch);
	ch->watch = ioloop_add(loop, fd, EPOLLIN | EPOLLRDHUP, on_io, ch);
	int rc = ch->watch ? 0 : -errno;
	if (!rc && wfd != fd &&
	    !(ch->wwatch = ioloop_add(loop, wfd, 0, on_writable, ch)))
		rc = -errno;
	if (rc)      /* the caller closes fd and wfd */
		ch->fd = ch->wfd = -1;
	struct io_watch *w = rc ? ch->watch : NULL;
	if (w)
		ch->watch = NULL;
	pthread_mutex_unlock(&ch->lock);
	ioloop_remove(w);    /* not under ch->lock: on_io takes it */
	return rc;
}

void channel_detach(struct channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	struct io_watch *w = ch->watch, *pw = ch->pty_watch;
	struct io_watch *tw = ch->rest_timer, *ww = ch->wwatch;
	int fd = ch->fd, wfd = ch->wfd;
	ch->watch = ch->pty_watch = ch->rest_timer = ch->wwatch = NULL;
	ch->fd = ch->wfd = -1;
	drop_queue_locked(ch);       /* the backlog ends with the run */
	pthread_mutex_unlock(&ch->lock);
	/* Not under ch->lock: the callbacks take it, and removal waits
	 * for a running callback. */
	ioloop_remove(w);
	ioloop_remove(pw);
	ioloop_remove(tw);
	ioloop_remove(ww);
	if (fd >= 0)
		close(fd);
	if (wfd >= 0 && wfd != fd)
		close(wfd);
	pthread_mutex_lock(&ch->lock);
	if (ch->pty_master >= 0) {
		close(ch->pty_master);
		close(ch->pty_slave);
	}
	ch->pty_master = ch->pty_slave = -1;
	pthread_mutex_unlock(&ch->lock);
	logfile_end(&ch->log);      /* its followers reach end of file */
}

/* Queue len bytes of buf, each escape byte doubled when esc is set;
 * ch->lock held. 0, -ESRCH, -EAGAIN, -ENOMEM (nothing queued then). */
static int queue_locked(struct channel *ch, const char *buf, size_t len,
			bool esc)
{
	size_t doubled = 0, user = len;

	if (ch->fd < 0)
		return -ESRCH;
	for (size_t i = 0; esc && ch->escape && i < user; i++)
		doubled += (unsigned char)buf[i] == ch->escape;
	len += doubled;
	size_t queued = ch->outlen - ch->outoff;
	if (queued + len > CHANNEL_MAX_BACKLOG)
		return -EAGAIN;
	if (ch->outlen + len > ch->outcap) {
		if (ch->outoff) {             /* compact first */
			memmove(ch->out, ch->out + ch->outoff, queued);
			ch->outoff = 0;
			ch->outlen = queued;
		}
		if (ch->outlen + len > ch->outcap) {
			size_t cap = ch->outcap ? ch->outcap : 4096;
			while (cap < ch->outlen + len)
				cap *= 2;
			char *p = realloc(ch->out, cap);
			if (!p)
				return -ENOMEM;
			ch->out = p;
			ch->outcap = cap;
		}
	}
	char *o = ch->out + ch->outlen;
	if (!doubled) {
		if (len)
			memcpy(o, buf, len);
	} else {
		for (size_t i = 0; i < user; i++) {
			*o++ = buf[i];
			if ((unsigned char)buf[i] == ch->escape)
				*o++ = buf[i];   /* a literal, not a command */
		}
	}
	ch->outlen += len;
	flush_locked(ch);
	return 0;
}

ssize_t channel_write(struct channel *ch, const void *buf, size_t len)
{
	pthread_mutex_lock(&ch->lock);
	int rc = queue_locked(ch, buf, len, true);
	pthread_mutex_unlock(&ch->lock);
	return rc ? rc : (ssize_t)len;
}

int channel_break(struct channel *ch)
{
	int rc;
	pthread_mutex_lock(&ch->lock);
	if (ch->fd >= 0 && !ch->escape) {
		rc = -ENOTSUP;
	} else {
		/* QEMU's mux: escape, 'b' is a break to the frontend. */
		const char seq[2] = { (char)ch->escape, 'b' };
		rc = queue_locked(ch, seq, sizeof seq, false);
	}
	pthread_mutex_unlock(&ch->lock);
	return rc;
}
