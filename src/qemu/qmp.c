/* qmp.c - a QMP client: one connection to one QEMU's control socket; the
 * request side and the bookkeeping (the replies are read in qmp_reply.c,
 * the wire format is qmp_wire.c, the send queue qmp_sendq.c).
 *
 * Threads: one thread at a time reads the socket (q->reader says who): the
 * owner's loop inside qmp_on_readable(), or a requester reading its own
 * reply (qmp_reply.c); the reader alone owns the line buffer and parses
 * what QEMU sends. Any number of threads call qmp_execute*(): each
 * registers a pending slot on its own stack, queues its request line, and
 * sleeps on reply_cond until the reader fills the slot, the connection
 * dies, or the deadline passes.
 *
 * The lone requester: when a qmp_execute*() finds nobody else waiting and
 * nobody reading, it takes the reader role before its line goes out, has
 * the owner suspend the loop's read watch (the watch hook), and reads its
 * reply itself: QEMU's reply wakes the requester directly, not the loop
 * that would then wake the requester (two thread hops, two context
 * switches, the loop's extra read to EAGAIN). It takes only whole reply
 * lines; anything else goes back to the loop unread (qmp_reply.c), so
 * events keep their one thread and their order. Requesters that come
 * meanwhile wait as ever: the direct reader completes any reply it reads,
 * and the loop reads the rest once the role is back.
 *
 * Sending: request lines go into one FIFO of whole lines (qmp_sendq). It
 * is sent without blocking, under q->lock, by whoever has a chance: the
 * requester right after queueing (most lines go out at once), and the
 * owner's I/O loop through qmp_on_writable() when the socket was full (the
 * watch hook asks it to watch for writability). So a line that was started
 * is always finished, also after its requester timed out: the framing of
 * the stream never breaks. A requester that times out before a byte of its
 * line went out takes the line back, so QEMU never runs it.
 *
 * Ids are emufs's own: an integer counter, never reused within a
 * connection, so a late reply to a timed-out request finds no slot and is
 * counted and dropped. On an ordered connection (qmp_set_ordered) the id
 * stays in q->owed but not on the wire: the reply, which comes without
 * one, takes the oldest id owed, by the rule below.
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
#include "qmp_state.h"

/* ---- the owner's watch ---------------------------------------------- */

/* The send queue's hook (under q->lock): lines wait for room, or not. */
static void on_sendq_want(void *opaque, bool on)
{
	struct qmp *q = opaque;

	q->want_write = on;
	qmp_watch_update_locked(q);
}

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
	q->told_read = true;       /* an owner starts out watching reads */
	qmp_sendq_init(&q->out);
	qmp_sendq_set_hook(&q->out, on_sendq_want, q);
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

void qmp_shutdown(struct qmp *q)
{
	pthread_mutex_lock(&q->lock);
	qmp_die_locked(q);
	qmp_unlock(q);
	/* Wake the reader's poll(): it sees EOF and returns -1. */
	shutdown(q->fd, SHUT_RDWR);
}

/* ---- sending ----------------------------------------------------- */

/* Send what the socket takes now; a send error kills the connection. */
static void flush_locked(struct qmp *q)
{
	if (!atomic_load(&q->dead) && qmp_sendq_flush(&q->out, q->fd) < 0)
		qmp_die_locked(q);
}

void qmp_set_watch_hook(struct qmp *q, qmp_watch_fn fn, void *opaque)
{
	pthread_mutex_lock(&q->lock);
	q->watch = fn;
	q->watch_opaque = opaque;
	/* A new owner watches reads and not writes: tell it what differs. */
	q->told_read = true;
	q->told_write = false;
	qmp_watch_update_locked(q);
	pthread_mutex_unlock(&q->lock);
}

void qmp_set_ordered(struct qmp *q)
{
	pthread_mutex_lock(&q->lock);
	q->ordered = true;
	pthread_mutex_unlock(&q->lock);
}

int qmp_on_writable(struct qmp *q)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	flush_locked(q);
	rc = atomic_load(&q->dead) ? -1 : 0;
	qmp_unlock(q);
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

/* Without a watch hook nobody else finishes the line: push it out
 * ourselves, waiting for POLLOUT without the lock, until dl. */
static void push_own_line_locked(struct qmp *q, struct qmp_pending *slot,
				 const struct timespec *dl)
{
	while (slot->out && !q->watch && !atomic_load(&q->dead)) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		int ms = clock_ms_until(dl);

		if (ms == 0)
			return;
		qmp_unlock(q);
		poll(&pfd, 1, ms);
		pthread_mutex_lock(&q->lock);
		flush_locked(q);
	}
}

/* Whether the requester about to queue its line may read its reply
 * itself: an owner's loop to hand back to, nobody else waiting (so no
 * reply of another is due first), nobody reading, nothing buffered. If
 * so, take the reader role and suspend the loop's read watch, before the
 * line goes out: the reply must not wake the loop. q->lock held. */
static bool take_direct_locked(struct qmp *q)
{
	if (!q->watch || q->pending || q->reader != QMP_READER_NONE ||
	    !qmp_lines_empty(&q->in))
		return false;
	q->reader = QMP_READER_DIRECT;
	qmp_watch_update_locked(q);
	return true;
}

/* Queue msg (an object; its "id" is set here, unless it is emufs's own
 * (own) on an ordered connection) with slot registered for its reply, so
 * the reply may come before anyone waits. *direct (if not
 * NULL): whether the caller took the reader role (take_direct_locked) and
 * must now read its reply with qmp_read_own_reply(). 0, -EIO (dead),
 * -ENOMEM, -EILSEQ, -EFBIG (qmp_wire_command_line). */
static int submit(struct qmp *q, json_t *msg, bool own,
		  const struct timespec *dl, struct qmp_pending *slot,
		  bool *direct)
{
	bool wire_id;
	char *text = NULL;
	size_t len;
	int rc;

	memset(slot, 0, sizeof *slot);
	pthread_mutex_lock(&q->lock);
	if (atomic_load(&q->dead)) {
		pthread_mutex_unlock(&q->lock);
		return -EIO;
	}
	slot->id = q->next_id++;
	wire_id = !(own && q->ordered);
	pthread_mutex_unlock(&q->lock);

	rc = qmp_wire_command_line(msg, wire_id ? slot->id : -1, &text, &len);
	if (rc < 0)
		return rc;

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
	if (qmp_sendq_push(&q->out, text, len, &slot->out) < 0) {
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;            /* the queue freed text */
	}
	q->owed[q->nowed++] = slot->id;   /* in the order lines are queued */
	if (direct)
		*direct = take_direct_locked(q);
	slot->next = q->pending;
	q->pending = slot;
	flush_locked(q);
	push_own_line_locked(q, slot, dl);
	qmp_unlock(q);
	return 0;
}

/* Wait until dl for the reply of a submitted slot, and take the slot
 * back whatever comes. Returns 0 with *reply set (a reference), -EIO
 * when the connection died (*died tells whether it died after the
 * request was registered: what execute_final counts as success),
 * -EBADMSG when its reply came but could not be parsed, -ETIMEDOUT. */
static int await(struct qmp *q, struct qmp_pending *slot,
		 const struct timespec *dl, json_t **reply, bool *died)
{
	int rc = 0;

	*reply = NULL;
	if (died)
		*died = false;
	pthread_mutex_lock(&q->lock);
	while (!slot->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->reply_cond, &q->lock, dl);
	if (!slot->done) {
		qmp_take_pending_locked(q, slot->id);
		if (qmp_sendq_give_up(&q->out, &slot->out))
			qmp_answered_locked(q, slot->id);  /* QEMU never saw it */
		pthread_mutex_unlock(&q->lock);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&q->lock);

	if (slot->unreadable)
		return -EBADMSG;
	if (!slot->reply) {
		if (died)
			*died = true;
		return -EIO;
	}
	*reply = slot->reply;
	return 0;
}

/* Send msg (own: emufs's, not a raw client's) and wait until dl: submit,
 * then await (their errors). */
static int round_trip(struct qmp *q, json_t *msg, bool own,
		      const struct timespec *dl, json_t **reply, bool *died)
{
	struct qmp_pending slot;
	bool direct = false;
	int rc = submit(q, msg, own, dl, &slot, &direct);

	*reply = NULL;
	if (died)
		*died = false;
	if (rc < 0)
		return rc;
	if (direct)
		qmp_read_own_reply(q, &slot, dl);
	return await(q, &slot, dl, reply, died);
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

/* What a command's round trip (rc, and its reply when rc is 0: ours)
 * gives the caller: 0 with *ret, or -errno with err filled. */
static int conclude(const char *cmd, int rc, json_t *reply, json_t **ret,
		    struct qmp_error *err)
{
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
	rc = round_trip(q, msg, true, dl, &reply, &died);
	json_decref(msg);
	if (rc == -EIO && final && died)
		return 0;
	return conclude(cmd, rc, reply, ret, err);
}


int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		int timeout_ms, json_t **ret, struct qmp_error *err)
{
	struct timespec dl = clock_deadline(timeout_ms);

	return execute_until(q, cmd, args, &dl, ret, err, false);
}

/* A request out on the wire, its reply collected later (qmp_send). */
struct qmp_call {
	struct qmp *q;
	struct qmp_pending slot;   /* on the pending list until collected */
	struct timespec dl;
	int rc;                    /* a failure of the send, kept for collect */
	char *cmd;                 /* for the errno of an error reply */
};

struct qmp_call *qmp_send(struct qmp *q, const char *cmd, json_t *args,
			  int timeout_ms)
{
	struct qmp_call *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->q = q;
	c->dl = clock_deadline(timeout_ms);
	c->cmd = strdup(cmd);
	json_t *msg = c->cmd ? qmp_wire_command(cmd, args) : NULL;
	/* Not direct: the caller goes on to other connections before it
	 * collects, so the loop reads this reply. */
	c->rc = msg ? submit(q, msg, true, &c->dl, &c->slot, NULL) : -ENOMEM;
	json_decref(msg);
	return c;
}

int qmp_collect(struct qmp_call *c, json_t **ret, struct qmp_error *err)
{
	json_t *reply = NULL;
	int rc = c->rc;

	if (ret)
		*ret = NULL;
	if (rc == 0)
		rc = await(c->q, &c->slot, &c->dl, &reply, NULL);
	rc = conclude(c->cmd ? c->cmd : "", rc, reply, ret, err);
	free(c->cmd);
	free(c);
	return rc;
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
	rc = round_trip(q, msg, false, &dl, &reply, NULL);
	json_decref(msg);
	if (rc == -EBADMSG)
		return -EIO;                         /* an unreadable reply */
	if (rc < 0)
		return rc == -EILSEQ ? -EINVAL : rc;   /* noncharacters */

	*reply_line = qmp_wire_reply_line(reply, client_id);
	json_decref(reply);
	return *reply_line ? 0 : -ENOMEM;
}
