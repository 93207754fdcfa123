/* qmp_reply.c - the reply side of a QMP connection: reads what QEMU sends,
 * splits it into lines and hands each to its place: a reply to the slot of
 * its requester, an event to the owner's callback, an unreadable reply to
 * the oldest request still owed one (see qmp.c's head comment for why that
 * is the right one). One thread at a time calls qmp_on_readable(). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "qmp.h"
#include "qmp_state.h"

/* Fail the request of id (if it still waits): its reply came unreadable.
 * Called with q->lock held. */
static void fail_unreadable_locked(struct qmp *q, int64_t id)
{
	struct qmp_pending *p = qmp_take_pending_locked(q, id);

	if (p) {
		p->reply = NULL;
		p->unreadable = true;
		p->done = true;
		pthread_cond_broadcast(&q->reply_cond);
	}
}

/* A line came that would be a reply if it could be read (not JSON, or
 * over-long): the oldest owed request's reply, in order. */
static void unreadable_reply(struct qmp *q)
{
	atomic_fetch_add(&q->garbage, 1);
	pthread_mutex_lock(&q->lock);
	if (q->nowed > 0) {
		int64_t id = q->owed[0];

		qmp_answered_locked(q, id);
		fail_unreadable_locked(q, id);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Hands msg (our only reference) to the waiting slot, or drops it. The
 * reference moves rather than being shared: jansson's inline json_decref
 * reads the refcount unlocked, so two threads must never own one object. */
static void complete_reply(struct qmp *q, json_t *msg)
{
	struct qmp_pending *p;
	bool matched = false;
	int64_t want;

	if (qmp_wire_reply_id(msg, &want)) {
		pthread_mutex_lock(&q->lock);
		qmp_answered_locked(q, want);
		p = qmp_take_pending_locked(q, want);
		if (p) {
			p->reply = msg;
			p->done = true;
			matched = true;
		}
		pthread_mutex_unlock(&q->lock);
		/* Woken after the unlock, the requester does not block at
		 * once on the lock we hold. The cond is q's, not the slot's
		 * (which may be gone by now): safe outside the lock. */
		if (matched)
			pthread_cond_broadcast(&q->reply_cond);
	}
	if (!matched) {
		atomic_fetch_add(&q->unmatched, 1);
		json_decref(msg);
	}
}

/* Tell the event callback to make the events so far visible. */
static void flush_events(struct qmp *q)
{
	if (q->unflushed && q->on_event)
		q->on_event(q->opaque, NULL, NULL);
	q->unflushed = false;
}

/* One line without its CR/LF, NUL-terminated in place. */
static void handle_line(struct qmp *q, char *line, size_t n)
{
	json_t *msg;

	switch (qmp_wire_parse(line, n, &msg)) {
	case QMP_MSG_GREETING:
		pthread_mutex_lock(&q->lock);
		q->greeted = true;
		pthread_cond_broadcast(&q->reply_cond);
		pthread_mutex_unlock(&q->lock);
		break;
	case QMP_MSG_EVENT:
		if (q->on_event)
			q->on_event(q->opaque, line, msg);
		q->unflushed = true;
		break;
	case QMP_MSG_REPLY:
		flush_events(q);   /* its requester may look at them next */
		complete_reply(q, msg);
		return;
	case QMP_MSG_UNREADABLE:
		flush_events(q);   /* as for a reply */
		unreadable_reply(q);
		break;
	case QMP_MSG_GARBAGE:  /* JSON, so no reply QEMU sent: skip it */
		atomic_fetch_add(&q->garbage, 1);
		break;
	}
	json_decref(msg);
}

/* Parse every whole line read so far; the partial tail stays. */
static void split_lines(struct qmp *q)
{
	enum qmp_line_kind k;
	char *line;
	size_t n;

	while ((k = qmp_lines_next(&q->in, &line, &n)) != QMP_LINE_NONE) {
		if (k == QMP_LINE_DROPPED)
			unreadable_reply(q);   /* too long for an event */
		else
			handle_line(q, line, n);
	}
}

int qmp_on_readable(struct qmp *q)
{
	size_t got = 0;
	ssize_t n;
	char *space;

	if (atomic_load(&q->dead))
		return -1;
	while (got < QMP_READ_BUDGET) {
		size_t room;
		space = qmp_lines_space(&q->in, &room);
		if (!space)
			goto broken;      /* out of memory: cannot go on */
		n = read(q->fd, space, room);
		if (n > 0) {
			qmp_lines_add(&q->in, (size_t)n);
			got += (size_t)n;
			split_lines(q);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		goto broken;  /* EOF or a real error */
	}
	/* Drained, or the budget spent: the rest waits for the loop's next
	 * round. */
	flush_events(q);
	return atomic_load(&q->dead) ? -1 : 0;
broken:
	flush_events(q);
	if (qmp_lines_reset(&q->in))
		atomic_fetch_add(&q->garbage, 1);  /* a line cut by EOF */
	pthread_mutex_lock(&q->lock);
	qmp_die_locked(q);
	pthread_mutex_unlock(&q->lock);
	return -1;
}
