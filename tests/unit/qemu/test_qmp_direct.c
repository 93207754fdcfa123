/* test_qmp_direct.c - the lone requester that reads its own reply (qmp.h):
 * one thread hop instead of two, and every case where it must give the
 * socket back to the owner's loop.
 *
 * The test plays QEMU on a socketpair and, where the case needs it, the
 * owner's I/O loop: a pump thread that polls the client fd as the watch
 * hook says (no POLLIN while a requester reads directly) and calls
 * qmp_on_readable()/qmp_on_writable(). Without a pump nobody but the
 * requester can read a reply: a success then proves the direct path.
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

#include "qemu/qmp.h"

#define EV_STOP \
	"{\"timestamp\": {\"seconds\": 1795367072, \"microseconds\": 186498}, " \
	"\"event\": \"STOP\"}\r\n"
#define R_EMPTY "{\"return\": {}, \"id\": %lld}\r\n"

/* Only a failing test waits this long (sanitizers, a loaded machine). */
#define LONG_MS 10000

struct fx {
	int srv;                   /* the "QEMU" end */
	struct qmp *q;
	pthread_t pump;
	bool pumping;
	atomic_bool stop;
	atomic_bool pump_done;     /* qmp_on_readable() returned -1 */
	atomic_bool no_read;       /* the hook: a requester reads directly */
	atomic_bool want_write;
	atomic_int suspends;       /* times the hook said read=false */
	atomic_int hook_calls;
	pthread_t event_thread;    /* who delivered the last event */
	atomic_int events;
	atomic_int events_at_flush;
	char rbuf[65536];
	size_t rlen;
};

static void on_event(void *opaque, const char *line, json_t *ev)
{
	struct fx *f = opaque;

	if (!line) {
		atomic_store(&f->events_at_flush, atomic_load(&f->events));
		return;
	}
	f->event_thread = pthread_self();
	atomic_fetch_add(&f->events, 1);
}

static void on_watch(void *opaque, bool read, bool write)
{
	struct fx *f = opaque;

	if (!read)
		atomic_fetch_add(&f->suspends, 1);
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
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	f->srv = sv[0];
	f->q = qmp_new(sv[1], on_event, f);
	assert_non_null(f->q);
	qmp_set_watch_hook(f->q, on_watch, f);
	*state = f;
	return 0;
}

static void start_pump(struct fx *f)
{
	assert_int_equal(pthread_create(&f->pump, NULL, pump_main, f), 0);
	f->pumping = true;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	atomic_store(&f->stop, true);
	if (f->pumping)
		pthread_join(f->pump, NULL);
	qmp_free(f->q);
	if (f->srv >= 0)
		close(f->srv);
	free(f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void srv_send(struct fx *f, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(f->srv, s, n);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void srv_reply(struct fx *f, const char *fmt, int64_t id)
{
	char line[256];

	snprintf(line, sizeof(line), fmt, (long long)id);
	srv_send(f, line);
}

/* The id of the next request line the client sent; fails if none. */
static int64_t srv_recv_id(struct fx *f)
{
	int64_t end = now_ms() + LONG_MS;

	for (;;) {
		char *nl = memchr(f->rbuf, '\n', f->rlen);
		struct pollfd p = { .fd = f->srv, .events = POLLIN };
		ssize_t n;

		if (nl) {
			json_t *req = json_loadb(f->rbuf, (size_t)(nl - f->rbuf),
						 0, NULL);
			int64_t id = json_integer_value(json_object_get(req,
									"id"));

			assert_non_null(req);
			json_decref(req);
			f->rlen -= (size_t)(nl + 1 - f->rbuf);
			memmove(f->rbuf, nl + 1, f->rlen);
			return id;
		}
		assert_true(now_ms() < end);
		assert_int_equal(poll(&p, 1, (int)(end - now_ms())), 1);
		n = read(f->srv, f->rbuf + f->rlen, sizeof(f->rbuf) - f->rlen);
		assert_true(n > 0);
		f->rlen += (size_t)n;
	}
}

#define WAIT_FOR(expr) do { \
	int64_t end_ = now_ms() + LONG_MS; \
	while (!(expr) && now_ms() < end_) \
		usleep(1000); \
	assert_true(expr); \
} while (0)

/* A qmp_execute() on a thread of its own. */
struct call {
	struct qmp *q;
	int timeout_ms;
	int rc;
	int64_t took_ms;
	atomic_bool done;
	pthread_t th;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	int64_t t0 = now_ms();

	c->rc = qmp_execute(c->q, "stop", NULL, c->timeout_ms, NULL, NULL);
	c->took_ms = now_ms() - t0;
	atomic_store(&c->done, true);
	return NULL;
}

static void call_start(struct call *c, struct qmp *q, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->q = q;
	c->timeout_ms = timeout_ms;
	assert_int_equal(pthread_create(&c->th, NULL, call_main, c), 0);
}

static int call_join(struct call *c)
{
	pthread_join(c->th, NULL);
	return c->rc;
}

/* ---- the tests --------------------------------------------------------- */

/* Nobody plays the loop: only the requester itself can read the reply.
 * Its watch was suspended for the read and is back afterwards. */
static void test_lone_requester_reads_its_reply(void **state)
{
	struct fx *f = *state;
	struct call c;

	call_start(&c, f->q, LONG_MS);
	srv_reply(f, R_EMPTY, srv_recv_id(f));
	assert_int_equal(call_join(&c), 0);
	assert_int_equal(atomic_load(&f->suspends), 1);
	assert_false(atomic_load(&f->no_read));
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
}

/* An event before the reply is not the requester's to take: it goes
 * back to the loop, which delivers the event (with a flush point before
 * the reply) and the reply, as without the direct path. */
static void test_event_during_direct_read_goes_to_the_loop(void **state)
{
	struct fx *f = *state;
	struct call c;
	int64_t id;

	start_pump(f);
	call_start(&c, f->q, LONG_MS);
	id = srv_recv_id(f);
	assert_int_equal(atomic_load(&f->suspends), 1);
	srv_send(f, EV_STOP);
	srv_reply(f, R_EMPTY, id);
	assert_int_equal(call_join(&c), 0);
	WAIT_FOR(atomic_load(&f->events_at_flush) == 1);
	assert_true(pthread_equal(f->event_thread, f->pump));
	assert_false(atomic_load(&f->no_read));
}

/* A second requester comes while the first reads directly: it waits as
 * ever. Replies in either order reach both: the direct reader completes
 * the other's reply when it comes first; the loop reads it otherwise. */
static void second_requester(struct fx *f, bool second_first)
{
	struct call a, b;
	int64_t ida, idb;

	start_pump(f);
	call_start(&a, f->q, LONG_MS);
	ida = srv_recv_id(f);
	call_start(&b, f->q, LONG_MS);
	idb = srv_recv_id(f);
	assert_int_equal(atomic_load(&f->suspends), 1);   /* only a's */
	if (second_first)
		srv_reply(f, R_EMPTY, idb);
	srv_reply(f, R_EMPTY, ida);
	if (!second_first)
		srv_reply(f, R_EMPTY, idb);
	assert_int_equal(call_join(&a), 0);
	assert_int_equal(call_join(&b), 0);
	assert_int_equal(qmp_unmatched_replies(f->q), 0);
}

static void test_second_requester_reply_after_the_first(void **state)
{
	second_requester(*state, false);
}

static void test_second_requester_reply_before_the_first(void **state)
{
	second_requester(*state, true);
}

/* No reply: the direct reader gives up at its deadline (a dead QEMU
 * never hangs it), resumes the loop's watch, and the late reply is
 * dropped by the loop as any late reply. */
static void test_direct_read_times_out(void **state)
{
	struct fx *f = *state;
	struct call c;
	int64_t id;

	start_pump(f);
	call_start(&c, f->q, 300);
	id = srv_recv_id(f);
	assert_int_equal(call_join(&c), -ETIMEDOUT);
	assert_true(c.took_ms >= 250 && c.took_ms < LONG_MS);
	assert_false(atomic_load(&f->no_read));
	srv_reply(f, R_EMPTY, id);
	WAIT_FOR(qmp_unmatched_replies(f->q) == 1);
}

/* QEMU dies in the middle of its reply: the requester leaves the cut
 * line and the EOF to the loop, which meets them as before (the loop's
 * -1 is what makes emufs notice a crash), and the request fails with
 * EIO at once, not at its deadline. */
static void test_eof_mid_reply(void **state)
{
	struct fx *f = *state;
	struct call c;

	start_pump(f);
	call_start(&c, f->q, LONG_MS);
	(void)srv_recv_id(f);
	srv_send(f, "{\"return\": {}, \"i");
	close(f->srv);
	f->srv = -1;
	assert_int_equal(call_join(&c), -EIO);
	WAIT_FOR(atomic_load(&f->pump_done));
	assert_true(qmp_is_dead(f->q));
	assert_int_equal(qmp_garbage_lines(f->q), 1);   /* the cut line */
}

/* The end of a run while a requester reads directly: the owner clears
 * the hook and stops watching, then shuts the connection down (qemu.c's
 * order). The requester returns EIO at once, and the hook is never
 * called after it was cleared (the owner's watch may be freed by then). */
static void test_end_of_run_during_direct_read(void **state)
{
	struct fx *f = *state;
	struct call c;
	int calls;

	call_start(&c, f->q, LONG_MS);
	(void)srv_recv_id(f);            /* the requester reads by now */
	assert_true(atomic_load(&f->no_read));
	qmp_set_watch_hook(f->q, NULL, NULL);
	calls = atomic_load(&f->hook_calls);
	qmp_shutdown(f->q);
	assert_int_equal(call_join(&c), -EIO);
	assert_true(c.took_ms < LONG_MS / 2);
	assert_int_equal(atomic_load(&f->hook_calls), calls);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lone_requester_reads_its_reply),
		T(test_event_during_direct_read_goes_to_the_loop),
		T(test_second_requester_reply_after_the_first),
		T(test_second_requester_reply_before_the_first),
		T(test_direct_read_times_out),
		T(test_eof_mid_reply),
		T(test_end_of_run_during_direct_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
