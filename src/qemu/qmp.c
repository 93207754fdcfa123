/* qmp.c - a QMP client: one connection to one QEMU's control socket; the
 * request/reply bookkeeping (the wire format is qmp_wire.c, the send
 * queue qmp_sendq.c).
 *
 * Threads: one thread at a time calls qmp_on_readable() (the reader); it
 * alone owns the line buffer and parses what QEMU sends. Any number of
 * threads call qmp_execute*(): each registers a pending slot on its own
 * stack, queues its request line, and sleeps on reply_cond until the reader
 * fills the slot, the connection dies, or the deadline passes.
 *
 * Sending: request lines go into one FIFO of whole lines (qmp_sendq). It
 * is sent without blocking, under q->lock, by whoever has a chance: the
 * requester right after queueing (most lines go out at once), and the
 * owner's I/O loop through qmp_on_writable() when the socket was full (the
 * write hook asks it to watch for writability). So a line that was started
 * is always finished, also after its requester timed out: the framing of
 * the stream never breaks. A requester that times out before a byte of its
 * line went out takes the line back, so QEMU never runs it.
 *
 * Ids are emufs's own: an integer counter, never reused within a
 * connection, so a late reply to a timed-out request finds no slot and is
 * counted and dropped.
 *
 * Replies come in the order the commands were sent: QEMU's monitor runs
 * the in-band commands of one connection one at a time, in the order it
 * read them (monitor/qmp.c suspends reading while a command runs unless
 * out-of-band execution was negotiated, which emufs never asks for), and
 * answers each before it reads the next. So a reply line that cannot be
 * parsed, whose id is lost with it, answers the oldest command still owed
 * a reply: that request fails at once with -EIO instead of waiting out its
 * deadline. q->owed keeps those ids, in sending order, also of requesters
 * that gave up after their line went out (its late reply still comes).
 */
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
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

/* ---- life cycle ------------------------------------------------------ */

struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *opaque)
{
	struct qmp *q;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->fd = fd;
	q->on_event = on_event;
	q->opaque = opaque;
	q->next_id = 1;
	qmp_sendq_init(&q->out);
	atomic_init(&q->dead, false);
	atomic_init(&q->garbage, 0);
	atomic_init(&q->unmatched, 0);

	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto fail_q;
	if (clock_cond_init(&q->reply_cond) != 0)
		goto fail_lock;
	return q;

fail_lock:
	pthread_mutex_destroy(&q->lock);
fail_q:
	free(q);
	return NULL;  /* the fd stays the caller's */
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	/* Nobody else is left to hold the lock; the hook is not called. */
	qmp_sendq_set_hook(&q->out, NULL, NULL);
	qmp_sendq_drop(&q->out);
	pthread_cond_destroy(&q->reply_cond);
	pthread_mutex_destroy(&q->lock);
	qmp_lines_free(&q->in);
	free(q->owed);
	free(q);
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

bool qmp_is_dead(const struct qmp *q)
{
	return atomic_load(&q->dead);
}

size_t qmp_garbage_lines(const struct qmp *q)
{
	return atomic_load(&q->garbage);
}

size_t qmp_unmatched_replies(const struct qmp *q)
{
	return atomic_load(&q->unmatched);
}

/* Called with q->lock held: fail every waiting request, wake everyone. */
static void die_locked(struct qmp *q)
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
	pthread_cond_broadcast(&q->reply_cond);
}

void qmp_shutdown(struct qmp *q)
{
	pthread_mutex_lock(&q->lock);
	die_locked(q);
	pthread_mutex_unlock(&q->lock);
	/* Wake the reader's poll(): it sees EOF and returns -1. */
	shutdown(q->fd, SHUT_RDWR);
}

/* ---- sending ----------------------------------------------------- */

/* Send what the socket takes now; a send error kills the connection. */
static void flush_locked(struct qmp *q)
{
	if (!atomic_load(&q->dead) && qmp_sendq_flush(&q->out, q->fd) < 0)
		die_locked(q);
}

void qmp_set_write_hook(struct qmp *q, qmp_want_write_fn fn, void *opaque)
{
	pthread_mutex_lock(&q->lock);
	qmp_sendq_set_hook(&q->out, fn, opaque);
	pthread_mutex_unlock(&q->lock);
}

int qmp_on_writable(struct qmp *q)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	flush_locked(q);
	rc = atomic_load(&q->dead) ? -1 : 0;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

size_t qmp_output_pending(struct qmp *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = qmp_sendq_pending(&q->out);
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- reading --------------------------------------------------------- */

/* The waiting slot of id, taken off the pending list, or NULL when its
 * requester gave up. Called with q->lock held. */
static struct qmp_pending *take_pending_locked(struct qmp *q, int64_t id)
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

/* Fail the request of id (if it still waits): its reply came unreadable.
 * Called with q->lock held. */
static void fail_unreadable_locked(struct qmp *q, int64_t id)
{
	struct qmp_pending *p = take_pending_locked(q, id);

	if (p) {
		p->reply = NULL;
		p->unreadable = true;
		p->done = true;
		pthread_cond_broadcast(&q->reply_cond);
	}
}

/* A reply to id came: id is no longer owed. Called with q->lock held.
 * Older ids stay owed: replies are matched by id whatever their order (a
 * test QEMU may reorder them); only an unreadable line relies on QEMU's
 * order. */
static void answered_locked(struct qmp *q, int64_t id)
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

/* A line came that would be a reply if it could be read (not JSON, or
 * over-long): the oldest owed request's reply, in order. */
static void unreadable_reply(struct qmp *q)
{
	atomic_fetch_add(&q->garbage, 1);
	pthread_mutex_lock(&q->lock);
	if (q->nowed > 0) {
		int64_t id = q->owed[0];

		answered_locked(q, id);
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
		answered_locked(q, want);
		p = take_pending_locked(q, want);
		if (p) {
			p->reply = msg;
			p->done = true;
			matched = true;
			pthread_cond_broadcast(&q->reply_cond);
		}
		pthread_mutex_unlock(&q->lock);
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
	die_locked(q);
	pthread_mutex_unlock(&q->lock);
	return -1;
}

/* ---- requests -------------------------------------------------------- */


/* Room for one more owed id. -ENOMEM. Called with q->lock held. */
static int owed_reserve_locked(struct qmp *q)
{
	int64_t *n;
	size_t cap;

	if (q->nowed < q->owed_cap)
		return 0;
	cap = q->owed_cap ? q->owed_cap * 2 : 8;
	n = realloc(q->owed, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	q->owed = n;
	q->owed_cap = cap;
	return 0;
}

/* Without a write hook nobody else finishes the line: push it out
 * ourselves, waiting for POLLOUT without the lock, until dl. */
static void push_own_line_locked(struct qmp *q, struct qmp_pending *slot,
				 const struct timespec *dl)
{
	while (slot->out && !q->out.want_write && !atomic_load(&q->dead)) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		int ms = clock_ms_until(dl);

		if (ms == 0)
			return;
		pthread_mutex_unlock(&q->lock);
		poll(&pfd, 1, ms);
		pthread_mutex_lock(&q->lock);
		flush_locked(q);
	}
}

/* Send msg (an object; its "id" is set here) and wait until dl.
 * Returns 0 with *reply set (a reference), -EIO when the connection died
 * (*died tells whether it died after the request was registered: what
 * execute_final counts as success), -EBADMSG when its reply came but could
 * not be parsed, -ETIMEDOUT, -ENOMEM, -EILSEQ, -EFBIG
 * (qmp_wire_command_line). */
static int round_trip(struct qmp *q, json_t *msg, const struct timespec *dl,
		      json_t **reply, bool *died)
{
	struct qmp_pending slot = { 0 };
	char *text = NULL;
	size_t len;
	int rc;

	*reply = NULL;
	if (died)
		*died = false;

	pthread_mutex_lock(&q->lock);
	if (atomic_load(&q->dead)) {
		pthread_mutex_unlock(&q->lock);
		return -EIO;
	}
	slot.id = q->next_id++;
	pthread_mutex_unlock(&q->lock);

	rc = qmp_wire_command_line(msg, slot.id, &text, &len);
	if (rc < 0)
		return rc;

	/* Register before sending: the reply may come before we wait. */
	pthread_mutex_lock(&q->lock);
	if (atomic_load(&q->dead)) {
		pthread_mutex_unlock(&q->lock);
		free(text);
		return -EIO;
	}
	if (owed_reserve_locked(q) < 0) {
		pthread_mutex_unlock(&q->lock);
		free(text);
		return -ENOMEM;
	}
	if (qmp_sendq_push(&q->out, text, len, &slot.out) < 0) {
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;            /* the queue freed text */
	}
	q->owed[q->nowed++] = slot.id;   /* in the order lines are queued */
	slot.next = q->pending;
	q->pending = &slot;
	flush_locked(q);
	push_own_line_locked(q, &slot, dl);

	rc = 0;
	while (!slot.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->reply_cond, &q->lock, dl);
	if (!slot.done) {
		take_pending_locked(q, slot.id);
		if (qmp_sendq_give_up(&q->out, &slot.out))
			answered_locked(q, slot.id);  /* QEMU never saw it */
		pthread_mutex_unlock(&q->lock);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&q->lock);

	if (slot.unreadable)
		return -EBADMSG;
	if (!slot.reply) {
		if (died)
			*died = true;
		return -EIO;
	}
	*reply = slot.reply;
	return 0;
}

static void set_local_err(struct qmp_error *err, int rc)
{
	if (rc == -ETIMEDOUT)
		qmp_wire_set_error(err, "Timeout", "no reply from QEMU in time");
	else if (rc == -EIO)
		qmp_wire_set_error(err, "Disconnected", "QMP connection closed");
	else if (rc == -EBADMSG)
		qmp_wire_set_error(err, "BadReply", "QEMU's reply could not "
				   "be parsed (or was over QMP_MAX_LINE)");
	else
		qmp_wire_set_error(err, "LocalError", strerror(-rc));
}

static int execute_until(struct qmp *q, const char *cmd, json_t *args,
			 const struct timespec *dl, json_t **ret,
			 struct qmp_error *err, bool final)
{
	json_t *msg, *reply = NULL;
	bool died = false;
	int rc;

	if (ret)
		*ret = NULL;
	if (!cmd) {
		set_local_err(err, -EINVAL);
		return -EINVAL;
	}
	msg = qmp_wire_command(cmd, args);
	if (!msg) {
		set_local_err(err, -ENOMEM);
		return -ENOMEM;
	}
	rc = round_trip(q, msg, dl, &reply, &died);
	json_decref(msg);
	if (rc == -EIO && final && died)
		return 0;
	if (rc == -EILSEQ) {
		/* What QEMU would say, as it would say it (but with an id). */
		qmp_wire_set_error(err, "GenericError", "QEMU refuses Unicode "
			"noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF)");
		return -qmp_errno_for(cmd, "GenericError");
	}
	if (rc == -EFBIG) {
		qmp_wire_set_error(err, "LocalError", "the command is larger "
			"than QMP_MAX_LINE");
		return rc;
	}
	if (rc < 0) {
		set_local_err(err, rc);
		return rc == -EBADMSG ? -EIO : rc;
	}
	rc = qmp_wire_result(cmd, reply, ret, err);
	json_decref(reply);
	return rc;
}


int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		int timeout_ms, json_t **ret, struct qmp_error *err)
{
	struct timespec dl = clock_deadline(timeout_ms);

	return execute_until(q, cmd, args, &dl, ret, err, false);
}

int qmp_execute_final(struct qmp *q, const char *cmd, int timeout_ms)
{
	struct timespec dl = clock_deadline(timeout_ms);

	return execute_until(q, cmd, NULL, &dl, NULL, NULL, true);
}

int qmp_handshake(struct qmp *q, int timeout_ms)
{
	struct timespec dl = clock_deadline(timeout_ms);
	int rc = 0;
	bool greeted;

	pthread_mutex_lock(&q->lock);
	while (!q->greeted && !atomic_load(&q->dead) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->reply_cond, &q->lock, &dl);
	greeted = q->greeted;
	pthread_mutex_unlock(&q->lock);
	if (!greeted)
		return atomic_load(&q->dead) ? -EIO : -ETIMEDOUT;
	return execute_until(q, "qmp_capabilities", NULL, &dl, NULL, NULL,
			     false);
}

int qmp_execute_raw(struct qmp *q, json_t *cmd, int timeout_ms,
		    char **reply_line)
{
	struct timespec dl = clock_deadline(timeout_ms);
	json_t *msg, *client_id, *reply = NULL;
	int rc;

	*reply_line = NULL;
	if (!json_is_object(cmd) ||
	    !json_is_string(json_object_get(cmd, "execute")))
		return -EINVAL;
	client_id = json_object_get(cmd, "id");  /* borrowed from cmd */
	msg = json_copy(cmd);  /* shallow: only our "id" differs */
	if (!msg)
		return -ENOMEM;
	rc = round_trip(q, msg, &dl, &reply, NULL);
	json_decref(msg);
	if (rc == -EBADMSG)
		return -EIO;                         /* an unreadable reply */
	if (rc < 0)
		return rc == -EILSEQ ? -EINVAL : rc;   /* noncharacters */

	*reply_line = qmp_wire_reply_line(reply, client_id);
	json_decref(reply);
	return *reply_line ? 0 : -ENOMEM;
}
