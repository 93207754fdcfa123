/* fuzz_robot.c - libFuzzer target for the robot-port result handling
 * (robot.c).
 *
 * Feeds: the input as the body of the robot port's HTTP answer to
 * run_keyword("ExecuteCommand", ["peripherals"]). robot.c keeps its
 * answer handling (xmlrpc-c's parse of the methodResponse, the fault
 * branch, the run_keyword struct) inside its static call() and
 * interpret(), so the target goes through the public API: a thread plays
 * Renode on 127.0.0.1 and answers every request with "200 OK" and the
 * input (keep-alive, so one connection serves many inputs), and the real
 * client, curl and all, calls it.
 *
 * Beyond "no crash, no leak, no UB" it checks, against a model that parses
 * the body with xmlrpc-c itself (the model judges robot.c's decisions, not
 * xmlrpc-c's XML parser):
 *  - the return value is robot_errno() of the result; the status is never
 *    TIMEOUT (the answer is always there at once);
 *  - not XML-RPC, or a result that is no struct: NOREPLY with an error;
 *    a fault: FAULT with the server's code and an error;
 *  - a struct whose "status" is the string "PASS": PASS, ret set, no
 *    error; ret is the "return" string when that is a string, "" when
 *    there is none (an unreadable one may make it NOREPLY);
 *    "FAIL": FAIL with a non-empty error, which is the "error" string when
 *    that is a non-empty string; any other status: NOREPLY with an error;
 *  - robot_error_line() writes one line, NUL-terminated inside the caller's
 *    buffer, whatever its size.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "renode/robot.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_robot: invariant failed: %s "\
				"(%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                           \
		}                                                          \
	} while (0)

#define TIMEOUT_MS 10000
#define REQ_MAX 16384

/* The answer the server gives next; protected by lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *answer;
static size_t answer_len;

static struct robot *rb;

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one request (headers, then Content-Length bytes of body) from fd;
 * buf carries what was read past it into the next call. */
static int read_request(int fd, char *buf, size_t *len)
{
	char *end;
	size_t want, total;

	for (;;) {
		buf[*len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strcasestr(buf, "Content-Length:");

			want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
			total = (size_t)(end + 4 - buf) + want;
			if (total >= REQ_MAX)
				return -1;
			if (*len >= total)
				break;
		}
		if (*len >= REQ_MAX - 1)
			return -1;
		ssize_t n = read(fd, buf + *len, REQ_MAX - 1 - *len);
		if (n <= 0)
			return -1;
		*len += (size_t)n;
	}
	memmove(buf, buf + total, *len - total);
	*len -= total;
	return 0;
}

static void *server_main(void *arg)
{
	int lfd = *(int *)arg, one = 1;
	static char buf[REQ_MAX];

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		size_t len = 0;

		if (fd < 0)
			continue;
		/* No Nagle: a reply in two segments would wait for the
		 * client's delayed ACK, 40 ms an input. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		while (read_request(fd, buf, &len) == 0) {
			char head[160];
			int hn, bad;

			pthread_mutex_lock(&lock);
			hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
				      "Content-Type: text/xml\r\n"
				      "Content-Length: %zu\r\n\r\n", answer_len);
			bad = send_all(fd, head, (size_t)hn) ||
			      send_all(fd, answer, answer_len);
			pthread_mutex_unlock(&lock);
			if (bad)
				break;
		}
		close(fd);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static int lfd;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	pthread_t thr;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(listen(lfd, 16) == 0);
	CHECK(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
	CHECK(pthread_create(&thr, NULL, server_main, &lfd) == 0);
	CHECK(pthread_detach(thr) == 0);
	rb = robot_new("127.0.0.1", ntohs(sa.sin_port), TIMEOUT_MS);
	CHECK(rb);
	return 0;
}

/* What robot.c should make of the body. */
struct model {
	enum robot_status status;
	int fault_code;
	char *text;          /* PASS: the "return" string; FAIL: "error" */
	bool text_known;
};

/* A struct member as a C string (as robot.c reads it), or NULL when it is
 * absent or no string. */
static char *member_string(xmlrpc_value *st, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	char *out = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, key, &v);
	if (!env.fault_occurred && v &&
	    xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
		const char *s;
		size_t n;

		xmlrpc_read_string_lp(&env, v, &n, &s);
		if (!env.fault_occurred) {
			out = strndup(s, n);
			free((void *)s);
		}
	}
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return out;
}

static bool has_member(xmlrpc_value *st, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, key, &v);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v);
	return v != NULL;
}

static void model(const uint8_t *data, size_t size, struct model *m)
{
	xmlrpc_env env;
	xmlrpc_value *result = NULL;
	const char *fault = NULL;
	int code = 0;
	char *status;

	memset(m, 0, sizeof *m);
	m->status = ROBOT_NOREPLY;
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, (const char *)data, size, &result, &code,
			       &fault);
	if (env.fault_occurred) {
		xmlrpc_env_clean(&env);
		return;
	}
	xmlrpc_env_clean(&env);
	if (fault) {
		m->status = ROBOT_FAULT;
		m->fault_code = code;
		free((void *)fault);
		return;
	}
	if (xmlrpc_value_type(result) == XMLRPC_TYPE_STRUCT) {
		status = member_string(result, "status");
		if (status && !strcmp(status, "PASS")) {
			m->status = ROBOT_PASS;
			m->text = member_string(result, "return");
			m->text_known = m->text || !has_member(result, "return");
			if (!m->text && m->text_known)
				m->text = strdup("");
		} else if (status && !strcmp(status, "FAIL")) {
			m->status = ROBOT_FAIL;
			m->text = member_string(result, "error");
			m->text_known = m->text && m->text[0];
		}
		free(status);
	}
	xmlrpc_DECREF(result);
}

static void check_error_line(const struct robot_result *res, size_t len)
{
	char *buf = malloc(len ? len : 1);
	const char *line;

	CHECK(buf);
	memset(buf, 'X', len ? len : 1);
	line = robot_error_line(res, buf, len);
	if (len) {
		CHECK(line == buf);
		CHECK(memchr(buf, '\0', len));
		CHECK(!strpbrk(buf, "\r\n"));
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *arg = "peripherals";
	struct robot_result res;
	struct model m;
	int rc;

	pthread_mutex_lock(&lock);
	answer = data;
	answer_len = size;
	pthread_mutex_unlock(&lock);
	rc = robot_run_keyword(rb, "ExecuteCommand", &arg, 1, &res);

	CHECK(rc == robot_errno(&res));
	CHECK(res.status != ROBOT_TIMEOUT);
	model(data, size, &m);
	if (m.status == ROBOT_PASS && !m.text_known)
		CHECK(res.status == ROBOT_PASS || res.status == ROBOT_NOREPLY);
	else
		CHECK(res.status == m.status);
	switch (res.status) {
	case ROBOT_PASS:
		CHECK(res.ret && !res.error);
		if (m.text_known)
			CHECK(!strcmp(res.ret, m.text));
		break;
	case ROBOT_FAIL:
		CHECK(res.error && res.error[0] && !res.ret);
		if (m.text_known)
			CHECK(!strcmp(res.error, m.text));
		break;
	case ROBOT_FAULT:
		CHECK(res.error && !res.ret);
		CHECK(res.fault_code == m.fault_code);
		break;
	default:
		CHECK(res.error && !res.ret);
		break;
	}
	for (size_t len = 0; len < 40; len += 7)
		check_error_line(&res, len);
	free(m.text);
	robot_result_clear(&res);
	pthread_mutex_lock(&lock);
	answer = NULL;
	answer_len = 0;
	pthread_mutex_unlock(&lock);
	return 0;
}
