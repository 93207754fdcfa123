/* test_qmp.c - the QMP client against a scripted QEMU on a socketpair.
 *
 * The test plays QEMU: it writes server lines recorded from a real QEMU 7.2
 * (tests/unit/qemu/data/qmp/qemu-7.2-ast2500.txt, CRLF line ends, ids replaced
 * by the ones the client chose) and reads back what the client sent. A
 * pump thread plays emufs's I/O loop: poll() the client fd (for POLLIN
 * unless a lone requester reads its own reply, for POLLOUT too while the
 * client's watch hook asks for it), call qmp_on_readable() and
 * qmp_on_writable() until the connection is dead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/bignum.h"
#include "qemu/qmp.h"

#define GREETING \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, " \
	"\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, " \
	"\"capabilities\": [\"oob\"]}}\r\n"
#define EV_RESUME \
	"{\"timestamp\": {\"seconds\": 1795367071, \"microseconds\": 886098}, " \
	"\"event\": \"RESUME\"}\r\n"
#define EV_STOP \
	"{\"timestamp\": {\"seconds\": 1795367072, \"microseconds\": 186498}, " \
	"\"event\": \"STOP\"}\r\n"
#define EV_SHUTDOWN \
	"{\"timestamp\": {\"seconds\": 1795367072, \"microseconds\": 787413}, " \
	"\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, " \
	"\"reason\": \"host-qmp-quit\"}}\r\n"
#define R_EMPTY "{\"return\": {}, \"id\": %lld}\r\n"
#define R_STATUS \
	"{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, " \
	"\"running\": false}, \"id\": %lld}\r\n"
#define R_FALSE "{\"return\": false, \"id\": %lld}\r\n"
#define R_NOTFOUND \
	"{\"id\": %lld, \"error\": {\"class\": \"CommandNotFound\", " \
	"\"desc\": \"The command nope has not been found\"}}\r\n"
#define R_NODEV \
	"{\"id\": %lld, \"error\": {\"class\": \"DeviceNotFound\", " \
	"\"desc\": \"Device '/machine/nothere' not found\"}}\r\n"
#define R_NOTWRITABLE \
	"{\"id\": %lld, \"error\": {\"class\": \"GenericError\", " \
	"\"desc\": \"Property 'aspeed.gpio-ast2500.type' is not writable\"}}\r\n"
#define R_PARSE_ERROR \
	"{\"error\": {\"class\": \"GenericError\", " \
	"\"desc\": \"JSON parse error, invalid keyword 'nonsense'\"}}\r\n"

/* QEMU's replies to id-less commands (an ordered connection). */
#define RO_EMPTY "{\"return\": {}}\r\n"
#define RO_STATUS \
	"{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, " \
	"\"running\": false}}\r\n"
#define RO_FALSE "{\"return\": false}\r\n"

/* Bounds for things that should happen at once: generous, because only a
 * failing test waits that long, and sanitizers on a loaded machine are slow. */
#define SRV_TIMEOUT_MS 10000
#define CALL_TIMEOUT_MS 10000

struct fx {
	int srv;                 /* the "QEMU" end; -1 once closed */
	struct qmp *q;
	pthread_t pump;
	atomic_bool stop;
	atomic_bool pump_done;   /* qmp_on_readable returned -1 */
	atomic_bool want_write;  /* set by the client's watch hook */
	atomic_bool no_read;     /* the same: a requester reads directly */
	atomic_int hook_calls;
	atomic_int events_at_flush;  /* events seen at the last flush point */

	pthread_mutex_t ev_lock; /* protects events */
	json_t *events;          /* raw event lines, in arrival order */

	char *rbuf;              /* server side line reader */
	size_t rlen, rcap;
};

static size_t n_events(struct fx *f);

static void on_event(void *opaque, const char *line, json_t *ev)
{
	struct fx *f = opaque;

	if (!line) {             /* a flush point */
		atomic_store(&f->events_at_flush, (int)n_events(f));
		return;
	}
	assert_non_null(json_object_get(ev, "event"));
	pthread_mutex_lock(&f->ev_lock);
	json_array_append_new(f->events, json_string(line));
	pthread_mutex_unlock(&f->ev_lock);
}

static size_t n_events(struct fx *f)
{
	size_t n;

	pthread_mutex_lock(&f->ev_lock);
	n = json_array_size(f->events);
	pthread_mutex_unlock(&f->ev_lock);
	return n;
}

/* The event name of the i-th event, as a static copy for asserts. */
static const char *event_name(struct fx *f, size_t i)
{
	static char name[64];
	json_t *ev;

	pthread_mutex_lock(&f->ev_lock);
	ev = json_loads(json_string_value(json_array_get(f->events, i)), 0, NULL);
	pthread_mutex_unlock(&f->ev_lock);
	snprintf(name, sizeof(name), "%s",
		 ev ? json_string_value(json_object_get(ev, "event")) : "?");
	json_decref(ev);
	return name;
}

static void want_write(void *opaque, bool read, bool write)
{
	struct fx *f = opaque;

	atomic_store(&f->no_read, !read);
	atomic_store(&f->want_write, write);
	atomic_fetch_add(&f->hook_calls, 1);
}

static void *pump_main(void *arg)
{
	struct fx *f = arg;
	struct pollfd p = { .fd = qmp_fd(f->q) };

	while (!atomic_load(&f->stop)) {
		int rc = 0;

		/* The hook's change shows within one 10 ms poll, as the real
		 * loop's epoll_ctl() would show at once. */
		p.events = (atomic_load(&f->no_read) ? 0 : POLLIN) |
			   (atomic_load(&f->want_write) ? POLLOUT : 0);
		if (poll(&p, 1, 10) <= 0)
			continue;
		if (p.revents & POLLOUT)
			rc = qmp_on_writable(f->q);
		if (rc == 0 && (p.revents & ~POLLOUT))
			rc = qmp_on_readable(f->q);
		if (rc < 0) {
			atomic_store(&f->pump_done, true);
			break;
		}
	}
	return NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->srv = sv[0];
	pthread_mutex_init(&f->ev_lock, NULL);
	f->events = json_array();
	f->q = qmp_new(sv[1], on_event, f);
	assert_non_null(f->q);
	qmp_set_watch_hook(f->q, want_write, f);
	assert_int_equal(pthread_create(&f->pump, NULL, pump_main, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	atomic_store(&f->stop, true);
	pthread_join(f->pump, NULL);
	qmp_free(f->q);
	if (f->srv >= 0)
		close(f->srv);
	json_decref(f->events);
	pthread_mutex_destroy(&f->ev_lock);
	free(f->rbuf);
	free(f);
	return 0;
}

/* ---- the server side ------------------------------------------------- */

static void srv_write(struct fx *f, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(f->srv, s, n);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void srv_send(struct fx *f, const char *s)
{
	srv_write(f, s, strlen(s));
}

/* Send fmt with the request id filled in. */
static void srv_reply(struct fx *f, const char *fmt, int64_t id)
{
	char line[512];

	snprintf(line, sizeof(line), fmt, (long long)id);
	srv_send(f, line);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next line the client sent, without '\n' (caller frees), or NULL if none
 * came within timeout_ms. */
static char *srv_recv_line(struct fx *f, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		char *nl = f->rbuf ? memchr(f->rbuf, '\n', f->rlen) : NULL;
		struct pollfd p = { .fd = f->srv, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - f->rbuf);
			char *line = strndup(f->rbuf, len);

			memmove(f->rbuf, nl + 1, f->rlen - len - 1);
			f->rlen -= len + 1;
			return line;
		}
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		if (f->rcap - f->rlen < 65536) {
			f->rcap = f->rcap ? f->rcap * 2 : 65536;
			f->rbuf = realloc(f->rbuf, f->rcap);
			assert_non_null(f->rbuf);
		}
		n = read(f->srv, f->rbuf + f->rlen, f->rcap - f->rlen);
		if (n <= 0)
			return NULL;
		f->rlen += (size_t)n;
	}
}

/* Next request, parsed; fails the test if none comes. */
static json_t *srv_recv(struct fx *f)
{
	char *line = srv_recv_line(f, SRV_TIMEOUT_MS);
	json_t *req;

	assert_non_null(line);
	req = json_loads(line, 0, NULL);
	free(line);
	assert_true(json_is_object(req));
	return req;
}

static int64_t req_id(json_t *req)
{
	json_t *id = json_object_get(req, "id");

	assert_true(json_is_integer(id));
	return json_integer_value(id);
}

static const char *req_cmd(json_t *req)
{
	return json_string_value(json_object_get(req, "execute"));
}

static void srv_expect_silence(struct fx *f, int ms)
{
	struct pollfd p = { .fd = f->srv, .events = POLLIN };

	assert_int_equal(f->rlen, 0);
	assert_int_equal(poll(&p, 1, ms), 0);
}

/* Wait (bounded) until expr holds. */
#define WAIT_FOR(expr) do { \
	int64_t end_ = now_ms() + SRV_TIMEOUT_MS; \
	while (!(expr) && now_ms() < end_) \
		usleep(1000); \
	assert_true(expr); \
} while (0)

/* ---- calls on client threads ----------------------------------------- */

enum call_kind { CALL_EXEC, CALL_FINAL, CALL_RAW, CALL_HANDSHAKE };

struct call {
	struct qmp *q;
	enum call_kind kind;
	const char *cmd;
	json_t *args;            /* borrowed; raw: the client's object */
	int timeout_ms;
	int rc;
	json_t *ret;
	char *line;
	struct qmp_error err;
	pthread_t th;
};

static void *call_main(void *arg)
{
	struct call *c = arg;

	switch (c->kind) {
	case CALL_EXEC:
		c->rc = qmp_execute(c->q, c->cmd, c->args, c->timeout_ms,
				    &c->ret, &c->err);
		break;
	case CALL_FINAL:
		c->rc = qmp_execute_final(c->q, c->cmd, c->timeout_ms);
		break;
	case CALL_RAW:
		c->rc = qmp_execute_raw(c->q, c->args, c->timeout_ms, &c->line);
		break;
	case CALL_HANDSHAKE:
		c->rc = qmp_handshake(c->q, c->timeout_ms);
		break;
	}
	return NULL;
}

static void call_start(struct call *c, struct fx *f, enum call_kind kind,
		       const char *cmd, json_t *args, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->q = f->q;
	c->kind = kind;
	c->cmd = cmd;
	c->args = args;
	c->timeout_ms = timeout_ms;
	assert_int_equal(pthread_create(&c->th, NULL, call_main, c), 0);
}

static void call_finish(struct call *c)
{
	pthread_join(c->th, NULL);
}

static void call_free(struct call *c)
{
	json_decref(c->ret);
	free(c->line);
}

/* Greeting + qmp_capabilities, asserting the exact bytes the client sends
 * (want), answered with reply. */
static void handshake_as(struct fx *f, const char *want, const char *reply)
{
	struct call c;
	char *line;

	srv_send(f, GREETING);
	call_start(&c, f, CALL_HANDSHAKE, NULL, NULL, CALL_TIMEOUT_MS);
	line = srv_recv_line(f, SRV_TIMEOUT_MS);
	assert_non_null(line);
	assert_string_equal(line, want);
	free(line);
	srv_reply(f, reply, 1);
	call_finish(&c);
	assert_int_equal(c.rc, 0);
}

static void do_handshake(struct fx *f)
{
	handshake_as(f, "{\"execute\":\"qmp_capabilities\",\"id\":1}",
		     R_EMPTY);
}

/* ---- tests ----------------------------------------------------------- */

static void test_handshake_sends_capabilities_after_greeting(void **state)
{
	struct fx *f = *state;

	do_handshake(f);
	assert_false(qmp_is_dead(f->q));
	assert_int_equal(qmp_garbage_lines(f->q), 0);
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
}

static void test_handshake_times_out_without_greeting(void **state)
{
	struct fx *f = *state;
	int64_t t0 = now_ms();

	assert_int_equal(qmp_handshake(f->q, 100), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 100);
	srv_expect_silence(f, 0);
}

static void test_event_before_greeting_is_delivered(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	call_start(&c, f, CALL_HANDSHAKE, NULL, NULL, CALL_TIMEOUT_MS);
	srv_send(f, EV_STOP);
	WAIT_FOR(n_events(f) == 1);
	srv_expect_silence(f, 20);  /* no qmp_capabilities before greeting */
	srv_send(f, GREETING);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "qmp_capabilities");
	srv_reply(f, R_EMPTY, req_id(req));
	json_decref(req);
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal(event_name(f, 0), "STOP");
	pthread_mutex_lock(&f->ev_lock);
	assert_string_equal(json_string_value(json_array_get(f->events, 0)),
			    "{\"timestamp\": {\"seconds\": 1795367072, "
			    "\"microseconds\": 186498}, \"event\": \"STOP\"}");
	pthread_mutex_unlock(&f->ev_lock);
}

/* The three calls of query-status, qom-get and cont ended, each with its
 * own command's answer. */
static void finish_three(struct call c[3])
{
	for (int i = 0; i < 3; i++)
		call_finish(&c[i]);
	assert_int_equal(c[0].rc, 0);
	assert_string_equal(
		json_string_value(json_object_get(c[0].ret, "status")),
		"prelaunch");
	assert_int_equal(c[1].rc, 0);
	assert_true(json_is_false(c[1].ret));
	assert_int_equal(c[2].rc, 0);
	assert_true(json_is_object(c[2].ret));
}

/* Three requests in flight, answered middle, first, last: neither "oldest
 * waiter" nor "newest waiter" would pass, only matching by id. */
static void test_out_of_order_replies_match_by_id(void **state)
{
	struct fx *f = *state;
	static const char *cmds[3] = { "query-status", "qom-get", "cont" };
	static const char *fmts[3] = { R_STATUS, R_FALSE, R_EMPTY };
	static const int order[3] = { 1, 0, 2 };
	json_t *args = json_pack("{ss ss}", "path", "/machine/soc/gpio",
				 "property", "gpioA0");
	struct call c[3];
	json_t *req[3];
	int i, j;

	do_handshake(f);
	for (i = 0; i < 3; i++)
		call_start(&c[i], f, CALL_EXEC, cmds[i], i == 1 ? args : NULL,
			   CALL_TIMEOUT_MS);
	for (i = 0; i < 3; i++)
		req[i] = srv_recv(f);  /* in whatever order they were sent */
	for (i = 0; i < 3; i++) {
		json_t *r = req[order[i]];

		for (j = 0; strcmp(cmds[j], req_cmd(r)) != 0; j++)
			assert_true(j < 2);
		srv_reply(f, fmts[j], req_id(r));
	}
	finish_three(c);
	assert_int_not_equal(req_id(req[0]), req_id(req[1]));
	assert_int_not_equal(req_id(req[1]), req_id(req[2]));
	assert_int_not_equal(req_id(req[0]), req_id(req[2]));
	for (i = 0; i < 3; i++) {
		if (strcmp(req_cmd(req[i]), "qom-get") == 0)
			assert_true(json_equal(json_object_get(req[i],
							       "arguments"),
					       args));
		json_decref(req[i]);
		call_free(&c[i]);
	}
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
	json_decref(args);
}

static void test_event_between_request_and_reply_is_delivered(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;
	char both[512];

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "cont", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "cont");
	assert_null(json_object_get(req, "arguments"));
	/* QEMU sends the event and the reply in one write. */
	snprintf(both, sizeof(both), EV_RESUME R_EMPTY,
		 (long long)req_id(req));
	srv_send(f, both);
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_true(json_is_object(c.ret));
	assert_int_equal(json_object_size(c.ret), 0);
	assert_int_equal(n_events(f), 1);
	assert_string_equal(event_name(f, 0), "RESUME");
	/* A flush point came between the event and the reply: a caller
	 * that batches events has them out before the requester wakes. */
	assert_int_equal(atomic_load(&f->events_at_flush), 1);
	json_decref(req);
	call_free(&c);
}

static void test_lines_split_across_writes(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;
	char text[1024];
	size_t i, n;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	/* An event and the reply, byte by byte: CR and LF in separate reads. */
	n = (size_t)snprintf(text, sizeof(text), EV_STOP R_STATUS,
			     (long long)req_id(req));
	for (i = 0; i < n; i++) {
		srv_write(f, text + i, 1);
		usleep(100);
	}
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal(json_string_value(json_object_get(c.ret, "status")),
			    "prelaunch");
	assert_int_equal(n_events(f), 1);
	assert_string_equal(event_name(f, 0), "STOP");
	assert_int_equal(qmp_garbage_lines(f->q), 0);
	json_decref(req);
	call_free(&c);
}

/* JSON that is no QMP message, and blank lines, are no reply QEMU could
 * have sent: skipped, the request still waits for its own. */
static void test_garbage_lines_are_skipped_and_counted(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_send(f, "[1,2]\r\n");
	srv_send(f, "\"just a string\"\r\n");
	srv_send(f, "\r\n");
	srv_send(f, " \t\r\n");
	srv_send(f, "{\"neither\": \"event nor reply\"}\r\n");
	srv_reply(f, R_STATUS, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_int_equal(qmp_garbage_lines(f->q), 5);
	assert_false(qmp_is_dead(f->q));
	json_decref(req);
	call_free(&c);
}

/* A line that is not JSON is the reply to the oldest request owed one
 * (QEMU answers in order): that request fails at once with -EIO, the
 * next one still gets its own reply. */
static void test_unreadable_reply_fails_oldest_request_at_once(void **state)
{
	static const char *const bad[] = { "nonsense\r\n",
					   "{\"truncated\": \r\n" };
	struct fx *f = *state;

	do_handshake(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct call a, b;
		json_t *ra, *rb;
		int64_t t0 = now_ms();

		call_start(&a, f, CALL_EXEC, "query-status", NULL,
			   CALL_TIMEOUT_MS);
		ra = srv_recv(f);
		call_start(&b, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
		rb = srv_recv(f);
		srv_send(f, bad[i]);
		call_finish(&a);
		assert_int_equal(a.rc, -EIO);
		assert_string_equal(a.err.cls, "BadReply");
		assert_true(now_ms() - t0 < CALL_TIMEOUT_MS / 2);
		srv_reply(f, R_FALSE, req_id(rb));
		call_finish(&b);
		assert_int_equal(b.rc, 0);
		assert_true(json_is_false(b.ret));
		json_decref(ra);
		json_decref(rb);
		call_free(&a);
		call_free(&b);
	}
	assert_int_equal(qmp_garbage_lines(f->q), 2);
	assert_false(qmp_is_dead(f->q));
}

/* A requester that timed out after its line went out is still owed its
 * reply: an unreadable line then is that late reply, not the next
 * request's. */
static void test_unreadable_late_reply_spares_the_next_request(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *late, *req;

	do_handshake(f);
	assert_int_equal(qmp_execute(f->q, "query-status", NULL, 100, NULL,
				     NULL), -ETIMEDOUT);
	late = srv_recv(f);
	call_start(&c, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_send(f, "nonsense\r\n");        /* the late one's */
	srv_reply(f, R_FALSE, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	json_decref(late);
	json_decref(req);
	call_free(&c);
}

/* QEMU's uint64 past INT64_MAX: jansson alone refuses the line (and the
 * request waited out its deadline); it arrives exact, and a raw reply
 * gives it back as the same bare number. */
static void test_reply_with_uint64_above_int64_max_is_exact(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req, *cmd;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_reply(f, "{\"return\": 18446744073709551615, \"id\": %lld}\r\n",
		  req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_non_null(bignum_digits(c.ret));
	assert_string_equal(bignum_digits(c.ret), "18446744073709551615");
	json_decref(req);
	call_free(&c);

	cmd = json_pack("{ss}", "execute", "qom-get");
	call_start(&c, f, CALL_RAW, NULL, cmd, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_reply(f, "{\"return\": [9223372036854775808, -9223372036854775809, "
		  "1.5e300], \"id\": %lld}\r\n", req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.line, "{\"return\":[9223372036854775808,"
			    "-9223372036854775809,1.5000000000000001e300]}\n");
	assert_int_equal(qmp_garbage_lines(f->q), 0);
	json_decref(req);
	json_decref(cmd);
	call_free(&c);
}

static void test_overlong_line_is_discarded(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;
	size_t n = QMP_MAX_LINE + 100000;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, 'x', n);
	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_write(f, big, n);
	srv_send(f, "\r\n");
	/* Too long for an event: the request's own reply, lost. */
	call_finish(&c);
	assert_int_equal(c.rc, -EIO);
	assert_string_equal(c.err.cls, "BadReply");
	assert_int_equal(qmp_garbage_lines(f->q), 1);
	call_free(&c);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	json_decref(req);
	req = srv_recv(f);
	srv_reply(f, R_STATUS, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_false(qmp_is_dead(f->q));
	json_decref(req);
	call_free(&c);
	free(big);
}

static void test_error_reply_maps_class_to_errno(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *fmt, *cls, *desc;
		int rc;
	} cases[] = {
		{ R_NOTFOUND, "CommandNotFound",
		  "The command nope has not been found", -EINVAL },
		{ R_NODEV, "DeviceNotFound",
		  "Device '/machine/nothere' not found", -ENOENT },
		{ R_NOTWRITABLE, "GenericError",
		  "Property 'aspeed.gpio-ast2500.type' is not writable", -EINVAL },
	};
	size_t i;

	do_handshake(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct call c;
		json_t *req;

		call_start(&c, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
		req = srv_recv(f);
		srv_reply(f, cases[i].fmt, req_id(req));
		call_finish(&c);
		assert_int_equal(c.rc, cases[i].rc);
		assert_null(c.ret);
		assert_string_equal(c.err.cls, cases[i].cls);
		assert_string_equal(c.err.desc, cases[i].desc);
		json_decref(req);
		call_free(&c);
	}
}

/* The reply's class maps per command: GenericError to qom-list is a path
 * that is no QOM object, ENOENT, where qemu_qom.c used to remap it. */
static void test_error_reply_maps_per_command(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "qom-list", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_reply(f, R_NOTWRITABLE, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, -ENOENT);
	assert_string_equal(c.err.cls, "GenericError");
	json_decref(req);
	call_free(&c);
}

static void test_errno_table(void **state)
{
	assert_int_equal(qmp_errno_for_class("GenericError"), EINVAL);
	assert_int_equal(qmp_errno_for_class("CommandNotFound"), EINVAL);
	assert_int_equal(qmp_errno_for_class("DeviceNotFound"), ENOENT);
	assert_int_equal(qmp_errno_for_class("DeviceNotActive"), ENODEV);
	assert_int_equal(qmp_errno_for_class("KVMMissingCap"), EIO);
	assert_int_equal(qmp_errno_for_class("SomethingNew"), EIO);
	assert_int_equal(qmp_errno_for_class(NULL), EIO);
	/* A class may mean more in a reply to one command: qom-list of a
	 * path that is no object. */
	assert_int_equal(qmp_errno_for("qom-list", "GenericError"), ENOENT);
	assert_int_equal(qmp_errno_for("qom-list", "DeviceNotFound"), ENOENT);
	assert_int_equal(qmp_errno_for("qom-get", "GenericError"), EINVAL);
}

static void test_replies_without_known_id_are_counted(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_send(f, R_PARSE_ERROR);                   /* no id */
	srv_reply(f, R_EMPTY, 999);                   /* nobody asked */
	srv_send(f, "{\"return\": {}, \"id\": \"s\"}\r\n"); /* not ours */
	srv_reply(f, R_STATUS, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_int_equal(qmp_unmatched_replies(f->q), 3);
	assert_int_equal(qmp_garbage_lines(f->q), 0);
	json_decref(req);
	call_free(&c);
}

static void test_timeout_then_late_reply_is_ignored(void **state)
{
	struct fx *f = *state;
	struct qmp_error err;
	json_t *ret = NULL, *req;
	struct call c;
	int64_t t0, late;

	do_handshake(f);
	t0 = now_ms();
	assert_int_equal(qmp_execute(f->q, "query-status", NULL, 100, &ret,
				     &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 100);
	assert_true(now_ms() - t0 < 2500);
	assert_null(ret);
	assert_string_equal(err.cls, "Timeout");
	req = srv_recv(f);
	late = req_id(req);
	json_decref(req);
	srv_reply(f, R_STATUS, late);
	WAIT_FOR(qmp_unmatched_replies(f->q) == 1);

	/* The connection still works, and the next id is a new one. */
	call_start(&c, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_int_not_equal(req_id(req), late);
	srv_reply(f, R_FALSE, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_true(json_is_false(c.ret));
	json_decref(req);
	call_free(&c);
}

static void test_eof_fails_pending_and_later_requests(void **state)
{
	struct fx *f = *state;
	struct qmp_error err;
	struct call c;
	json_t *req;
	int64_t t0;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	close(f->srv);
	f->srv = -1;
	call_finish(&c);
	assert_int_equal(c.rc, -EIO);
	assert_string_equal(c.err.cls, "Disconnected");
	WAIT_FOR(atomic_load(&f->pump_done));
	assert_true(qmp_is_dead(f->q));
	assert_int_equal(qmp_on_readable(f->q), -1);

	t0 = now_ms();
	assert_int_equal(qmp_execute(f->q, "query-status", NULL, CALL_TIMEOUT_MS, NULL,
				     &err), -EIO);
	assert_true(now_ms() - t0 < 2500);  /* not CALL_TIMEOUT_MS */
	assert_string_equal(err.cls, "Disconnected");
	json_decref(req);
	call_free(&c);
}

static void test_shutdown_fails_pending_request(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	qmp_shutdown(f->q);
	call_finish(&c);
	assert_int_equal(c.rc, -EIO);
	assert_true(qmp_is_dead(f->q));
	WAIT_FOR(atomic_load(&f->pump_done));
	json_decref(req);
	call_free(&c);
}

static void test_execute_final_succeeds_on_eof(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_FINAL, "quit", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "quit");
	srv_send(f, EV_SHUTDOWN);
	close(f->srv);
	f->srv = -1;
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	WAIT_FOR(n_events(f) == 1);
	assert_string_equal(event_name(f, 0), "SHUTDOWN");
	json_decref(req);
}

static void test_execute_final_succeeds_on_reply(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_FINAL, "quit", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	srv_send(f, EV_SHUTDOWN);
	srv_reply(f, R_EMPTY, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	json_decref(req);
}

static void test_execute_final_times_out(void **state)
{
	struct fx *f = *state;

	do_handshake(f);
	assert_int_equal(qmp_execute_final(f->q, "quit", 100), -ETIMEDOUT);
}

static void test_raw_rewrites_and_restores_id(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *cmd, *want;
	} cases[] = {
		{ "{\"execute\":\"query-status\",\"id\":\"client-7\"}",
		  "{\"return\":{\"status\":\"prelaunch\",\"singlestep\":false,"
		  "\"running\":false},\"id\":\"client-7\"}\n" },
		{ "{\"execute\":\"query-status\",\"id\":{\"a\":[1]}}",
		  "{\"return\":{\"status\":\"prelaunch\",\"singlestep\":false,"
		  "\"running\":false},\"id\":{\"a\":[1]}}\n" },
		{ "{\"execute\":\"query-status\"}",
		  "{\"return\":{\"status\":\"prelaunch\",\"singlestep\":false,"
		  "\"running\":false}}\n" },
		{ "{\"execute\":\"query-status\",\"id\":1}",
		  "{\"return\":{\"status\":\"prelaunch\",\"singlestep\":false,"
		  "\"running\":false},\"id\":1}\n" },
	};
	size_t i;

	do_handshake(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *cmd = json_loads(cases[i].cmd, 0, NULL);
		json_t *before = json_deep_copy(cmd);
		struct call c;
		json_t *req;

		call_start(&c, f, CALL_RAW, NULL, cmd, CALL_TIMEOUT_MS);
		req = srv_recv(f);
		assert_string_equal(req_cmd(req), "query-status");
		assert_int_equal(req_id(req), 2 + (int64_t)i);  /* emufs's own */
		srv_reply(f, R_STATUS, req_id(req));
		call_finish(&c);
		assert_int_equal(c.rc, 0);
		assert_string_equal(c.line, cases[i].want);
		assert_true(json_equal(cmd, before));  /* caller's untouched */
		json_decref(req);
		json_decref(cmd);
		json_decref(before);
		call_free(&c);
	}
}

static void test_raw_passes_error_replies_and_arguments(void **state)
{
	struct fx *f = *state;
	json_t *cmd = json_loads("{\"execute\":\"qom-get\",\"arguments\":"
				 "{\"path\":\"/machine/nothere\",\"property\":"
				 "\"x\"},\"id\":5}", 0, NULL);
	struct call c;
	json_t *req;

	do_handshake(f);
	call_start(&c, f, CALL_RAW, NULL, cmd, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_true(json_equal(json_object_get(req, "arguments"),
			       json_object_get(cmd, "arguments")));
	srv_reply(f, R_NODEV, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.line,
			    "{\"id\":5,\"error\":{\"class\":\"DeviceNotFound\","
			    "\"desc\":\"Device '/machine/nothere' not found\"}}\n");
	json_decref(req);
	json_decref(cmd);
	call_free(&c);
}

/* qmp_send puts requests on the wire without waiting: both lines reach
 * "QEMU" before either is answered, replies in any order find their
 * call, and a call answered by nobody times out at its collect. */
static void test_send_then_collect_has_requests_out_at_once(void **state)
{
	struct fx *f = *state;
	json_t *a, *b, *ret = NULL;
	struct qmp_error err;

	do_handshake(f);
	struct qmp_call *c1 = qmp_send(f->q, "query-status", NULL,
				       CALL_TIMEOUT_MS);
	struct qmp_call *c2 = qmp_send(f->q, "qom-get", NULL, CALL_TIMEOUT_MS);
	struct qmp_call *c3 = qmp_send(f->q, "query-name", NULL, 50);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_non_null(c3);
	a = srv_recv(f);
	b = srv_recv(f);
	json_decref(srv_recv(f));    /* c3's line: never answered */
	assert_string_equal(req_cmd(a), "query-status");
	assert_string_equal(req_cmd(b), "qom-get");
	srv_reply(f, R_FALSE, req_id(b));      /* the second first */
	srv_reply(f, R_STATUS, req_id(a));
	assert_int_equal(qmp_collect(c2, &ret, &err), 0);
	assert_true(json_is_false(ret));
	json_decref(ret);
	assert_int_equal(qmp_collect(c1, &ret, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")),
			    "prelaunch");
	json_decref(ret);
	assert_int_equal(qmp_collect(c3, NULL, &err), -ETIMEDOUT);
	assert_string_equal(err.cls, "Timeout");
	json_decref(a);
	json_decref(b);
}

/* A send on a dead connection fails at its collect, as qmp_execute
 * would; so does one whose connection dies before the reply. */
static void test_collect_reports_a_dead_connection(void **state)
{
	struct fx *f = *state;
	struct qmp_error err;

	do_handshake(f);
	struct qmp_call *c1 = qmp_send(f->q, "query-status", NULL,
				       CALL_TIMEOUT_MS);
	json_decref(srv_recv(f));
	qmp_shutdown(f->q);
	struct qmp_call *c2 = qmp_send(f->q, "query-status", NULL,
				       CALL_TIMEOUT_MS);
	assert_int_equal(qmp_collect(c1, NULL, &err), -EIO);
	assert_int_equal(qmp_collect(c2, NULL, &err), -EIO);
	assert_string_equal(err.cls, "Disconnected");
}

static void test_raw_rejects_non_commands(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = {
		"[1,2]", "\"query-status\"", "{}",
		"{\"execute\":42}", "{\"exec-oob\":\"query-status\"}",
	};
	size_t i;

	do_handshake(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *cmd = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		char *line = (char *)"untouched";

		assert_non_null(cmd);
		assert_int_equal(qmp_execute_raw(f->q, cmd, CALL_TIMEOUT_MS, &line),
				 -EINVAL);
		assert_null(line);
		json_decref(cmd);
	}
	assert_int_equal(qmp_execute_raw(f->q, NULL, CALL_TIMEOUT_MS,
					 &(char *){ NULL }), -EINVAL);
	srv_expect_silence(f, 20);
}

/* A string value of n 'a's in {"value": ...}; caller frees both. */
static json_t *big_args(size_t n, char **s)
{
	*s = malloc(n + 1);
	assert_non_null(*s);
	memset(*s, 'a', n);
	(*s)[n] = '\0';
	return json_pack("{ss}", "value", *s);
}

/* A line far beyond the socket buffer goes out whole: sent by the loop
 * (the pump, told by the watch hook), or without a hook by the requester
 * itself, waiting for room until its deadline. */
static void large_request_goes_out_whole(struct fx *f, bool hook)
{
	char *s;
	json_t *args = big_args(4u << 20, &s), *req;
	struct call c;

	do_handshake(f);
	if (!hook) {
		qmp_set_watch_hook(f->q, NULL, NULL);
		atomic_store(&f->want_write, false);
	}
	call_start(&c, f, CALL_EXEC, "qom-set", args, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_true(json_equal(json_object_get(req, "arguments"), args));
	srv_reply(f, R_EMPTY, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	json_decref(req);
	json_decref(args);
	call_free(&c);
	free(s);
}

static void test_large_request_survives_partial_writes(void **state)
{
	large_request_goes_out_whole(*state, true);
}

static void test_large_request_without_write_hook(void **state)
{
	large_request_goes_out_whole(*state, false);
}

/* Issue 12, defect 6: the line of a request that timed out half sent is
 * finished in the background; the connection stays usable, the late
 * reply is dropped by id. (Before: the connection was declared dead and
 * every later request failed with EIO.) */
static void test_write_timeout_mid_line_finishes_the_line(void **state)
{
	struct fx *f = *state;
	char *s, *line;
	json_t *args = big_args(4u << 20, &s), *req;
	struct call c;
	int64_t t0;

	do_handshake(f);
	t0 = now_ms();
	/* The server does not read yet: the line cannot go out in time. */
	assert_int_equal(qmp_execute(f->q, "qom-set", args, 100, NULL, NULL),
			 -ETIMEDOUT);
	assert_true(now_ms() - t0 < 2500);
	assert_false(qmp_is_dead(f->q));
	assert_true(qmp_output_pending(f->q) > 0);
	assert_true(atomic_load(&f->want_write));

	/* Now it reads: the whole line arrives, then the next request. */
	call_start(&c, f, CALL_EXEC, "query-status", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "qom-set");
	assert_true(json_equal(json_object_get(req, "arguments"), args));
	srv_reply(f, R_EMPTY, req_id(req));           /* late: dropped */
	json_decref(req);
	line = srv_recv_line(f, SRV_TIMEOUT_MS);
	assert_non_null(line);
	req = json_loads(line, 0, NULL);
	free(line);
	assert_string_equal(req_cmd(req), "query-status");
	srv_reply(f, R_STATUS, req_id(req));
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	WAIT_FOR(qmp_unmatched_replies(f->q) == 1);
	assert_int_equal(qmp_output_pending(f->q), 0);
	WAIT_FOR(!atomic_load(&f->want_write));
	json_decref(req);
	call_free(&c);
	json_decref(args);
	free(s);
}

/* A request queued behind a stuck line and timed out before a byte of it
 * went out is withdrawn: QEMU never runs a command reported as failed. */
static void test_request_never_started_is_withdrawn(void **state)
{
	struct fx *f = *state;
	char *s, *line;
	json_t *args = big_args(4u << 20, &s), *req;

	do_handshake(f);
	assert_int_equal(qmp_execute(f->q, "qom-set", args, 100, NULL, NULL),
			 -ETIMEDOUT);
	assert_int_equal(qmp_execute(f->q, "stop", NULL, 100, NULL, NULL),
			 -ETIMEDOUT);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "qom-set");
	json_decref(req);
	line = srv_recv_line(f, 100);
	assert_null(line);                 /* no "stop" ever came */
	assert_int_equal(qmp_output_pending(f->q), 0);
	assert_false(qmp_is_dead(f->q));
	json_decref(args);
	free(s);
}

/* A command QEMU could not take (and whose reply we could not read) is
 * refused before a byte is sent. */
static void test_request_over_max_line_is_efbig(void **state)
{
	struct fx *f = *state;
	struct qmp_error err;
	char *s;
	json_t *args = big_args(QMP_MAX_LINE, &s);

	do_handshake(f);
	assert_int_equal(qmp_execute(f->q, "qom-set", args, CALL_TIMEOUT_MS,
				     NULL, &err), -EFBIG);
	assert_string_equal(err.cls, "LocalError");
	srv_expect_silence(f, 20);
	assert_false(qmp_is_dead(f->q));
	json_decref(args);
	free(s);
}

/* Issue 12, defect 7: one qmp_on_readable() reads a bounded amount, so a
 * flooding QEMU cannot keep the I/O loop. The "QEMU" here refills the
 * socket with a new event for every event delivered, so the socket never
 * runs dry: before the budget, the call returned only when the refilling
 * stopped at REFILL_MAX events. */
#define REFILL_MAX 100000

struct refill {
	int srv;
	size_t delivered, flushes;
};

static void refill_event(void *opaque, const char *line, json_t *ev)
{
	struct refill *r = opaque;
	static const char ev_line[] = EV_STOP;

	if (!line) {
		r->flushes++;
		return;
	}
	if (++r->delivered < REFILL_MAX)
		(void)!write(r->srv, ev_line, sizeof(ev_line) - 1);
}

static void test_one_read_is_bounded_under_a_flood(void **state)
{
	struct refill r = { 0 };
	struct qmp *q;
	size_t first;
	int sv[2], i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				    SOCK_NONBLOCK, 0, sv), 0);
	r.srv = sv[0];
	q = qmp_new(sv[1], refill_event, &r);
	assert_non_null(q);
	for (i = 0; i < 100; i++)
		assert_int_equal(write(r.srv, EV_STOP, strlen(EV_STOP)),
				 (ssize_t)strlen(EV_STOP));
	assert_int_equal(qmp_on_readable(q), 0);
	first = r.delivered;
	assert_true(first > 0);
	/* 64 KB of 88-byte lines, give or take a line */
	assert_true(first < REFILL_MAX / 10);
	assert_int_equal(r.flushes, 1);
	assert_int_equal(qmp_on_readable(q), 0);   /* the rest: next turn */
	assert_true(r.delivered > first);
	assert_false(qmp_is_dead(q));
	qmp_free(q);
	close(sv[0]);
}

/* Many threads, replies always in reverse order, events in between. */
#define STRESS_THREADS 4
#define STRESS_CALLS 50

struct stress {
	struct qmp *q;
	int base;
	int failures;
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;
	int i;

	for (i = 0; i < STRESS_CALLS; i++) {
		json_t *args = json_pack("{si}", "n", s->base + i), *ret = NULL;
		int rc = qmp_execute(s->q, "echo", args, CALL_TIMEOUT_MS,
				     &ret, NULL);

		if (rc != 0 || json_integer_value(json_object_get(ret, "n")) !=
			       s->base + i)
			s->failures++;
		json_decref(ret);
		json_decref(args);
	}
	return NULL;
}

static void test_concurrent_requests_under_reordering(void **state)
{
	struct fx *f = *state;
	struct stress s[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	int i, answered = 0;

	do_handshake(f);
	for (i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stress){ .q = f->q, .base = i * 1000 };
		assert_int_equal(pthread_create(&th[i], NULL, stress_main, &s[i]),
				 0);
	}
	while (answered < STRESS_THREADS * STRESS_CALLS) {
		json_t *batch[STRESS_THREADS];
		int k = 0;
		char *line;

		batch[k++] = srv_recv(f);
		while (k < STRESS_THREADS &&
		       (line = srv_recv_line(f, 1)) != NULL) {
			batch[k++] = json_loads(line, 0, NULL);
			free(line);
		}
		while (k-- > 0) {
			json_t *rep = json_pack("{s{sO}sO}", "return", "n",
				json_object_get(json_object_get(batch[k],
					"arguments"), "n"),
				"id", json_object_get(batch[k], "id"));
			char *text = json_dumps(rep, JSON_COMPACT);

			srv_send(f, EV_STOP);
			srv_send(f, text);
			srv_send(f, "\r\n");
			free(text);
			json_decref(rep);
			json_decref(batch[k]);
			answered++;
		}
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].failures, 0);
	}
	WAIT_FOR(n_events(f) == STRESS_THREADS * STRESS_CALLS);
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
}

/* ---- an ordered connection (qmp_set_ordered) ---------------------------- */

static int setup_ordered(void **state)
{
	int rc = setup(state);
	if (rc == 0)
		qmp_set_ordered(((struct fx *)*state)->q);
	return rc;
}

/* The handshake of an ordered connection: the same, with no id. */
static void do_ordered_handshake(struct fx *f)
{
	handshake_as(f, "{\"execute\":\"qmp_capabilities\"}", RO_EMPTY);
}

/* Three commands in flight, none with an id; answered in the order they
 * came, as QEMU does, each reply reaches its own requester. */
static void test_ordered_commands_carry_no_id_and_match_in_order(void **state)
{
	struct fx *f = *state;
	static const char *cmds[3] = { "query-status", "qom-get", "cont" };
	static const char *replies[3] = { RO_STATUS, RO_FALSE, RO_EMPTY };
	struct call c[3];
	int i, j;

	do_ordered_handshake(f);
	for (i = 0; i < 3; i++)
		call_start(&c[i], f, CALL_EXEC, cmds[i], NULL, CALL_TIMEOUT_MS);
	for (i = 0; i < 3; i++) {
		json_t *req = srv_recv(f);   /* in the order they were sent */
		assert_null(json_object_get(req, "id"));
		for (j = 0; strcmp(cmds[j], req_cmd(req)) != 0; j++)
			assert_true(j < 2);
		srv_send(f, replies[j]);
		json_decref(req);
	}
	finish_three(c);
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
	for (i = 0; i < 3; i++)
		call_free(&c[i]);
}

/* A request that timed out after its line went out is still owed its
 * reply: when it comes, late and without an id, it is dropped, and the
 * next request gets the reply after it, not that one. */
static void test_ordered_late_reply_does_not_answer_the_next(void **state)
{
	struct fx *f = *state;
	struct qmp_error err;
	json_t *ret = NULL, *req;
	struct call c;

	do_ordered_handshake(f);
	assert_int_equal(qmp_execute(f->q, "query-status", NULL, 100, &ret,
				     &err), -ETIMEDOUT);
	req = srv_recv(f);
	json_decref(req);
	call_start(&c, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_string_equal(req_cmd(req), "qom-get");
	json_decref(req);
	srv_send(f, RO_STATUS);          /* the late one's */
	WAIT_FOR(qmp_unmatched_replies(f->q) == 1);
	srv_send(f, RO_FALSE);           /* qom-get's */
	call_finish(&c);
	assert_int_equal(c.rc, 0);
	assert_true(json_is_false(c.ret));
	call_free(&c);
}

/* A raw client's command keeps an id of emufs's (its own is given back),
 * between id-less ones; each reply, with its id or without, finds its
 * requester. */
static void test_ordered_raw_keeps_an_id_between_idless_ones(void **state)
{
	struct fx *f = *state;
	json_t *cmd = json_loads("{\"execute\":\"query-status\","
				 "\"id\":\"client-7\"}", 0, NULL);
	struct call raw, own;
	json_t *req;

	do_ordered_handshake(f);
	call_start(&raw, f, CALL_RAW, NULL, cmd, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	int64_t id = req_id(req);            /* an integer: emufs's */
	json_decref(req);
	call_start(&own, f, CALL_EXEC, "qom-get", NULL, CALL_TIMEOUT_MS);
	req = srv_recv(f);
	assert_null(json_object_get(req, "id"));
	json_decref(req);
	srv_reply(f, R_STATUS, id);
	srv_send(f, RO_FALSE);
	call_finish(&raw);
	call_finish(&own);
	assert_int_equal(raw.rc, 0);
	assert_string_equal(raw.line, "{\"return\":{\"status\":\"prelaunch\","
			    "\"singlestep\":false,\"running\":false},"
			    "\"id\":\"client-7\"}\n");
	assert_int_equal(own.rc, 0);
	assert_true(json_is_false(own.ret));
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
	json_decref(cmd);
	call_free(&raw);
	call_free(&own);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_ORDERED(fn) \
	cmocka_unit_test_setup_teardown(fn, setup_ordered, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_handshake_sends_capabilities_after_greeting),
		T(test_handshake_times_out_without_greeting),
		T(test_event_before_greeting_is_delivered),
		T(test_out_of_order_replies_match_by_id),
		T(test_event_between_request_and_reply_is_delivered),
		T(test_lines_split_across_writes),
		T(test_garbage_lines_are_skipped_and_counted),
		T(test_overlong_line_is_discarded),
		T(test_unreadable_reply_fails_oldest_request_at_once),
		T(test_unreadable_late_reply_spares_the_next_request),
		T(test_reply_with_uint64_above_int64_max_is_exact),
		T(test_error_reply_maps_class_to_errno),
		T(test_error_reply_maps_per_command),
		cmocka_unit_test(test_errno_table),
		T(test_replies_without_known_id_are_counted),
		T(test_timeout_then_late_reply_is_ignored),
		T(test_eof_fails_pending_and_later_requests),
		T(test_shutdown_fails_pending_request),
		T(test_execute_final_succeeds_on_eof),
		T(test_execute_final_succeeds_on_reply),
		T(test_execute_final_times_out),
		T(test_raw_rewrites_and_restores_id),
		T(test_raw_passes_error_replies_and_arguments),
		T(test_send_then_collect_has_requests_out_at_once),
		T(test_collect_reports_a_dead_connection),
		T(test_raw_rejects_non_commands),
		T(test_large_request_survives_partial_writes),
		T(test_write_timeout_mid_line_finishes_the_line),
		T(test_request_never_started_is_withdrawn),
		T(test_large_request_without_write_hook),
		T(test_request_over_max_line_is_efbig),
		T(test_concurrent_requests_under_reordering),
		cmocka_unit_test(test_one_read_is_bounded_under_a_flood),
		T_ORDERED(test_ordered_commands_carry_no_id_and_match_in_order),
		T_ORDERED(test_ordered_late_reply_does_not_answer_the_next),
		T_ORDERED(test_ordered_raw_keeps_an_id_between_idless_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
