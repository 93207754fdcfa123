/* qmp_reply.c - the reply side of a QMP connection: reads what QEMU sends,
 * splits it into lines and hands each to its place: a reply to the slot of
 * its requester, an event to the owner's callback, an unreadable reply to
 * the oldest request still owed one (see qmp.c's head comment for why that
 * is the right one). One thread at a time reads: the owner's loop in
 * qmp_on_readable(), or a lone requester in qmp_read_own_reply() (see
 * qmp.c's head comment); q->reader says which. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "qmp_reply.h"
#include "qmp_state.h"

/* Fail the request of id (if it still waits): its reply came unreadable.
 * Called with q->lock held; true when a requester is to be woken. */
static bool fail_unreadable_locked(struct qmp *q, int64_t id)
{
	struct qmp_pending *p = qmp_take_pending_locked(q, id);

	if (p) {
		p->reply = NULL;
		p->unreadable = true;
		p->done = true;
	}
	return p != NULL;
}

/* A line came that would be a reply if it could be read (not JSON, or
 * over-long): the oldest owed request's reply, in order. */
static void unreadable_reply(struct qmp *q)
{
	bool wake = false;
	int64_t id;

	atomic_fetch_add(&q->garbage, 1);
	pthread_mutex_lock(&q->lock);
	if (qmp_oldest_owed_locked(q, &id)) {
		qmp_answered_locked(q, id);
		wake = fail_unreadable_locked(q, id);
	}
	pthread_mutex_unlock(&q->lock);
	if (wake)   /* after the unlock, as in complete_reply */
		pthread_cond_broadcast(&q->reply_cond);
}

/* Hands msg (our only reference) to the waiting slot, or drops it. The
 * reference moves rather than being shared: jansson's inline json_decref
 * reads the refcount unlocked, so two threads must never own one object. */
static void complete_reply(struct qmp *q, json_t *msg)
{
	struct qmp_pending *p;
	bool matched = false;
	int64_t want;

	bool known = qmp_wire_reply_id(msg, &want);
	pthread_mutex_lock(&q->lock);
	if (!known && q->ordered)      /* no id: the oldest owed's */
		known = qmp_oldest_owed_locked(q, &want);
	if (known) {
		qmp_answered_locked(q, want);
		p = qmp_take_pending_locked(q, want);
		if (p) {
			p->reply = msg;
			p->done = true;
			matched = true;
		}
	}
	pthread_mutex_unlock(&q->lock);
	/* Woken after the unlock, the requester does not block at once on
	 * the lock we hold. The cond is q's, not the slot's (which may be
	 * gone by now): safe outside the lock. */
	if (matched)
		pthread_cond_broadcast(&q->reply_cond);
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
		pthread_mutex_unlock(&q->lock);
		pthread_cond_broadcast(&q->reply_cond);
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

/* Take the reader role for the loop; false while a requester reads its
 * own reply (the loop's watch is suspended then, so only an event batch
 * from before the suspension, or a hang-up epoll reports regardless,
 * brings the loop here: the requester hands the socket back soon). */
static bool loop_reader_take(struct qmp *q)
{
	bool mine;

	pthread_mutex_lock(&q->lock);
	mine = q->reader != QMP_READER_DIRECT;
	if (mine)
		q->reader = QMP_READER_LOOP;
	pthread_mutex_unlock(&q->lock);
	return mine;
}

static void reader_give_back(struct qmp *q)
{
	pthread_mutex_lock(&q->lock);
	q->reader = QMP_READER_NONE;
	qmp_watch_update_locked(q);
	pthread_mutex_unlock(&q->lock);
}

/* qmp_on_readable() with the reader role held. */
static int read_as_loop(struct qmp *q)
{
	size_t got = 0;
	ssize_t n;
	char *space;

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
	qmp_unlock(q);
	return -1;
}

int qmp_on_readable(struct qmp *q)
{
	int rc;

	if (atomic_load(&q->dead))
		return -1;
	if (!loop_reader_take(q))
		return 0;
	rc = read_as_loop(q);
	reader_give_back(q);
	return rc;
}

/* ---- the lone requester ------------------------------------------------ */

/* Consume exactly n bytes the socket is known to hold (they were peeked
 * by the only reader). false on a failure, which the loop then meets.
 * read(), not recv(): the fd is non-blocking, and /proc/PID/io (the
 * bench's syscall count) counts read() only. */
static bool consume(struct qmp *q, char *buf, size_t n)
{
	while (n > 0) {
		ssize_t got = read(q->fd, buf, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		n -= (size_t)got;
	}
	return true;
}

/* Take the next line from the socket if it is a whole reply: complete it
 * (ours or another requester's) and return true. Anything else stays in
 * the socket, unread, for the loop: false. The line is peeked first, so
 * nothing but a reply is ever taken. */
static bool take_reply_line(struct qmp *q)
{
	size_t room, len;
	char *buf = qmp_lines_space(&q->in, &room), *nl;
	ssize_t n;
	json_t *msg;

	if (!buf)
		return false;
	n = recv(q->fd, buf, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
		      errno == EWOULDBLOCK))
		return true;                 /* nothing yet: poll again */
	if (n <= 0)
		return false;                /* EOF or an error: the loop's */
	nl = memchr(buf, '\n', (size_t)n);
	if (!nl)
		return false;                /* a partial line: the loop's */
	len = (size_t)(nl - buf);
	*nl = '\0';
	while (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (qmp_wire_parse(buf, len, &msg) != QMP_MSG_REPLY) {
		json_decref(msg);
		return false;                /* an event, greeting, garbage */
	}
	if (!consume(q, buf, (size_t)(nl - buf) + 1)) {
		json_decref(msg);
		return false;
	}
	complete_reply(q, msg);
	return true;
}

void qmp_read_own_reply(struct qmp *q, struct qmp_pending *slot,
			const struct timespec *dl)
{
	for (;;) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		bool done;
		int ms;

		pthread_mutex_lock(&q->lock);
		done = slot->done;
		pthread_mutex_unlock(&q->lock);
		ms = clock_ms_until(dl);
		if (done || ms == 0)
			break;
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			break;
		if (p.revents && !take_reply_line(q))
			break;
	}
	reader_give_back(q);
}
