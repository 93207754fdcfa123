/* gdbrelay.c - a gdb stub's link relayed to a loopback port for the
 * user's gdb (gdbrelay.h).
 *
 * Three watches, level-triggered, each asking only for what can move
 * (as tlsrelay.c): the listener; the stub, for reading while nothing
 * waits for the user (always, while no user is there: its bytes are
 * dropped) and for writing while bytes wait for it; the user, the same
 * the other way. Every callback runs pump(), which moves what it can both
 * ways until nothing moves, under the relay's lock.
 *
 * A watch goes before its fd is closed: a watch that outlived its fd
 * would, once the number was reused, reach the new fd's registration.
 */
#include "gdbrelay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioloop.h"
#include "tcplink.h"

/* QEMU's stub packets are at most 4 KiB (8 KiB hex-encoded). */
#define RELAY_BUF 16384
/* What the stub may send before it answers vAttach (a stop reply, its
 * acks); more than this and the relay stops waiting for the answer. */
#define ATTACH_SEEN_MAX 4096

/* A session's start (gdbrelay.h): stop the CPUs, attach process 1. */
static const char session_start[] = "\x03$vAttach;1#37";

struct gdb_relay {
	int port;
	gdb_relay_end_fn on_end;
	void *opaque;
	/* Taken (NULL) by whoever removes them: the loop thread under lock
	 * while !ended, gdb_relay_free once ended. */
	_Atomic(struct io_watch *) listen_w, stub_w, user_w;
	struct ioloop *loop;

	/* Protects everything below (every callback holds it throughout;
	 * gdb_relay_free only to set ended). */
	pthread_mutex_t lock;
	bool ended;                  /* gdb_relay_free began */
	int lfd, stub, user;         /* -1 once closed / while no user */
	bool stub_gone;              /* the stub's link ended */
	bool end_told;               /* finish_stub is the caller's to run */
	char why[160];               /* ... and why ("" if orderly) */
	bool attaching;              /* waiting for the vAttach answer */
	char seen[ATTACH_SEEN_MAX];  /* the stub's bytes meanwhile */
	size_t seen_len;
	char to_user[RELAY_BUF];
	size_t tu_off, tu_len;
	char to_stub[RELAY_BUF];
	size_t ts_off, ts_len;
};

static void set_events(_Atomic(struct io_watch *) *w, uint32_t events)
{
	struct io_watch *cur = atomic_load(w);
	if (cur)
		ioloop_modify(cur, events);
}

static void drop_user(struct gdb_relay *r)
{
	if (r->user < 0)
		return;
	ioloop_remove(atomic_exchange(&r->user_w, NULL));
	close(r->user);
	r->user = -1;
	r->tu_len = 0;
	r->attaching = false;
}

/* Queue bytes for the stub behind what already waits; false if there is
 * no room. */
static bool queue_to_stub(struct gdb_relay *r, const char *s, size_t n)
{
	memmove(r->to_stub, r->to_stub + r->ts_off, r->ts_len);
	r->ts_off = 0;
	if (r->ts_len + n > sizeof r->to_stub)
		return false;
	memcpy(r->to_stub + r->ts_len, s, n);
	r->ts_len += n;
	return true;
}

/* The stub's bytes while a session starts: drop them up to and including
 * the vAttach answer (a stop reply "T05..." or an error "E.."), ack it,
 * hand the rest to the user. */
static void feed_attach(struct gdb_relay *r, const char *buf, size_t n)
{
	if (r->seen_len + n > sizeof r->seen) {
		r->attaching = false;          /* no answer: let the user on */
		r->seen_len = 0;
		return;
	}
	memcpy(r->seen + r->seen_len, buf, n);
	r->seen_len += n;
	const char *p = r->seen, *end = r->seen + r->seen_len;
	while ((p = memchr(p, '$', (size_t)(end - p)))) {
		const char *hash = memchr(p, '#', (size_t)(end - p));
		if (!hash || end - hash < 3)
			return;                /* not whole yet */
		if (!strncmp(p + 1, "T05", 3) || p[1] == 'E') {
			const char *rest = hash + 3;
			r->attaching = false;
			r->tu_off = 0;
			r->tu_len = (size_t)(end - rest);
			memcpy(r->to_user, rest, r->tu_len);
			r->seen_len = 0;
			if (!queue_to_stub(r, "+", 1))
				drop_user(r);
			return;
		}
		p = hash + 3;
	}
}

/* The stub's link ended: no user from now on. The watch and the fd stay
 * until on_end returned (on_stub): the owner's gdb_relay_free waits for
 * the callback only while the watch exists. */
static void stub_end(struct gdb_relay *r, int err)
{
	r->stub_gone = true;
	snprintf(r->why, sizeof r->why, "%s", err ? strerror(err) : "");
	r->ts_len = 0;
	drop_user(r);
}

/* Send what waits in buf at *off: 1 if some went, 0 if none could,
 * -errno if the peer is gone (MSG_NOSIGNAL: EPIPE, never SIGPIPE). */
static int send_some(int fd, const char *buf, size_t *off, size_t *len)
{
	ssize_t w = send(fd, buf + *off, *len, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN ? 0 : -errno;
	*off += (size_t)w;
	*len -= (size_t)w;
	return w > 0;
}

/* Move what can move both ways; then ask each watch for what may move
 * next. Under the lock. */
static void pump(struct gdb_relay *r)
{
	bool moved;
	do {
		moved = false;
		if (!r->tu_len) {          /* the stub's bytes: user, or bin */
			char buf[RELAY_BUF];
			ssize_t n = read(r->stub, buf, sizeof buf);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				stub_end(r, n ? errno : 0);
				return;
			}
			if (n > 0) {
				moved = true;
				if (r->attaching) {
					feed_attach(r, buf, (size_t)n);
				} else if (r->user >= 0) {
					memcpy(r->to_user, buf, (size_t)n);
					r->tu_off = 0;
					r->tu_len = (size_t)n;
				}
			}
		}
		if (r->tu_len) {
			int w = send_some(r->user, r->to_user, &r->tu_off,
					  &r->tu_len);
			moved |= w > 0;
			if (w < 0)
				drop_user(r);
		}
		if (r->user >= 0 && !r->attaching && !r->ts_len) {
			ssize_t n = read(r->user, r->to_stub, sizeof r->to_stub);
			if (n > 0) {
				r->ts_off = 0;
				r->ts_len = (size_t)n;
				moved = true;
			} else if (n == 0 || errno != EAGAIN) {
				drop_user(r);  /* what it sent still goes */
			}
		}
		if (r->ts_len) {
			int w = send_some(r->stub, r->to_stub, &r->ts_off,
					  &r->ts_len);
			moved |= w > 0;
			if (w < 0) {
				stub_end(r, -w);
				return;
			}
		}
	} while (moved);
	set_events(&r->stub_w, (r->tu_len ? 0 : EPOLLIN) |
		   (r->ts_len ? EPOLLOUT : 0));
	set_events(&r->user_w, (r->attaching || r->ts_len ? 0 : EPOLLIN) |
		   (r->tu_len ? EPOLLOUT : 0));
}

/* After the stub's end: on_end outside the lock, then the watch and the
 * fd go, unless gdb_relay_free began (it takes them). */
static void finish_stub(struct gdb_relay *r)
{
	if (r->on_end)
		r->on_end(r->opaque, r->why);
	pthread_mutex_lock(&r->lock);
	if (!r->ended && r->stub >= 0) {
		ioloop_remove(atomic_exchange(&r->stub_w, NULL));
		close(r->stub);
		r->stub = -1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Whether this callback saw the stub end first (it then runs
 * finish_stub, once). Under the lock. */
static bool take_end(struct gdb_relay *r)
{
	if (!r->stub_gone || r->end_told)
		return false;
	r->end_told = true;
	return true;
}

static void on_io(struct gdb_relay *r, uint32_t events, bool from_user)
{
	pthread_mutex_lock(&r->lock);
	if (r->ended || r->stub_gone) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	/* A hang-up epoll reports whatever a watch asks for: a user gone
	 * whose bytes cannot be taken now goes now (no spinning); the
	 * stub's last words to the user no longer matter. */
	if (events & (EPOLLHUP | EPOLLERR)) {
		if (from_user && (r->attaching || r->ts_len))
			drop_user(r);
		else if (!from_user)
			r->tu_len = 0;
	}
	pump(r);
	bool gone = take_end(r);
	pthread_mutex_unlock(&r->lock);
	if (gone)
		finish_stub(r);
}

static void on_stub(void *opaque, uint32_t events)
{
	on_io(opaque, events, false);
}

static void on_user(void *opaque, uint32_t events)
{
	on_io(opaque, events, true);
}

/* A user connects: one at a time; the session starts (gdbrelay.h). */
static void on_listen(void *opaque, uint32_t events)
{
	struct gdb_relay *r = opaque;
	(void)events;
	pthread_mutex_lock(&r->lock);
	int fd;
	while (!r->ended &&
	       (fd = accept4(r->lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		/* A user that left and came back at once: its hang-up may
		 * wait in the same batch of events as this connection. */
		struct pollfd p = { r->user, POLLRDHUP, 0 };
		if (r->user >= 0 && poll(&p, 1, 0) == 1)
			drop_user(r);
		if (r->user >= 0 || r->stub_gone) {
			close(fd);             /* one user at a time */
			continue;
		}
		r->user = fd;
		atomic_store(&r->user_w, ioloop_add(r->loop, fd, EPOLLIN,
						     on_user, r));
		r->attaching = true;
		r->seen_len = 0;
		if (!atomic_load(&r->user_w) ||
		    !queue_to_stub(r, session_start, sizeof session_start - 1))
			drop_user(r);
	}
	if (!r->ended && !r->stub_gone)
		pump(r);
	bool gone = take_end(r);
	pthread_mutex_unlock(&r->lock);
	if (gone)
		finish_stub(r);
}

int gdb_relay_start(struct ioloop *loop, int stub, gdb_relay_end_fn on_end,
		    void *opaque, struct gdb_relay **out)
{
	struct gdb_relay *r = calloc(1, sizeof *r);
	if (!r) {
		close(stub);
		return -ENOMEM;
	}
	r->loop = loop;
	r->stub = stub;
	r->user = -1;
	r->on_end = on_end;
	r->opaque = opaque;
	pthread_mutex_init(&r->lock, NULL);
	/* Loopback only: the user's gdb runs where emufs does. */
	r->lfd = tcplink_listen("127.0.0.1", &r->port);
	if (r->lfd < 0) {
		int rc = r->lfd;
		gdb_relay_free(r);
		return rc;
	}
	atomic_init(&r->stub_w, ioloop_add(loop, stub, EPOLLIN, on_stub, r));
	int err = atomic_load(&r->stub_w) ? 0 : errno;
	atomic_init(&r->listen_w, ioloop_add(loop, r->lfd, EPOLLIN, on_listen,
					     r));
	if (!err && !atomic_load(&r->listen_w))
		err = errno;
	if (err) {
		gdb_relay_free(r);
		return -err;
	}
	*out = r;
	return 0;
}

int gdb_relay_port(const struct gdb_relay *r)
{
	return r->port;
}

void gdb_relay_free(struct gdb_relay *r)
{
	if (!r)
		return;
	/* From here no callback touches the relay; one inside it finishes
	 * first (the lock), and each removal below waits for its watch's
	 * callback. */
	pthread_mutex_lock(&r->lock);
	r->ended = true;
	pthread_mutex_unlock(&r->lock);
	ioloop_remove(atomic_exchange(&r->listen_w, NULL));
	ioloop_remove(atomic_exchange(&r->stub_w, NULL));
	ioloop_remove(atomic_exchange(&r->user_w, NULL));
	if (r->lfd >= 0)
		close(r->lfd);
	if (r->stub >= 0)
		close(r->stub);
	if (r->user >= 0)
		close(r->user);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
