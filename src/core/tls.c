/* tls.c - TLS links with GnuTLS, both ends verified (tls.h). */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

struct tls_creds {
	gnutls_certificate_credentials_t server;  /* server pair + CA */
	gnutls_certificate_credentials_t client;  /* client pair + CA */
};

struct tls_link {
	gnutls_session_t s;
	int fd;
	bool server;
	char error[200];
};

/* One credentials object: the CA to verify the peer, and our pair. */
static int load_pair(const char *dir, const char *cert, const char *key,
		     gnutls_certificate_credentials_t *out, char *why,
		     size_t whylen)
{
	char ca[4096], c[4096], k[4096];
	snprintf(ca, sizeof ca, "%s/%s", dir, TLS_CA_CERT);
	snprintf(c, sizeof c, "%s/%s", dir, cert);
	snprintf(k, sizeof k, "%s/%s", dir, key);
	if (gnutls_certificate_allocate_credentials(out) < 0) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	int rc = gnutls_certificate_set_x509_trust_file(*out, ca,
							GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		snprintf(why, whylen, "%s: %s", ca, rc == 0 ?
			 "no certificate in it" : gnutls_strerror(rc));
		goto fail;
	}
	rc = gnutls_certificate_set_x509_key_file(*out, c, k,
						  GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		snprintf(why, whylen, "%s with %s: %s", c, k,
			 gnutls_strerror(rc));
		goto fail;
	}
	return 0;
fail:
	gnutls_certificate_free_credentials(*out);
	*out = NULL;
	return -EINVAL;
}

int tls_creds_load(const char *dir, struct tls_creds **out, char *why,
		   size_t whylen)
{
	struct tls_creds *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	int rc = load_pair(dir, TLS_SERVER_CERT, TLS_SERVER_KEY, &c->server,
			   why, whylen);
	if (!rc)
		rc = load_pair(dir, TLS_CLIENT_CERT, TLS_CLIENT_KEY,
			       &c->client, why, whylen);
	if (rc) {
		tls_creds_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void tls_creds_free(struct tls_creds *c)
{
	if (!c)
		return;
	if (c->server)
		gnutls_certificate_free_credentials(c->server);
	if (c->client)
		gnutls_certificate_free_credentials(c->client);
	free(c);
}

/* What went wrong in a failed handshake, from our end's point of view. */
static void handshake_error(struct tls_link *l, int rc)
{
	const char *end = l->server ? "emufs (server)" : "emufs (client)";
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t txt = { 0 };
		unsigned status = gnutls_session_get_verify_cert_status(l->s);
		if (gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &txt, 0) == 0) {
			snprintf(l->error, sizeof l->error, "%s: the peer's "
				 "certificate does not verify: %s", end,
				 (char *)txt.data);
			gnutls_free(txt.data);
			return;
		}
	}
	if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_SESSION_EOF ||
	    rc == GNUTLS_E_PULL_ERROR ||
	    rc == GNUTLS_E_PUSH_ERROR) {
		snprintf(l->error, sizeof l->error, "%s: the peer closed the "
			 "connection in the TLS handshake (it does not trust "
			 "our certificate, or does not speak TLS)", end);
		return;
	}
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	    rc == GNUTLS_E_CERTIFICATE_REQUIRED) {
		snprintf(l->error, sizeof l->error, "%s: the peer sent no "
			 "certificate", end);
		return;
	}
	snprintf(l->error, sizeof l->error, "%s: TLS handshake: %s%s", end,
		 gnutls_strerror(rc), rc == GNUTLS_E_FATAL_ALERT_RECEIVED ?
		 " (the peer refused ours)" : "");
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		size_t n = strlen(l->error);
		snprintf(l->error + n, sizeof l->error - n, ": %s",
			 gnutls_alert_get_name(gnutls_alert_get(l->s)));
	}
}

/* GnuTLS's sends, with MSG_NOSIGNAL: a peer that went away is an error
 * of this link, never SIGPIPE for the process. */
static ssize_t push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct tls_link *l = ptr;
	ssize_t n = send(l->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		gnutls_transport_set_errno(l->s, errno);
	return n;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct tls_link *l = ptr;
	ssize_t n = recv(l->fd, buf, len, 0);
	if (n < 0)
		gnutls_transport_set_errno(l->s, errno);
	return n;
}

int tls_open(struct tls_creds *c, int net, bool server, const char *host,
	     int timeout_ms, struct tls_link **out, char *why, size_t whylen)
{
	struct tls_link *l = calloc(1, sizeof *l);
	int fl = fcntl(net, F_GETFL);
	if (!l || fl < 0 || fcntl(net, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(why, whylen, "out of memory");
		free(l);
		close(net);
		return -ENOMEM;
	}
	l->fd = net;
	l->server = server;
	int rc = gnutls_init(&l->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
			     GNUTLS_NONBLOCK);
	if (rc == 0)
		rc = gnutls_set_default_priority(l->s);
	if (rc == 0)
		rc = gnutls_credentials_set(l->s, GNUTLS_CRD_CERTIFICATE,
					    server ? c->server : c->client);
	if (rc == 0 && !server && host)
		rc = gnutls_server_name_set(l->s, GNUTLS_NAME_DNS, host,
					    strlen(host));
	if (rc < 0) {
		snprintf(why, whylen, "TLS set-up: %s", gnutls_strerror(rc));
		tls_close(l);
		return -EIO;
	}
	if (server)
		gnutls_certificate_server_set_request(l->s, GNUTLS_CERT_REQUIRE);
	/* Verified in the handshake: the CA for both, and for a client the
	 * name it dialled (an IP address matches the certificate's IP
	 * SAN). */
	gnutls_session_set_verify_cert(l->s, server ? NULL : host, 0);
	gnutls_transport_set_ptr(l->s, l);
	gnutls_transport_set_push_function(l->s, push);
	gnutls_transport_set_pull_function(l->s, pull);

	long long end = clock_now_ms() + timeout_ms;
	while ((rc = gnutls_handshake(l->s)) < 0 && !gnutls_error_is_fatal(rc)) {
		int left = clock_ms_left(end);
		if (left == 0) {
			snprintf(why, whylen, "emufs (%s): TLS handshake: no "
				 "answer from the peer in %d ms",
				 server ? "server" : "client", timeout_ms);
			tls_close(l);
			return -ETIMEDOUT;
		}
		struct pollfd p = { net, gnutls_record_get_direction(l->s) ?
					 POLLOUT : POLLIN, 0 };
		poll(&p, 1, left);
	}
	if (rc < 0) {
		handshake_error(l, rc);
		snprintf(why, whylen, "%s", l->error);
		tls_close(l);
		return -EIO;
	}
	*out = l;
	return 0;
}

void tls_end(struct tls_link *l)
{
	gnutls_bye(l->s, GNUTLS_SHUT_WR);   /* non-blocking: best effort */
	shutdown(l->fd, SHUT_WR);
}

void tls_close(struct tls_link *l)
{
	if (!l)
		return;
	if (l->s) {
		gnutls_bye(l->s, GNUTLS_SHUT_WR);   /* non-blocking: best effort */
		gnutls_deinit(l->s);
	}
	close(l->fd);
	free(l);
}

/* A GnuTLS result as the socket calls' convention (tls.h). */
static ssize_t result(struct tls_link *l, ssize_t rc, const char *what)
{
	if (rc >= 0)
		return rc;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	if (rc == GNUTLS_E_PREMATURE_TERMINATION)
		snprintf(l->error, sizeof l->error, "the peer closed the TCP "
			 "connection without ending TLS");
	else
		snprintf(l->error, sizeof l->error, "TLS %s: %s", what,
			 gnutls_strerror((int)rc));
	return -EIO;
}

/* How many non-fatal results one tls_recv passes over before it says
 * -EAGAIN (the loop calls again while the socket is readable): a peer
 * sending nothing but warnings costs no more than its bytes. */
#define TLS_NONFATAL_MAX 16

ssize_t tls_recv(struct tls_link *l, void *buf, size_t len)
{
	/* A non-fatal result is no end of the link: a warning alert, or a
	 * TLS 1.2 renegotiation request (GNUTLS_E_REHANDSHAKE), which we
	 * ignore, as a client may (RFC 5246, 7.4.1.1) and as GnuTLS allows
	 * a server; the next record may already be here. */
	ssize_t rc = GNUTLS_E_AGAIN;
	for (int i = 0; i < TLS_NONFATAL_MAX; i++) {
		rc = gnutls_record_recv(l->s, buf, len);
		if (rc >= 0 || rc == GNUTLS_E_AGAIN ||
		    rc == GNUTLS_E_INTERRUPTED || gnutls_error_is_fatal((int)rc))
			break;
		rc = GNUTLS_E_AGAIN;
	}
	return result(l, rc, "receive");
}

ssize_t tls_send(struct tls_link *l, const void *buf, size_t len)
{
	return result(l, gnutls_record_send(l->s, buf, len), "send");
}

size_t tls_pending(struct tls_link *l)
{
	return gnutls_record_check_pending(l->s);
}

int tls_fd(const struct tls_link *l)
{
	return l->fd;
}

bool tls_wants_write(const struct tls_link *l)
{
	return gnutls_record_get_direction(l->s) == 1;
}

const char *tls_error(const struct tls_link *l)
{
	return l->error;
}
