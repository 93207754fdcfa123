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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

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
	struct tls_creds *c = creds(good);
	struct end se, ce;
	struct ioloop *loop = connected(c, &se, &ce);
	struct tls_relay *sr, *cr;
	int sp, cp;
	assert_int_equal(tls_relay_start(loop, se.link, 0, &sp, &sr), 0);
	assert_int_equal(tls_relay_start(loop, ce.link, 0, &cp, &cr), 0);

	size_t n = 1 << 20, have = 0;
	char *out = malloc(n), *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i * 7 + i / 4096);
	exchange(cp, out, n, sp, in, &have);          /* client -> server */
	assert_memory_equal(in, out, n);
	have = 0;
	exchange(sp, out, n, cp, in, &have);          /* server -> client */
	assert_memory_equal(in, out, n);

	close(cp);                                    /* the client's end */
	assert_int_equal(wait_eof(sp), 0);
	char why[200];
	tls_relay_error(sr, why, sizeof why);
	assert_string_equal(why, "");                 /* an orderly end */
	close(sp);
	tls_relay_free(cr);
	tls_relay_free(sr);
	ioloop_free(loop);
	free(out);
	free(in);
	tls_creds_free(c);
}

/* One byte per record towards the peer (what QEMU 7.2's chardevs
 * need): the bytes still arrive whole and in order. */
static void test_one_byte_records_carry_the_bytes_whole(void **state)
{
	struct tls_creds *c = creds(good);
	struct end se, ce;
	handshake(c, c, "127.0.0.1", &se, &ce);
	assert_int_equal(se.rc, 0);
	assert_int_equal(ce.rc, 0);
	struct ioloop *loop = ioloop_new();
	assert_int_equal(ioloop_start(loop), 0);
	struct tls_relay *sr, *cr;
	int sp, cp;
	assert_int_equal(tls_relay_start(loop, se.link, 0, &sp, &sr), 0);
	assert_int_equal(tls_relay_start(loop, ce.link, 1, &cp, &cr), 0);
	size_t n = 4096, have = 0;
	char out[4096], in[4096];
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i * 13);
	exchange(cp, out, n, sp, in, &have);
	assert_memory_equal(in, out, n);
	close(cp);
	close(sp);
	tls_relay_free(cr);
	tls_relay_free(sr);
	ioloop_free(loop);
	tls_creds_free(c);
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

/* Both ends handshaken with the good CA, the server's link relayed on a
 * loop (the client's left as a bare link, for the test to drive). */
struct relayed {
	struct tls_creds *c;
	struct end se, ce;
	struct ioloop *loop;
	struct tls_relay *sr;
	int sp;                     /* the server relay's plain end */
};

static void relay_server(struct relayed *t)
{
	t->c = creds(good);
	t->loop = connected(t->c, &t->se, &t->ce);
	assert_int_equal(tls_relay_start(t->loop, t->se.link, 0, &t->sp,
					 &t->sr), 0);
}

/* Free what relay_server made (the plain end is the test's). */
static void relay_server_free(struct relayed *t)
{
	tls_relay_free(t->sr);
	if (t->ce.link)
		tls_close(t->ce.link);
	ioloop_free(t->loop);
	tls_creds_free(t->c);
}

/* The peer's TCP connection dropped without TLS's end: the relay ends,
 * its reader sees end of file, and the error says what happened. */
static void test_a_dropped_connection_ends_the_relay_with_a_reason(void **state)
{
	struct relayed t;
	relay_server(&t);
	/* The client's socket closes under its session: no close_notify. */
	shutdown(tls_fd(t.ce.link), SHUT_RDWR);
	assert_int_equal(wait_eof(t.sp), 0);
	char why[200];
	tls_relay_error(t.sr, why, sizeof why);
	assert_non_null(strstr(why, "without ending TLS"));
	close(t.sp);
	relay_server_free(&t);
}

/* A watched fd and how often its callback ran (drained each time). */
struct counted {
	int fd;
	int calls;
};

static void count_event(void *opaque, uint32_t events)
{
	struct counted *c = opaque;
	char b[64];
	(void)events;
	while (read(c->fd, b, sizeof b) > 0)
		;
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
}

/* The relay ended (its owner closed the plain end, so the relay closed
 * its own) and the number of that fd went to a new socket watched on
 * the same loop: freeing the relay leaves the new watch alone. It used
 * to close its end of the pair while still watching it, and its free
 * removed "its" fd from epoll: the other watch's. */
static void test_a_relay_freed_after_its_end_leaves_a_reused_fd_watched(
	void **state)
{
	struct relayed t;
	relay_server(&t);
	int mine = t.sp - 1;        /* socketpair's ends are consecutive */
	assert_true(fcntl(mine, F_GETFD) >= 0);
	close(t.sp);                /* the relay ends, closing its own end */
	for (int i = 0; i < TIMEOUT_MS && fcntl(mine, F_GETFD) >= 0; i++)
		usleep(1000);
	assert_true(fcntl(mine, F_GETFD) < 0 && errno == EBADF);

	int other[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0, other), 0);
	assert_int_equal(other[0], mine);   /* the number came back */
	struct counted seen = { other[0], 0 };
	struct io_watch *w = ioloop_add(t.loop, other[0], EPOLLIN,
					count_event, &seen);
	assert_non_null(w);
	tls_relay_free(t.sr);
	t.sr = NULL;
	assert_int_equal(write(other[1], "x", 1), 1);
	for (int i = 0; i < TIMEOUT_MS &&
	     !__atomic_load_n(&seen.calls, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&seen.calls, __ATOMIC_SEQ_CST), 1);
	ioloop_remove(w);
	close(other[0]);
	close(other[1]);
	relay_server_free(&t);
}

/* The plain end closed while the peer's bytes wait for room in it (a
 * reader that stopped reading, then left): the relay's write meets a
 * closed pair, and that ends the relay, not the process with SIGPIPE
 * (the core is a library: it may not count on SIGPIPE being ignored). */
static void test_a_reader_leaving_mid_stream_raises_no_sigpipe(void **state)
{
	struct relayed t;
	relay_server(&t);
	int mine = t.sp - 1;        /* socketpair's ends are consecutive */
	static char chunk[16384];
	memset(chunk, 'z', sizeof chunk);
	/* The peer sends until TCP holds it back: the pair is full and
	 * the relay waits to write the record it holds. */
	for (;;) {
		struct pollfd p = { tls_fd(t.ce.link), POLLOUT, 0 };
		if (poll(&p, 1, 300) == 0)
			break;
		ssize_t n = tls_send(t.ce.link, chunk, sizeof chunk);
		assert_true(n > 0 || n == -EAGAIN);
	}
	close(t.sp);                /* the reader leaves, bytes unread */
	for (int i = 0; i < TIMEOUT_MS && fcntl(mine, F_GETFD) >= 0; i++)
		usleep(1000);
	assert_true(fcntl(mine, F_GETFD) < 0);   /* the relay ended */
	relay_server_free(&t);
}

/* A TLS 1.2 server of the good CA's, GnuTLS's own API (the requests our
 * links never make): after the handshake it asks for a renegotiation,
 * then sends "after". */
struct renegotiator {
	int fd;
	pthread_t thread;
	int rc;
};

static void *renegotiate(void *arg)
{
	struct renegotiator *g = arg;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	char ca[128], cert[128], key[128];
	snprintf(ca, sizeof ca, "%s/ca-cert.pem", good);
	snprintf(cert, sizeof cert, "%s/server-cert.pem", good);
	snprintf(key, sizeof key, "%s/server-key.pem", good);
	g->rc = -1;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return NULL;
	if (gnutls_certificate_set_x509_trust_file(cred, ca,
						   GNUTLS_X509_FMT_PEM) > 0 &&
	    gnutls_certificate_set_x509_key_file(cred, cert, key,
						 GNUTLS_X509_FMT_PEM) == 0 &&
	    gnutls_init(&s, GNUTLS_SERVER) == 0) {
		gnutls_priority_set_direct(s, "NORMAL:-VERS-TLS1.3", NULL);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		gnutls_transport_set_int(s, g->fd);
		int rc;
		do
			rc = gnutls_handshake(s);
		while (rc < 0 && !gnutls_error_is_fatal(rc));
		if (rc == 0 && gnutls_rehandshake(s) == 0 &&
		    gnutls_record_send(s, "after", 5) == 5)
			g->rc = 0;
		/* Hold the connection until the client ends it. */
		char b[64];
		while (gnutls_record_recv(s, b, sizeof b) > 0 ||
		       rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
			rc = 0;
		gnutls_deinit(s);
	}
	gnutls_certificate_free_credentials(cred);
	close(g->fd);
	return NULL;
}

/* A TLS 1.2 peer asks for a renegotiation (a HelloRequest), which a
 * client may ignore: the link goes on and the bytes after it arrive.
 * The relay used to end at GnuTLS's first non-fatal result
 * (GNUTLS_E_REHANDSHAKE), as at a broken link. */
static void test_a_renegotiation_request_does_not_end_the_link(void **state)
{
	struct tls_creds *c = creds(good);
	struct renegotiator g;
	int cfd;
	tcp_pair(&g.fd, &cfd);
	assert_int_equal(pthread_create(&g.thread, NULL, renegotiate, &g), 0);
	struct tls_link *l = NULL;
	char why[256] = "";
	int rc = tls_open(c, cfd, false, "127.0.0.1", TIMEOUT_MS, &l, why,
			  sizeof why);
	if (rc)
		fail_msg("tls_open: %s", why);
	struct ioloop *loop = ioloop_new();
	assert_int_equal(ioloop_start(loop), 0);
	struct tls_relay *r;
	int plain;
	assert_int_equal(tls_relay_start(loop, l, 0, &plain, &r), 0);
	char got[8] = "";
	size_t have = 0;
	while (have < 5) {
		struct pollfd p = { plain, POLLIN, 0 };
		assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
		ssize_t n = read(plain, got + have, 5 - have);
		if (n <= 0) {
			tls_relay_error(r, why, sizeof why);
			fail_msg("the relay ended (%zd): %s", n, why);
		}
		have += (size_t)n;
	}
	assert_memory_equal(got, "after", 5);
	close(plain);
	tls_relay_free(r);          /* its close_notify ends the server */
	pthread_join(g.thread, NULL);
	assert_int_equal(g.rc, 0);
	ioloop_free(loop);
	tls_creds_free(c);
}

/* The CPU time this process used, in ms. */
static long cpu_ms(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000L +
	       (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000;
}

/* The relay ended and then the peer hung up: the ended relay, not yet
 * freed, costs no CPU. Its watches used to stay registered with no
 * events, and epoll reports a hang-up whatever the mask: the loop
 * called the ended relay's callback without rest. */
static void test_an_ended_relay_does_not_spin_on_a_hang_up(void **state)
{
	struct relayed t;
	relay_server(&t);
	close(t.sp);                /* our end: the relay ends TLS (SHUT_WR) */
	char b[256];
	ssize_t r;
	struct pollfd p = { tls_fd(t.ce.link), POLLIN, 0 };
	do {                        /* the peer reads our close_notify, EOF */
		assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
		r = tls_recv(t.ce.link, b, sizeof b);
	} while (r == -EAGAIN);
	assert_int_equal(r, 0);
	tls_close(t.ce.link);       /* and hangs up: both ways shut */
	t.ce.link = NULL;
	long before = cpu_ms();
	usleep(300 * 1000);         /* the window a spin would burn */
	long used = cpu_ms() - before;
	print_message("CPU while idle: %ld ms\n", used);
	assert_true(used < 60);
	relay_server_free(&t);
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
		cmocka_unit_test(
		  test_a_relay_freed_after_its_end_leaves_a_reused_fd_watched),
		cmocka_unit_test(test_an_ended_relay_does_not_spin_on_a_hang_up),
		cmocka_unit_test(
			test_a_reader_leaving_mid_stream_raises_no_sigpipe),
		cmocka_unit_test(
			test_a_renegotiation_request_does_not_end_the_link),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
