/* test_tls.c - TLS links and their relay (core/tls.h, core/tlsrelay.h)
 * over real TCP on loopback, with credentials made by certtool
 * (tests/tls/make-certs.sh) for each run: both ends verified, bytes
 * both ways through the relays, the end of either side, and the
 * failures a user meets (a certificate of another CA, a name the
 * server's certificate does not hold, a peer that never answers).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ioloop.h"
#include "core/tls.h"
#include "core/tlsrelay.h"

#define TIMEOUT_MS 5000

static char good[64], rogue[64];     /* two CAs' credential directories */

static void make_certs(char *dir, size_t len, const char *host)
{
	char cmd[512];
	snprintf(dir, len, "/tmp/emufs-tls-XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* The unit tests run from the top of the tree (run-unit.sh). */
	snprintf(cmd, sizeof cmd, "sh tests/tls/make-certs.sh %s %s", dir,
		 host);
	assert_int_equal(system(cmd), 0);
}

static int group_setup(void **state)
{
	make_certs(good, sizeof good, "127.0.0.1");
	make_certs(rogue, sizeof rogue, "127.0.0.1");
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", good, rogue);
	return system(cmd) == 0 ? 0 : -1;
}

/* A connected pair of TCP sockets on loopback: *srv accepted, *cli
 * dialled. */
static void tcp_pair(int *srv, int *cli)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&a, sizeof a), 0);
	*srv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*srv >= 0);
	close(l);
}

/* One end's handshake, on a thread of its own (both must run at once). */
struct end {
	struct tls_creds *creds;
	int fd;
	bool server;
	const char *host;
	int timeout_ms;
	int rc;
	struct tls_link *link;
	char why[256];
	pthread_t thread;
};

static void *open_end(void *arg)
{
	struct end *e = arg;
	e->rc = tls_open(e->creds, e->fd, e->server, e->host, e->timeout_ms,
			 &e->link, e->why, sizeof e->why);
	return NULL;
}

/* Handshake a server with creds s and a client with creds c dialling
 * host; both results in *se and *ce. */
static void handshake(struct tls_creds *s, struct tls_creds *c,
		      const char *host, struct end *se, struct end *ce)
{
	int sfd, cfd;
	tcp_pair(&sfd, &cfd);
	*se = (struct end){ .creds = s, .fd = sfd, .server = true,
			    .timeout_ms = TIMEOUT_MS };
	*ce = (struct end){ .creds = c, .fd = cfd, .server = false,
			    .host = host, .timeout_ms = TIMEOUT_MS };
	assert_int_equal(pthread_create(&se->thread, NULL, open_end, se), 0);
	open_end(ce);
	pthread_join(se->thread, NULL);
}

static struct tls_creds *creds(const char *dir)
{
	struct tls_creds *c = NULL;
	char why[256] = "";
	if (tls_creds_load(dir, &c, why, sizeof why))
		fail_msg("tls_creds_load %s: %s", dir, why);
	return c;
}

/* Both ends handshaken with c, and an I/O loop for their relays. */
static struct ioloop *connected(struct tls_creds *c, struct end *se,
				struct end *ce)
{
	handshake(c, c, "127.0.0.1", se, ce);
	assert_int_equal(se->rc, 0);
	assert_int_equal(ce->rc, 0);
	struct ioloop *loop = ioloop_new();
	assert_int_equal(ioloop_start(loop), 0);
	return loop;
}

/* Two relayed ends on one I/O loop: the server's plain fd sp, the
 * client's cp (sending at most client_max bytes per record). */
struct relayed {
	struct tls_creds *c;
	struct ioloop *loop;
	struct tls_relay *sr, *cr;
	int sp, cp;
};

static void relayed_open(struct relayed *x, size_t client_max)
{
	struct end se, ce;
	x->c = creds(good);
	x->loop = connected(x->c, &se, &ce);
	assert_int_equal(tls_relay_start(x->loop, se.link, 0, &x->sp, &x->sr),
			 0);
	assert_int_equal(tls_relay_start(x->loop, ce.link, client_max, &x->cp,
					 &x->cr), 0);
}

static void relayed_close(struct relayed *x)
{
	if (x->cp >= 0)
		close(x->cp);
	close(x->sp);
	tls_relay_free(x->cr);
	tls_relay_free(x->sr);
	ioloop_free(x->loop);
	tls_creds_free(x->c);
}

/* Write all of buf to a non-blocking fd, reading the other side's
 * plain fd meanwhile into got (so neither side's buffers fill). */
static void exchange(int wfd, const char *buf, size_t n, int rfd,
		     char *got, size_t *have)
{
	size_t sent = 0;
	while (sent < n || *have < n) {
		struct pollfd p[2] = { { wfd, sent < n ? POLLOUT : 0, 0 },
				       { rfd, POLLIN, 0 } };
		assert_true(poll(p, 2, TIMEOUT_MS) > 0);
		if (p[0].revents & POLLOUT) {
			ssize_t w = write(wfd, buf + sent, n - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		if (p[1].revents & POLLIN) {
			ssize_t r = read(rfd, got + *have, n - *have);
			assert_true(r > 0);
			*have += (size_t)r;
		}
	}
}

/* Read fd until end of file (or TIMEOUT_MS): 0 at EOF. */
static int wait_eof(int fd)
{
	char b[256];
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, TIMEOUT_MS) != 1)
			return -1;
		ssize_t r = read(fd, b, sizeof b);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EAGAIN)
			return -1;
	}
}

static void test_creds_name_the_file_that_is_missing(void **state)
{
	struct tls_creds *c = NULL;
	char why[256] = "", dir[96], cmd[512];
	snprintf(dir, sizeof dir, "%s-copy", good);
	snprintf(cmd, sizeof cmd, "cp -r %s %s && rm %s/client-key.pem", good,
		 dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tls_creds_load(dir, &c, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "client-key.pem"));
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Both ends verified, then a MiB each way through two relays on one
 * I/O loop, and the client's close is the server's end of file. */
static void test_relayed_bytes_arrive_whole_both_ways(void **state)
{
	struct relayed x;
	relayed_open(&x, 0);
	size_t n = 1 << 20, have = 0;
	char *out = malloc(n), *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i * 7 + i / 4096);
	exchange(x.cp, out, n, x.sp, in, &have);      /* client -> server */
	assert_memory_equal(in, out, n);
	have = 0;
	exchange(x.sp, out, n, x.cp, in, &have);      /* server -> client */
	assert_memory_equal(in, out, n);

	close(x.cp);                                  /* the client's end */
	x.cp = -1;
	assert_int_equal(wait_eof(x.sp), 0);
	char why[200];
	tls_relay_error(x.sr, why, sizeof why);
	assert_string_equal(why, "");                 /* an orderly end */
	relayed_close(&x);
	free(out);
	free(in);
}

/* One byte per record towards the peer (what QEMU 7.2's chardevs
 * need): the bytes still arrive whole and in order. */
static void test_one_byte_records_carry_the_bytes_whole(void **state)
{
	struct relayed x;
	relayed_open(&x, 1);
	size_t n = 4096, have = 0;
	char out[4096], in[4096];
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i * 13);
	exchange(x.cp, out, n, x.sp, in, &have);
	assert_memory_equal(in, out, n);
	relayed_close(&x);
}

/* A client whose certificate another CA signed: the server refuses it
 * and says why; the client learns it was refused. */
static void test_a_client_of_another_ca_is_refused(void **state)
{
	struct tls_creds *s = creds(good), *c = creds(rogue);
	struct end se, ce;
	handshake(s, c, "127.0.0.1", &se, &ce);
	assert_int_equal(se.rc, -EIO);
	assert_int_equal(ce.rc, -EIO);
	/* Our server's CA cannot verify the client, and the client's CA
	 * cannot verify our server: whichever end checks first says so. */
	print_message("server: %s\nclient: %s\n", se.why, ce.why);
	assert_true(strstr(se.why, "does not verify") ||
		    strstr(ce.why, "does not verify"));
	tls_creds_free(s);
	tls_creds_free(c);
}

/* The server's certificate names 127.0.0.1 and localhost: a client that
 * dialled another name refuses it. */
static void test_a_server_not_named_as_dialled_is_refused(void **state)
{
	struct tls_creds *c = creds(good);
	struct end se, ce;
	handshake(c, c, "board7.example", &se, &ce);
	assert_int_equal(ce.rc, -EIO);
	print_message("client: %s\n", ce.why);
	assert_non_null(strstr(ce.why, "emufs (client)"));
	assert_non_null(strstr(ce.why, "does not verify"));
	if (se.rc == 0)
		tls_close(se.link);
	tls_creds_free(c);
}

/* A peer that connects and never speaks: the handshake gives up at its
 * deadline. */
static void test_a_silent_peer_times_out(void **state)
{
	struct tls_creds *c = creds(good);
	int sfd, cfd;
	tcp_pair(&sfd, &cfd);
	struct tls_link *l = NULL;
	char why[256] = "";
	assert_int_equal(tls_open(c, sfd, true, NULL, 200, &l, why,
				  sizeof why), -ETIMEDOUT);
	assert_non_null(strstr(why, "no answer"));
	close(cfd);
	tls_creds_free(c);
}

/* The peer's TCP connection dropped without TLS's end: the relay ends,
 * its reader sees end of file, and the error says what happened. */
static void test_a_dropped_connection_ends_the_relay_with_a_reason(void **state)
{
	struct tls_creds *c = creds(good);
	struct end se, ce;
	struct ioloop *loop = connected(c, &se, &ce);
	struct tls_relay *sr;
	int sp;
	assert_int_equal(tls_relay_start(loop, se.link, 0, &sp, &sr), 0);
	/* The client's socket closes under its session: no close_notify. */
	shutdown(tls_fd(ce.link), SHUT_RDWR);
	assert_int_equal(wait_eof(sp), 0);
	char why[200];
	tls_relay_error(sr, why, sizeof why);
	assert_non_null(strstr(why, "without ending TLS"));
	close(sp);
	tls_relay_free(sr);
	tls_close(ce.link);
	ioloop_free(loop);
	tls_creds_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_name_the_file_that_is_missing),
		cmocka_unit_test(test_relayed_bytes_arrive_whole_both_ways),
		cmocka_unit_test(test_one_byte_records_carry_the_bytes_whole),
		cmocka_unit_test(test_a_client_of_another_ca_is_refused),
		cmocka_unit_test(test_a_server_not_named_as_dialled_is_refused),
		cmocka_unit_test(test_a_silent_peer_times_out),
		cmocka_unit_test(
			test_a_dropped_connection_ends_the_relay_with_a_reason),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
