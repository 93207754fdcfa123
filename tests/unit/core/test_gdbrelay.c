/* test_gdbrelay.c - the gdb relay (core/gdbrelay.h) on a running I/O
 * loop: the test plays the stub on one end of a socketpair and the
 * user's gdb over real TCP on loopback. Each session starts with the
 * stub stopped and process 1 attached, the stub's bytes before that
 * answer never reach the user, one user at a time, a user may leave and
 * come back, and the stub's end is reported and ends the user's link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/gdbrelay.h"
#include "core/ioloop.h"

#define TIMEOUT_MS 5000
#define SESSION_START "\x03$vAttach;1#37"

struct fixture {
	struct ioloop *loop;
	struct gdb_relay *relay;
	int stub;                  /* the test's end: it plays QEMU's stub */
	pthread_mutex_t lock;      /* protects ended, why */
	pthread_cond_t cond;
	bool ended;
	char why[160];
};

static void on_end(void *opaque, const char *why)
{
	struct fixture *f = opaque;
	pthread_mutex_lock(&f->lock);
	f->ended = true;
	snprintf(f->why, sizeof f->why, "%s", why);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static int setup(void **state)
{
	static struct fixture f;
	int sv[2];
	memset(&f, 0, sizeof f);
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	f.loop = ioloop_new();
	assert_non_null(f.loop);
	assert_int_equal(ioloop_start(f.loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0, sv), 0);
	f.stub = sv[0];
	assert_int_equal(gdb_relay_start(f.loop, sv[1], on_end, &f,
					 &f.relay), 0);
	assert_true(gdb_relay_port(f.relay) > 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	gdb_relay_free(f->relay);
	if (f->stub >= 0)
		close(f->stub);
	ioloop_free(f->loop);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	return 0;
}

static int connect_user(struct fixture *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(gdb_relay_port(f->relay)) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* Read exactly len bytes of fd within the timeout; the count read (less
 * at end of file or on time-out). */
static size_t read_n(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, TIMEOUT_MS) <= 0)
			break;
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void expect_bytes(int fd, const char *want)
{
	char buf[256] = "";
	size_t len = strlen(want);
	assert_true(len < sizeof buf);
	assert_int_equal(read_n(fd, buf, len), len);
	assert_memory_equal(buf, want, len);
}

static void expect_eof(int fd)
{
	char c;
	assert_int_equal(read_n(fd, &c, 1), 0);
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL),
			 (ssize_t)strlen(s));
}

/* A user connects and the stub answers the session's start with a stop
 * reply from the \x03 (T02) before the vAttach answer (T05), as QEMU
 * does: the user sees neither, only what follows. */
static int start_session(struct fixture *f)
{
	int u = connect_user(f);
	expect_bytes(f->stub, SESSION_START);
	send_str(f->stub, "+$T02thread:01;#04+$T05thread:p01.01;#06");
	expect_bytes(f->stub, "+");           /* the answer acked */
	return u;
}

static void test_session_drops_the_stubs_bytes_until_the_vattach_answer(
	void **state)
{
	struct fixture *f = *state;
	/* Sent while no user is there (a pause's stop reply): dropped. */
	send_str(f->stub, "$T02thread:01;#04");
	int u = start_session(f);
	send_str(f->stub, "$OK#9a");
	expect_bytes(u, "$OK#9a");            /* nothing before it */
	send_str(u, "+$g#67");
	expect_bytes(f->stub, "+$g#67");
	close(u);
}

static void test_a_second_user_is_closed_while_one_is_connected(
	void **state)
{
	struct fixture *f = *state;
	int u = start_session(f);
	int u2 = connect_user(f);
	expect_eof(u2);
	close(u2);
	send_str(u, "$?#3f");                 /* the first still works */
	expect_bytes(f->stub, "$?#3f");
	send_str(f->stub, "$S05#b8");
	expect_bytes(u, "$S05#b8");
	close(u);
}

static void test_a_user_who_left_can_come_back(void **state)
{
	struct fixture *f = *state;
	int u = start_session(f);
	send_str(u, "$D;1#b0");
	expect_bytes(f->stub, "$D;1#b0");
	close(u);
	/* The stub's answer to the detach, after the user left: dropped. */
	send_str(f->stub, "+$OK#9a");
	u = start_session(f);
	send_str(f->stub, "$1#31");
	expect_bytes(u, "$1#31");
	send_str(u, "+$qAttached:1#fa");
	expect_bytes(f->stub, "+$qAttached:1#fa");
	close(u);
}

static void test_the_stubs_end_is_reported_and_closes_the_user(void **state)
{
	struct fixture *f = *state;
	int u = start_session(f);
	close(f->stub);
	f->stub = -1;
	expect_eof(u);
	close(u);
	pthread_mutex_lock(&f->lock);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += TIMEOUT_MS / 1000;
	while (!f->ended &&
	       pthread_cond_timedwait(&f->cond, &f->lock, &until) == 0)
		;
	assert_true(f->ended);
	assert_string_equal(f->why, "");      /* an orderly end */
	pthread_mutex_unlock(&f->lock);
	/* No user from now on. */
	u = connect_user(f);
	expect_eof(u);
	close(u);
}

/* A stub the loop cannot watch (/dev/null: epoll refuses it) is that
 * error, EPERM, not a made-up ENOMEM: the start's log says the real
 * reason. */
static void test_a_stub_the_loop_cannot_watch_is_its_errno(void **state)
{
	(void)state;
	struct ioloop *loop = ioloop_new();
	assert_non_null(loop);
	assert_int_equal(ioloop_start(loop), 0);
	int stub = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(stub >= 0);
	struct gdb_relay *g = NULL;
	assert_int_equal(gdb_relay_start(loop, stub, on_end, NULL, &g),
			 -EPERM);
	assert_null(g);
	assert_int_equal(fcntl(stub, F_GETFD), -1);     /* it closed it */
	ioloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_session_drops_the_stubs_bytes_until_the_vattach_answer,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_second_user_is_closed_while_one_is_connected,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_user_who_left_can_come_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_the_stubs_end_is_reported_and_closes_the_user,
			setup, teardown),
		cmocka_unit_test(
			test_a_stub_the_loop_cannot_watch_is_its_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
