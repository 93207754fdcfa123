/* qmp_state.c - the bookkeeping both sides of a QMP connection share: the
 * list of waiting requests, the ids owed a reply, and the connection's
 * death. Every function here is called with q->lock held. */
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "qmp_state.h"

/* Fail every waiting request; everyone is woken at the unlock. */
void qmp_die_locked(struct qmp *q)
{
	struct qmp_pending *p, *next;

	if (atomic_load(&q->dead))
		return;
	atomic_store(&q->dead, true);
	for (p = q->pending; p; p = next) {
		next = p->next;
		p->done = true;
		p->reply = NULL;
		p->next = NULL;
	}
	q->pending = NULL;
	q->nowed = 0;
	qmp_sendq_drop(&q->out);
	/* A requester reading its own reply polls the socket, not the cond:
	 * make its poll() see the end at once rather than at its deadline. */
	if (q->reader == QMP_READER_DIRECT)
		shutdown(q->fd, SHUT_RDWR);
	q->wake_owed = true;       /* qmp_unlock() wakes everyone */
}

void qmp_unlock(struct qmp *q)
{
	bool wake = q->wake_owed;

	q->wake_owed = false;
	pthread_mutex_unlock(&q->lock);
	if (wake)
		pthread_cond_broadcast(&q->reply_cond);
}

/* The waiting slot of id, taken off the pending list, or NULL when its
 * requester gave up. Called with q->lock held. */
struct qmp_pending *qmp_take_pending_locked(struct qmp *q, int64_t id)
{
	struct qmp_pending **pp;

	for (pp = &q->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct qmp_pending *p = *pp;

			*pp = p->next;
			p->next = NULL;
			return p;
		}
	}
	return NULL;
}

/* A reply to id came: id is no longer owed. Called with q->lock held.
 * Older ids stay owed: replies are matched by id whatever their order (a
 * test QEMU may reorder them); only a reply without one (unreadable, or
 * on an ordered connection) relies on QEMU's order. */
void qmp_answered_locked(struct qmp *q, int64_t id)
{
	for (size_t i = 0; i < q->nowed; i++) {
		if (q->owed[i] == id) {
			q->nowed--;
			memmove(q->owed + i, q->owed + i + 1,
				(q->nowed - i) * sizeof(*q->owed));
			return;
		}
	}
}

bool qmp_oldest_owed_locked(const struct qmp *q, int64_t *id)
{
	if (q->nowed == 0)
		return false;
	*id = q->owed[0];
	return true;
}

/* Tells the owner's watch hook what to watch, only on a change: reading
 * stays off while a requester reads its own reply (qmp.c). Shared by
 * both sides, so it lives with the state and not in qmp.c, which
 * qmp_reply.c must not need. */
void qmp_watch_update_locked(struct qmp *q)
{
	bool read = q->reader != QMP_READER_DIRECT;

	if (!q->watch || (read == q->told_read && q->want_write == q->told_write))
		return;
	q->told_read = read;
	q->told_write = q->want_write;
	q->watch(q->watch_opaque, read, q->want_write);
}
