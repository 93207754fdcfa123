/* qmp_state.h - the inside of a QMP connection, shared by the request side
 * (qmp.c) and the reply side (qmp_reply.c); nothing else includes it.
 * The threading rules are in qmp.c's head comment. */
#ifndef EMUFS_QEMU_QMP_STATE_H
#define EMUFS_QEMU_QMP_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "qmp_sendq.h"
#include "qmp_wire.h"

/* What one qmp_on_readable() reads at most before it returns to the I/O
 * loop, so that one QEMU flooding events cannot hold the loop from every
 * other instance; level-triggered epoll calls it again for the rest. */
#define QMP_READ_BUDGET QMP_LINES_CHUNK

/* A request waiting for its reply; lives on the waiting thread's stack and
 * is linked into q->pending until completed or given up. */
struct qmp_pending {
	int64_t id;
	bool done;               /* reply arrived or connection died */
	bool unreadable;         /* done: its reply came but could not be
				  * parsed (reply is NULL) */
	json_t *reply;           /* the whole reply object; NULL if it died */
	struct qmp_out *out;     /* its line while not wholly sent, or NULL */
	struct qmp_pending *next;
};

struct qmp {
	int fd;
	qmp_event_fn on_event;
	void *opaque;

	/* Reader state: touched only by the thread inside qmp_on_readable(). */
	struct qmp_lines in;
	bool unflushed;          /* events delivered since the last flush */

	/* Protects greeted, next_id, the pending list and the send queue
	 * (with its write hook); every send() on the socket happens under
	 * it, so lines never interleave. dead is written only under it (and
	 * read without it through the atomic). */
	pthread_mutex_t lock;
	pthread_cond_t reply_cond;   /* a slot completed, greeting, death,
				      * a line went out */
	bool greeted;
	struct qmp_sendq out;
	int64_t next_id;
	struct qmp_pending *pending;
	int64_t *owed;           /* ids sent and not answered, oldest first */
	size_t nowed, owed_cap;
	atomic_bool dead;

	atomic_size_t garbage;
	atomic_size_t unmatched;
};

/* Called with q->lock held: fail every waiting request, wake everyone. */
void qmp_die_locked(struct qmp *q);

/* The waiting slot of id, taken off the pending list, or NULL when its
 * requester gave up. Called with q->lock held. */
struct qmp_pending *qmp_take_pending_locked(struct qmp *q, int64_t id);

/* A reply to id came, or its line never went out: id is no longer owed.
 * Called with q->lock held. */
void qmp_answered_locked(struct qmp *q, int64_t id);

#endif
