/* qmp.c - a QMP client: one connection to one QEMU's control socket.
 *
 * Threads: one thread at a time calls qmp_on_readable() (the reader); it
 * alone owns the line buffer and parses what QEMU sends. Any number of
 * threads call qmp_execute*(): each registers a pending slot on its own
 * stack, queues its request line, and sleeps on reply_cond until the reader
 * fills the slot, the connection dies, or the deadline passes.
 *
 * Sending: request lines go into one FIFO of whole lines (out_head). It is
 * sent without blocking, under q->lock, by whoever has a chance: the
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

#define QMP_READ_CHUNK (64u * 1024)

/* What one qmp_on_readable() reads at most before it returns to the I/O
 * loop, so that one QEMU flooding events cannot hold the loop from every
 * other instance; level-triggered epoll calls it again for the rest. */
#define QMP_READ_BUDGET QMP_READ_CHUNK

/* A queued request line. Owned by the queue; owner points back at the
 * requester's slot while the requester still waits for it to go out. */
struct qmp_out {
	struct qmp_out *next;
	struct qmp_pending *owner;
	char *buf;
	size_t len, off;         /* off: bytes already sent */
};

/* A request waiting for its reply; lives on the waiting thread's stack and
 * is linked into q->pending until completed or given up. */
struct qmp_pending {
	int64_t id;
	bool done;               /* reply arrived or connection died */
	json_t *reply;           /* the whole reply object; NULL if it died */
	struct qmp_out *out;     /* its line while not wholly sent, or NULL */
	struct qmp_pending *next;
};

struct qmp {
	int fd;
	qmp_event_fn on_event;
	void *opaque;

	/* Reader state: touched only by the thread inside qmp_on_readable(). */
	char *buf;
	size_t len, cap;
	size_t scanned;          /* buf[0..scanned) holds no '\n' */
	bool discarding;         /* inside an over-long line, dropping it */
	bool unflushed;          /* events delivered since the last flush */

	/* Protects greeted, next_id, the pending list, the output queue and
	 * the write hook; every send() on the socket happens under it, so
	 * lines never interleave. dead is written only under it (and read
	 * without it through the atomic). */
	pthread_mutex_t lock;
	pthread_cond_t reply_cond;   /* a slot completed, greeting, death,
				      * a line went out */
	bool greeted;
	struct qmp_out *out_head, **out_tail;
	qmp_want_write_fn want_write;
	void *want_opaque;
	bool wants;                  /* want_write(true) was the last call */
	int64_t next_id;
	struct qmp_pending *pending;
	atomic_bool dead;

	atomic_size_t garbage;
	atomic_size_t unmatched;
};

/* ---- time ------------------------------------------------------------ */

static struct timespec deadline_after(int timeout_ms)
{
	struct timespec ts;

	if (timeout_ms < 0)
		timeout_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Milliseconds left until dl, rounded up so poll() never wakes early;
 * 0 once it has passed. */
static int ms_until(const struct timespec *dl)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(dl->tv_sec - now.tv_sec) * 1000000000LL +
	     (dl->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	ns = (ns + 999999) / 1000000;
	return ns > INT32_MAX ? INT32_MAX : (int)ns;
}

/* ---- errors ---------------------------------------------------------- */

static void set_err(struct qmp_error *err, const char *cls, const char *desc)
{
	if (!err)
		return;
	snprintf(err->cls, sizeof(err->cls), "%s", cls ? cls : "");
	snprintf(err->desc, sizeof(err->desc), "%s", desc ? desc : "");
}

/* QMP's error classes (qapi/error.json). "Not writable" (qom-set on a
 * read-only property) arrives as GenericError with desc "Insufficient
 * permission to perform this operation" or "Property '...' is not
 * writable": the props layer decides EACCES by looking at the property,
 * we never parse desc here. */
static const struct {
	const char *cls;
	int err;
} qmp_class_errno[] = {
	{ "GenericError",    EINVAL },
	{ "CommandNotFound", EINVAL },
	{ "DeviceNotFound",  ENOENT },
	/* e.g. balloon/KVM not there: the thing exists as a name only. */
	{ "DeviceNotActive", ENODEV },
	{ "KVMMissingCap",   EIO },
};

int qmp_errno_for_class(const char *cls)
{
	size_t i;

	if (!cls)
		return EIO;
	for (i = 0; i < sizeof(qmp_class_errno) / sizeof(qmp_class_errno[0]); i++)
		if (strcmp(cls, qmp_class_errno[i].cls) == 0)
			return qmp_class_errno[i].err;
	return EIO;
}

/* ---- life cycle ------------------------------------------------------ */

struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *opaque)
{
	struct qmp *q;
	pthread_condattr_t ca;
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
	q->out_tail = &q->out_head;
	atomic_init(&q->dead, false);
	atomic_init(&q->garbage, 0);
	atomic_init(&q->unmatched, 0);

	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto fail_q;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_lock;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->reply_cond, &ca) != 0)
		goto fail_ca;
	pthread_condattr_destroy(&ca);
	return q;

fail_ca:
	pthread_condattr_destroy(&ca);
fail_lock:
	pthread_mutex_destroy(&q->lock);
fail_q:
	free(q);
	return NULL;  /* the fd stays the caller's */
}

static void drop_output_locked(struct qmp *q);
static void set_want_locked(struct qmp *q, bool on);

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	drop_output_locked(q);   /* nobody else is left to hold the lock */
	pthread_cond_destroy(&q->reply_cond);
	pthread_mutex_destroy(&q->lock);
	free(q->buf);
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
	drop_output_locked(q);
	set_want_locked(q, false);
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

/* Tell the owner whether to watch for writability; only on a change. */
static void set_want_locked(struct qmp *q, bool on)
{
	if (q->wants == on)
		return;
	q->wants = on;
	if (q->want_write)
		q->want_write(q->want_opaque, on);
}

static void free_out(struct qmp_out *o)
{
	if (o->owner)
		o->owner->out = NULL;
	free(o->buf);
	free(o);
}

/* The connection died (or is freed): nothing more goes out. */
static void drop_output_locked(struct qmp *q)
{
	struct qmp_out *o, *next;

	for (o = q->out_head; o; o = next) {
		next = o->next;
		free_out(o);
	}
	q->out_head = NULL;
	q->out_tail = &q->out_head;
}

/* Send as much of the queue as the socket takes now, never blocking;
 * a send error kills the connection. */
static void flush_locked(struct qmp *q)
{
	struct qmp_out *o;

	while ((o = q->out_head) != NULL && !atomic_load(&q->dead)) {
		ssize_t n = send(q->fd, o->buf + o->off, o->len - o->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			die_locked(q);
			return;
		}
		o->off += (size_t)n;
		if (o->off < o->len)
			continue;
		q->out_head = o->next;
		if (!q->out_head)
			q->out_tail = &q->out_head;
		free_out(o);
	}
	set_want_locked(q, q->out_head != NULL && !atomic_load(&q->dead));
}

/* A requester gives up on its line: if not a byte of it went out, it
 * leaves the queue (QEMU never sees it); otherwise it stays, to be
 * finished by whoever sends next, and its reply will find no slot. */
static void give_up_line_locked(struct qmp *q, struct qmp_pending *slot)
{
	struct qmp_out *o = slot->out, **pp;

	if (!o)
		return;
	o->owner = NULL;
	slot->out = NULL;
	if (o->off > 0)
		return;
	for (pp = &q->out_head; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			if (q->out_tail == &o->next)
				q->out_tail = pp;
			free_out(o);
			break;
		}
	}
	set_want_locked(q, q->out_head != NULL);
}

void qmp_set_write_hook(struct qmp *q, qmp_want_write_fn fn, void *opaque)
{
	pthread_mutex_lock(&q->lock);
	q->want_write = fn;
	q->want_opaque = opaque;
	if (fn && q->wants)
		fn(opaque, true);
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
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	for (const struct qmp_out *o = q->out_head; o; o = o->next)
		n += o->len - o->off;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- reading --------------------------------------------------------- */

/* Hands msg (our only reference) to the waiting slot, or drops it. The
 * reference moves rather than being shared: jansson's inline json_decref
 * reads the refcount unlocked, so two threads must never own one object. */
static void complete_reply(struct qmp *q, json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	struct qmp_pending **pp;
	bool matched = false;

	if (json_is_integer(id)) {
		int64_t want = json_integer_value(id);

		pthread_mutex_lock(&q->lock);
		for (pp = &q->pending; *pp; pp = &(*pp)->next) {
			if ((*pp)->id == want) {
				struct qmp_pending *p = *pp;

				*pp = p->next;
				p->next = NULL;
				p->reply = msg;
				p->done = true;
				matched = true;
				pthread_cond_broadcast(&q->reply_cond);
				break;
			}
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

/* One line without its '\n', NUL-terminated in place. */
static void handle_line(struct qmp *q, char *line, size_t n)
{
	json_t *msg;

	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n > QMP_MAX_LINE) {
		atomic_fetch_add(&q->garbage, 1);
		return;
	}
	msg = json_loadb(line, n, 0, NULL);
	if (!json_is_object(msg)) {
		atomic_fetch_add(&q->garbage, 1);
		json_decref(msg);
		return;
	}
	if (json_object_get(msg, "QMP")) {
		pthread_mutex_lock(&q->lock);
		q->greeted = true;
		pthread_cond_broadcast(&q->reply_cond);
		pthread_mutex_unlock(&q->lock);
	} else if (json_is_string(json_object_get(msg, "event"))) {
		if (q->on_event)
			q->on_event(q->opaque, line, msg);
		q->unflushed = true;
	} else if (json_object_get(msg, "return") ||
		   json_object_get(msg, "error")) {
		flush_events(q);   /* its requester may look at them next */
		complete_reply(q, msg);
		return;
	} else {
		atomic_fetch_add(&q->garbage, 1);
	}
	json_decref(msg);
}

/* Parse every whole line in the buffer; keep the partial tail. */
static void split_lines(struct qmp *q)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(q->buf + q->scanned, '\n',
			    q->len - q->scanned)) != NULL) {
		size_t end = (size_t)(nl - q->buf);

		*nl = '\0';
		if (q->discarding) {
			q->discarding = false;
			atomic_fetch_add(&q->garbage, 1);
		} else {
			handle_line(q, q->buf + start, end - start);
		}
		start = q->scanned = end + 1;
	}
	if (q->discarding) {
		q->len = q->scanned = 0;
		return;
	}
	memmove(q->buf, q->buf + start, q->len - start);
	q->len -= start;
	q->scanned = q->len;
	if (q->len > QMP_MAX_LINE) {
		q->discarding = true;
		q->len = q->scanned = 0;
	}
}

static int grow_buf(struct qmp *q)
{
	size_t want = q->len + QMP_READ_CHUNK;
	size_t cap = q->cap ? q->cap : QMP_READ_CHUNK;
	char *nb;

	if (q->cap >= want)
		return 0;
	while (cap < want)
		cap *= 2;
	nb = realloc(q->buf, cap);
	if (!nb)
		return -1;
	q->buf = nb;
	q->cap = cap;
	return 0;
}

int qmp_on_readable(struct qmp *q)
{
	size_t got = 0;
	ssize_t n;

	if (atomic_load(&q->dead))
		return -1;
	while (got < QMP_READ_BUDGET) {
		if (grow_buf(q) < 0)
			goto broken;      /* out of memory: cannot go on */
		n = read(q->fd, q->buf + q->len, QMP_READ_CHUNK);
		if (n > 0) {
			q->len += (size_t)n;
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
	if (q->len > 0 && !q->discarding)
		atomic_fetch_add(&q->garbage, 1);  /* a line cut by EOF */
	q->len = q->scanned = 0;
	pthread_mutex_lock(&q->lock);
	die_locked(q);
	pthread_mutex_unlock(&q->lock);
	return -1;
}

/* ---- requests -------------------------------------------------------- */

/* v as compact JSON plus "\n" (malloc'd), or NULL. */
static char *dump_line(const json_t *v, size_t *len)
{
	char *text = json_dumps(v, JSON_COMPACT), *line;
	size_t n;

	if (!text)
		return NULL;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return line;
}

/* QEMU's JSON parser refuses Unicode noncharacters (U+FDD0..U+FDEF and
 * U+xFFFE, U+xFFFF of every plane) with an error that carries no id, so
 * no request could ever match it and the caller would wait out its whole
 * timeout. Find them before sending (the line is UTF-8, unescaped). */
static bool has_noncharacter(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i + 2 < n; i++) {
		if (u[i] == 0xEF && u[i + 1] == 0xB7 && u[i + 2] >= 0x90 &&
		    u[i + 2] <= 0xAF)
			return true;             /* U+FDD0..U+FDEF */
		if (u[i] == 0xEF && u[i + 1] == 0xBF &&
		    (u[i + 2] == 0xBE || u[i + 2] == 0xBF))
			return true;             /* U+FFFE, U+FFFF */
		if (u[i] >= 0xF0 && u[i] <= 0xF4 && i + 3 < n &&
		    (u[i + 1] & 0x0F) == 0x0F && u[i + 2] == 0xBF &&
		    (u[i + 3] == 0xBE || u[i + 3] == 0xBF))
			return true;             /* U+xFFFE, U+xFFFF */
	}
	return false;
}

static void unlink_pending_locked(struct qmp *q, struct qmp_pending *slot)
{
	struct qmp_pending **pp;

	for (pp = &q->pending; *pp; pp = &(*pp)->next) {
		if (*pp == slot) {
			*pp = slot->next;
			slot->next = NULL;
			return;
		}
	}
}

/* Without a write hook nobody else finishes the line: push it out
 * ourselves, waiting for POLLOUT without the lock, until dl. */
static void push_own_line_locked(struct qmp *q, struct qmp_pending *slot,
				 const struct timespec *dl)
{
	while (slot->out && !q->want_write && !atomic_load(&q->dead)) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		int ms = ms_until(dl);

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
 * execute_final counts as success), -ETIMEDOUT, -ENOMEM, -EFBIG for a
 * line over QMP_MAX_LINE. */
static int round_trip(struct qmp *q, json_t *msg, const struct timespec *dl,
		      json_t **reply, bool *died)
{
	struct qmp_pending slot = { 0 };
	struct qmp_out *o;
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

	if (json_object_set_new(msg, "id", json_integer(slot.id)) < 0)
		return -ENOMEM;
	text = dump_line(msg, &len);
	if (!text)
		return -ENOMEM;
	if (has_noncharacter(text, len)) {
		free(text);
		return -EILSEQ;
	}
	if (len > QMP_MAX_LINE) {
		free(text);
		return -EFBIG;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		free(text);
		return -ENOMEM;
	}
	o->buf = text;
	o->len = len;
	o->owner = &slot;
	slot.out = o;

	/* Register before sending: the reply may come before we wait. */
	pthread_mutex_lock(&q->lock);
	if (atomic_load(&q->dead)) {
		pthread_mutex_unlock(&q->lock);
		free_out(o);
		return -EIO;
	}
	slot.next = q->pending;
	q->pending = &slot;
	*q->out_tail = o;
	q->out_tail = &o->next;
	flush_locked(q);
	push_own_line_locked(q, &slot, dl);

	rc = 0;
	while (!slot.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->reply_cond, &q->lock, dl);
	if (!slot.done) {
		unlink_pending_locked(q, &slot);
		give_up_line_locked(q, &slot);
		pthread_mutex_unlock(&q->lock);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&q->lock);

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
		set_err(err, "Timeout", "no reply from QEMU in time");
	else if (rc == -EIO)
		set_err(err, "Disconnected", "QMP connection closed");
	else
		set_err(err, "LocalError", strerror(-rc));
}

/* A reply to its result: 0 with *ret, or the class's -errno with err. */
static int reply_result(json_t *reply, json_t **ret, struct qmp_error *err)
{
	json_t *e = json_object_get(reply, "error");

	if (e) {
		const char *cls = json_string_value(json_object_get(e, "class"));
		const char *desc = json_string_value(json_object_get(e, "desc"));

		set_err(err, cls ? cls : "GenericError", desc);
		return -qmp_errno_for_class(cls);
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	return 0;
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
	msg = json_pack("{ss}", "execute", cmd);
	if (!msg || (args && json_object_set(msg, "arguments", args) < 0)) {
		json_decref(msg);
		set_local_err(err, -ENOMEM);
		return -ENOMEM;
	}
	rc = round_trip(q, msg, dl, &reply, &died);
	json_decref(msg);
	if (rc == -EIO && final && died)
		return 0;
	if (rc == -EILSEQ) {
		set_err(err, "GenericError", "QEMU refuses Unicode "
			"noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF)");
		return -EINVAL;
	}
	if (rc == -EFBIG) {
		set_err(err, "LocalError", "the command is larger than "
			"QMP_MAX_LINE");
		return rc;
	}
	if (rc < 0) {
		set_local_err(err, rc);
		return rc;
	}
	rc = reply_result(reply, ret, err);
	json_decref(reply);
	return rc;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		int timeout_ms, json_t **ret, struct qmp_error *err)
{
	struct timespec dl = deadline_after(timeout_ms);

	return execute_until(q, cmd, args, &dl, ret, err, false);
}

int qmp_execute_final(struct qmp *q, const char *cmd, int timeout_ms)
{
	struct timespec dl = deadline_after(timeout_ms);

	return execute_until(q, cmd, NULL, &dl, NULL, NULL, true);
}

int qmp_handshake(struct qmp *q, int timeout_ms)
{
	struct timespec dl = deadline_after(timeout_ms);
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
	struct timespec dl = deadline_after(timeout_ms);
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
	if (rc < 0)
		return rc == -EILSEQ ? -EINVAL : rc;   /* noncharacters */

	if (client_id)
		rc = json_object_set(reply, "id", client_id);
	else
		rc = json_object_del(reply, "id");
	*reply_line = rc == 0 ? dump_line(reply, NULL) : NULL;
	json_decref(reply);
	return *reply_line ? 0 : -ENOMEM;
}
