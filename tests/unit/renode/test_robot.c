/* test_robot.c - the robot-port client against a scripted HTTP server.
 *
 * A thread plays Renode's robot port on 127.0.0.1: it reads one HTTP
 * request per connection, keeps its body, and answers with the XML-RPC
 * document the test chose (shaped like Renode's: a run_keyword struct, a
 * fault with code 1), or misbehaves (no answer, a closed connection).
 * The client under test is the real one: xmlrpc-c documents over libcurl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "renode/robot.h"

#define TIMEOUT_MS 400

#define HEAD "<?xml version=\"1.0\"?>\r\n<methodResponse>"
#define RESULT(members) \
	HEAD "<params><param><value><struct>" members \
	"</struct></value></param></params></methodResponse>"
#define MEMBER(k, v) "<member><name>" k "</name><value>" v "</value></member>"
#define FAULT(code, text) \
	HEAD "<fault><value><struct>" \
	MEMBER("faultCode", "<i4>" #code "</i4>") \
	MEMBER("faultString", "<string>" text "</string>") \
	"</struct></value></fault></methodResponse>"

enum mode { M_REPLY, M_HANG, M_CLOSE };

struct fx {
	int lfd;
	int port;
	pthread_t thr;
	atomic_bool stop;
	pthread_mutex_t lock;     /* protects body, mode, reply, requests */
	enum mode mode;
	const char *reply;
	char body[8192];
	int requests;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read one request: headers, then Content-Length bytes of body. */
static int read_request(int fd, char *body, size_t cap)
{
	char buf[16384];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 2000) <= 0)
			return -1;
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	const char *cl = strcasestr(buf, "Content-Length:");
	size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
	size_t have = len - (end + 4 - buf);
	while (have < want && len < sizeof buf - 1) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			return -1;
		len += n;
		have += n;
	}
	buf[len] = '\0';
	snprintf(body, cap, "%s", end + 4);
	return 0;
}

static void serve(struct fx *f, int fd)
{
	char body[8192];
	if (read_request(fd, body, sizeof body) < 0)
		return;
	pthread_mutex_lock(&f->lock);
	memcpy(f->body, body, sizeof body);
	f->requests++;
	enum mode m = f->mode;
	const char *reply = f->reply;
	pthread_mutex_unlock(&f->lock);
	if (m == M_HANG) {
		while (!atomic_load(&f->stop)) {
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, 20) > 0) {
				char c;
				if (read(fd, &c, 1) <= 0)
					break;      /* the client gave up */
			}
		}
		return;
	}
	if (m == M_CLOSE)
		return;
	char head[256];
	int hn = snprintf(head, sizeof head,
			  "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  strlen(reply));
	(void)!write(fd, head, hn);
	(void)!write(fd, reply, strlen(reply));
}

static void *server_main(void *arg)
{
	struct fx *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd p = { f->lfd, POLLIN, 0 };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
	pthread_mutex_init(&f->lock, NULL);
	f->mode = M_REPLY;
	f->reply = RESULT(MEMBER("status", "<string>PASS</string>"));
	pthread_create(&f->thr, NULL, server_main, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->stop, true);
	pthread_join(f->thr, NULL);
	close(f->lfd);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static void answer(struct fx *f, enum mode m, const char *reply)
{
	pthread_mutex_lock(&f->lock);
	f->mode = m;
	f->reply = reply;
	pthread_mutex_unlock(&f->lock);
}

static void test_pass_returns_the_monitor_output(void **state)
{
	struct fx *f = *state;
	/* Box drawing from `peripherals`, CRLF as the monitor prints. */
	answer(f, M_REPLY,
	       RESULT(MEMBER("return", "<string>  sysbus (SystemBus)\r\n"
				       "  \xe2\x94\x82\r\n</string>")
		      MEMBER("status", "<string>PASS</string>")));
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	assert_non_null(rb);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "peripherals", &res), 0);
	assert_int_equal(res.status, ROBOT_PASS);
	assert_non_null(strstr(res.ret, "sysbus (SystemBus)"));
	assert_non_null(strstr(res.ret, "\xe2\x94\x82"));
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_the_call_is_run_keyword_with_string_args(void **state)
{
	struct fx *f = *state;
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "sysbus.usart2 BaudRate", &res),
			 0);
	robot_result_clear(&res);
	pthread_mutex_lock(&f->lock);
	assert_non_null(strstr(f->body,
			       "<methodName>run_keyword</methodName>"));
	assert_non_null(strstr(f->body, "ExecuteCommand"));
	assert_non_null(strstr(f->body, "<array>"));
	assert_non_null(strstr(f->body, "sysbus.usart2 BaudRate"));
	pthread_mutex_unlock(&f->lock);
	robot_free(rb);
}

static void test_pass_without_return_is_empty(void **state)
{
	struct fx *f = *state;
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "start", &res), 0);
	assert_string_equal(res.ret, "");
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_untyped_value_is_a_string(void **state)
{
	struct fx *f = *state;
	answer(f, M_REPLY, RESULT(MEMBER("return", "True\r\n")
				  MEMBER("status", "PASS")));
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "led State", &res), 0);
	/* XML normalizes a literal CR LF to LF. */
	assert_string_equal(res.ret, "True\n");
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_fail_is_einval_with_renode_message(void **state)
{
	struct fx *f = *state;
	answer(f, M_REPLY,
	       RESULT(MEMBER("status", "<string>FAIL</string>")
		      MEMBER("error", "<string>KeywordException: Could not "
				      "execute command 'nope': No such command"
				      " or device: nope\n</string>")
		      MEMBER("traceback", "<string>  at Antmicro...\n"
					  "</string>")));
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	char line[200];
	assert_int_equal(robot_execute(rb, "nope", &res), -EINVAL);
	assert_int_equal(res.status, ROBOT_FAIL);
	assert_non_null(strstr(res.error, "No such command or device"));
	assert_string_equal(robot_error_line(&res, line, sizeof line),
			    "Could not execute command 'nope': No such "
			    "command or device: nope");
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_fault_is_eio_and_keeps_its_code(void **state)
{
	struct fx *f = *state;
	answer(f, M_REPLY, FAULT(1, "Keyword \"Nope\" not found"));
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_run_keyword(rb, "Nope", NULL, 0, &res), -EIO);
	assert_int_equal(res.status, ROBOT_FAULT);
	assert_int_equal(res.fault_code, 1);
	assert_non_null(strstr(res.error, "not found"));
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_no_answer_is_etimedout_at_the_deadline(void **state)
{
	struct fx *f = *state;
	answer(f, M_HANG, NULL);
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	long long t0 = now_ms();
	assert_int_equal(robot_execute(rb, "start", &res), -ETIMEDOUT);
	long long took = now_ms() - t0;
	assert_int_equal(res.status, ROBOT_TIMEOUT);
	assert_true(took >= TIMEOUT_MS - 50);
	assert_true(took < TIMEOUT_MS + 500);
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_closed_connection_is_eio(void **state)
{
	struct fx *f = *state;
	answer(f, M_CLOSE, NULL);
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "start", &res), -EIO);
	assert_int_equal(res.status, ROBOT_NOREPLY);
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_refused_connection_is_eio_at_once(void **state)
{
	(void)state;
	/* A port nobody listens on: bind one, close it. */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	struct robot *rb = robot_new("127.0.0.1", ntohs(sa.sin_port), 5000);
	struct robot_result res;
	long long t0 = now_ms();
	assert_int_equal(robot_execute(rb, "start", &res), -EIO);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(res.status, ROBOT_NOREPLY);
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_answer_that_is_not_a_struct_is_eio(void **state)
{
	struct fx *f = *state;
	answer(f, M_REPLY, HEAD "<params><param><value><i4>3</i4></value>"
			   "</param></params></methodResponse>");
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	struct robot_result res;
	assert_int_equal(robot_execute(rb, "start", &res), -EIO);
	assert_int_equal(res.status, ROBOT_NOREPLY);
	robot_result_clear(&res);
	answer(f, M_REPLY, RESULT(MEMBER("status", "<string>MAYBE</string>")));
	assert_int_equal(robot_execute(rb, "start", &res), -EIO);
	robot_result_clear(&res);
	robot_free(rb);
}

static void test_stop_server_without_answer_is_fine(void **state)
{
	struct fx *f = *state;
	answer(f, M_CLOSE, NULL);
	struct robot *rb = robot_new("127.0.0.1", f->port, TIMEOUT_MS);
	assert_int_equal(robot_stop_server(rb), 0);
	pthread_mutex_lock(&f->lock);
	assert_non_null(strstr(f->body, "stop_remote_server"));
	pthread_mutex_unlock(&f->lock);
	robot_free(rb);
}

struct par {
	struct robot *rb;
	int ok;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	for (int i = 0; i < 10; i++) {
		struct robot_result res;
		if (robot_execute(p->rb, "version", &res) == 0)
			p->ok++;
		robot_result_clear(&res);
	}
	return NULL;
}

static void test_concurrent_calls_share_one_robot(void **state)
{
	struct fx *f = *state;
	struct robot *rb = robot_new("127.0.0.1", f->port, 5000);
	pthread_t t[4];
	struct par p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (struct par){ rb, 0 };
		pthread_create(&t[i], NULL, par_main, &p[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].ok, 10);
	}
	robot_free(rb);
}

static void test_errno_table(void **state)
{
	(void)state;
	struct robot_result r = { 0 };
	r.status = ROBOT_PASS;
	assert_int_equal(robot_errno(&r), 0);
	r.status = ROBOT_FAIL;
	assert_int_equal(robot_errno(&r), -EINVAL);
	r.status = ROBOT_FAULT;
	assert_int_equal(robot_errno(&r), -EIO);
	r.status = ROBOT_NOREPLY;
	assert_int_equal(robot_errno(&r), -EIO);
	r.status = ROBOT_TIMEOUT;
	assert_int_equal(robot_errno(&r), -ETIMEDOUT);
	/* A failed keyword per kind of request; other outcomes keep theirs,
	 * and what was never the robot's passes through. */
	assert_int_equal(robot_errno_as(-EINVAL, ROBOT_ASK_COMMAND), -EINVAL);
	assert_int_equal(robot_errno_as(-EINVAL, ROBOT_ASK_QUERY), -EIO);
	assert_int_equal(robot_errno_as(-EINVAL, ROBOT_ASK_NAME), -ENOENT);
	assert_int_equal(robot_errno_as(-ETIMEDOUT, ROBOT_ASK_NAME), -ETIMEDOUT);
	assert_int_equal(robot_errno_as(-EIO, ROBOT_ASK_NAME), -EIO);
	assert_int_equal(robot_errno_as(0, ROBOT_ASK_QUERY), 0);
	assert_int_equal(robot_errno_as(-ESRCH, ROBOT_ASK_QUERY), -ESRCH);
	assert_int_equal(robot_errno_as(-ENOMEM, ROBOT_ASK_NAME), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_pass_returns_the_monitor_output, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_the_call_is_run_keyword_with_string_args, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_pass_without_return_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_untyped_value_is_a_string, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_fail_is_einval_with_renode_message, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_fault_is_eio_and_keeps_its_code, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_answer_is_etimedout_at_the_deadline, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_closed_connection_is_eio, setup, teardown),
		cmocka_unit_test(test_refused_connection_is_eio_at_once),
		cmocka_unit_test_setup_teardown(
			test_answer_that_is_not_a_struct_is_eio, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_stop_server_without_answer_is_fine, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_concurrent_calls_share_one_robot, setup, teardown),
		cmocka_unit_test(test_errno_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
