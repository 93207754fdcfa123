/* qmp_sendq.h - the QMP client's send queue: whole request lines, sent
 * without blocking, in order, never interleaved.
 *
 * A line once started is always sent whole (also after its requester
 * gave up on it), so the framing of the stream never breaks; a line of
 * which not a byte went out can be withdrawn. What the socket does not
 * take at once waits for the owner's I/O loop: the write hook says when
 * to watch for writability.
 *
 * Not thread-safe by itself: every call is made under the lock of the
 * connection that holds the queue (qmp.c's q->lock), which is also what
 * keeps two senders from interleaving their bytes.
 */
#ifndef EMUFS_QMP_SENDQ_H
#define EMUFS_QMP_SENDQ_H

#include <stdbool.h>
#include <stddef.h>

/* on: watch the fd for writability and call qmp_on_writable(); off: stop.
 * Called under the connection's lock; must not block or call into it. */
typedef void (*qmp_want_write_fn)(void *opaque, bool on);

struct qmp_out;

struct qmp_sendq {
	struct qmp_out *head, **tail;
	qmp_want_write_fn want_write;
	void *want_opaque;
	bool wants;                  /* want_write(true) was the last call */
};

void qmp_sendq_init(struct qmp_sendq *s);

/* Queue line (len bytes, malloc'd; the queue owns it from now, also on
 * failure). *owner points at the queued line until the line has gone out
 * whole or was dropped; then the queue sets it to NULL. -ENOMEM. */
int qmp_sendq_push(struct qmp_sendq *s, char *line, size_t len,
		   struct qmp_out **owner);

/* Send what the socket fd takes now, never blocking, then ask for (or
 * stop) write watching as needed. 0, or -1 on a send error: the caller's
 * connection is broken (it calls qmp_sendq_drop()). */
int qmp_sendq_flush(struct qmp_sendq *s, int fd);

/* The requester of *owner gives up: if not a byte of the line went out,
 * it leaves the queue (the peer never sees it: returns true); otherwise
 * it stays, to be finished by whoever sends next (false). */
bool qmp_sendq_give_up(struct qmp_sendq *s, struct qmp_out **owner);

/* Drop every queued line (the connection died or is freed) and stop
 * watching for writability. */
void qmp_sendq_drop(struct qmp_sendq *s);

/* Set (fn) or clear (NULL) the write hook; a set hook hears at once if
 * lines wait. */
void qmp_sendq_set_hook(struct qmp_sendq *s, qmp_want_write_fn fn,
			void *opaque);

/* Bytes queued and not sent yet. */
size_t qmp_sendq_pending(const struct qmp_sendq *s);

#endif
