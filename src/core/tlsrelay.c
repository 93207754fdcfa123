/* tlsrelay.c - a TLS link relayed to a socketpair on the I/O loop
 * (tlsrelay.h).
 *
 * Two watches, both level-triggered, each asking only for what can move:
 * the TCP socket for reading while nothing decrypted waits for the pair,
 * and for writing while a record could not be sent whole; the pair for
 * writing while decrypted bytes wait, and for reading while nothing
 * waits to be sent. So a slow reader holds the peer back through TCP
 * instead of filling emufs's memory, and every callback runs pump(),
 * which moves what it can both ways until nothing moves.
 *
 * At the end the watches go first, then the pair's end closes: epoll
 * reports a hang-up whatever a watch asks for (an ended relay left
 * watched would be called on every turn of the loop), and a watch that
 * outlived its fd would, once the number was reused, reach the new fd's
 * registration (its removal would unwatch someone else's socket).
 */
#include "tlsrelay.h"

#include <errno.h>
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
#include "tls.h"

/* One TLS record at most, each way. */
#define RELAY_BUF 16384

struct tls_relay {
	struct tls_link *link;
	int mine;                    /* our end of the pair; -1 once ended */
	/* Taken (NULL) by whoever removes them: end() on the loop thread or
	 * tls_relay_free, each once. */
	_Atomic(struct io_watch *) net, pair;
	/* Set once both watches exist (they are made one after the other,
	 * and the first may fire before the second is there). */
	atomic_bool ready;

	/* Touched only on the loop thread (pump) until ended. */
	char down[RELAY_BUF];        /* from the peer, for the pair */
	size_t down_off, down_len;
	char up[RELAY_BUF];          /* from the pair, for the peer */
	size_t up_len;               /* a send to repeat with these bytes */
	size_t max_record;           /* bytes per record to the peer; 0: any */
	bool peer_done;              /* the peer ended TLS */

	/* Protects error, mine once running, and ended (also read by
	 * pump unlocked: atomic) against tls_relay_free. */
	pthread_mutex_t lock;
	atomic_bool ended;
	char error[200];
};

/* Stop watching (from a callback too: no callback runs after it). */
static void unwatch(struct tls_relay *r)
{
	ioloop_remove(atomic_exchange(&r->net, NULL));
	ioloop_remove(atomic_exchange(&r->pair, NULL));
}

/* Watch w for events, unless tls_relay_free took it meanwhile (it waits
 * for this callback before the watch goes). */
static void watch(_Atomic(struct io_watch *) *w, uint32_t events)
{
	struct io_watch *cur = atomic_load(w);
	if (cur)
		ioloop_modify(cur, events);
}

/* End the relay: the pair's reader sees end of file. Loop thread. */
static void end(struct tls_relay *r, const char *why)
{
	pthread_mutex_lock(&r->lock);
	if (!r->ended) {
		r->ended = true;
		snprintf(r->error, sizeof r->error, "%s", why ? why : "");
		unwatch(r);             /* before the fd goes: see the top */
		close(r->mine);
		r->mine = -1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Move what can move, both ways; false once the relay ended. */
static bool move(struct tls_relay *r)
{
	bool moved;
	do {
		moved = false;
		if (!r->down_len && !r->peer_done) {
			ssize_t n = tls_recv(r->link, r->down, sizeof r->down);
			if (n > 0) {
				r->down_off = 0;
				r->down_len = (size_t)n;
				moved = true;
			} else if (n == 0) {
				r->peer_done = true;    /* orderly end */
			} else if (n != -EAGAIN) {
				end(r, tls_error(r->link));
				return false;
			}
		}
		if (r->down_len) {
			/* MSG_NOSIGNAL: a reader that closed its end is
			 * EPIPE here, never SIGPIPE for the process. */
			ssize_t w = send(r->mine, r->down + r->down_off,
					 r->down_len, MSG_NOSIGNAL);
			if (w > 0) {
				r->down_off += (size_t)w;
				r->down_len -= (size_t)w;
				moved = true;
			} else if (w < 0 && errno != EAGAIN) {
				tls_end(r->link);   /* our reader is gone */
				end(r, "");
				return false;
			}
		}
		if (r->peer_done && !r->down_len) {
			end(r, "");
			return false;
		}
		if (!r->up_len) {
			ssize_t n = read(r->mine, r->up, sizeof r->up);
			if (n > 0) {
				r->up_len = (size_t)n;
				moved = true;
			} else if (n == 0 || errno != EAGAIN) {
				tls_end(r->link);   /* closed by its owner */
				end(r, "");
				return false;
			}
		}
		if (r->up_len) {
			size_t max = r->max_record;
			size_t len = max && r->up_len > max ? max : r->up_len;
			ssize_t s = tls_send(r->link, r->up, len);
			if (s > 0) {
				r->up_len -= (size_t)s;
				memmove(r->up, r->up + s, r->up_len);
				moved = true;
			} else if (s != -EAGAIN) {
				end(r, tls_error(r->link));
				return false;
			}
		}
	} while (moved);
	return true;
}

static void pump(void *opaque, uint32_t events)
{
	struct tls_relay *r = opaque;
	(void)events;
	if (!atomic_load(&r->ready) || r->ended || !move(r))
		return;
	uint32_t net = 0, pair = 0;
	if (!r->down_len && !r->peer_done)
		net |= EPOLLIN;
	if (r->up_len && tls_wants_write(r->link))
		net |= EPOLLOUT;
	if (r->down_len)
		pair |= EPOLLOUT;
	if (!r->up_len)
		pair |= EPOLLIN;
	watch(&r->net, net);
	watch(&r->pair, pair);
}

static void first_pump(void *opaque)
{
	pump(opaque, 0);
}

int tls_relay_start(struct ioloop *loop, struct tls_link *l,
		    size_t max_record, int *plain, struct tls_relay **out)
{
	int sv[2];
	struct tls_relay *r = calloc(1, sizeof *r);
	if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			     SOCK_CLOEXEC, 0, sv) < 0) {
		int err = r ? errno : ENOMEM;
		free(r);
		tls_close(l);
		return -err;
	}
	r->link = l;
	r->mine = sv[0];
	r->max_record = max_record;
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->ended, false);
	atomic_init(&r->net, ioloop_add(loop, tls_fd(l), EPOLLIN, pump, r));
	int err = atomic_load(&r->net) ? 0 : errno;
	atomic_init(&r->pair, ioloop_add(loop, r->mine, EPOLLIN, pump, r));
	if (!err && !atomic_load(&r->pair))
		err = errno;
	if (err) {
		close(sv[1]);
		tls_relay_free(r);
		return -err;
	}
	atomic_store(&r->ready, true);
	*plain = sv[1];
	*out = r;
	/* The handshake's last read may have taken the peer's first bytes
	 * too: they wait in the session, and the socket will not say so. */
	if (ioloop_in_loop(loop))
		first_pump(r);
	else
		ioloop_call(loop, first_pump, r);
	return 0;
}

void tls_relay_free(struct tls_relay *r)
{
	if (!r)
		return;
	/* After this no callback runs, unless end() took the watches: then
	 * it runs no more than the rest of end(), whose lock we wait for. */
	unwatch(r);
	pthread_mutex_lock(&r->lock);
	r->ended = true;
	if (r->mine >= 0)
		close(r->mine);
	r->mine = -1;
	pthread_mutex_unlock(&r->lock);
	tls_close(r->link);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void tls_relay_error(struct tls_relay *r, char *buf, size_t len)
{
	pthread_mutex_lock(&r->lock);
	snprintf(buf, len, "%s", r->error);
	pthread_mutex_unlock(&r->lock);
}
