/* tls.h - TLS on emufs's TCP links to emulators (interface.md 6,
 * `settings.tls`), with GnuTLS, the library QEMU itself uses.
 *
 * Both ends are verified: where emufs listens it presents the server
 * pair and asks for the peer's client certificate; where it connects it
 * presents the client pair and checks the server's certificate against
 * the address it dialled. The credentials are a directory in the layout
 * of QEMU's tls-creds-x509 object, so one directory serves both sides.
 *
 * A link is opened with a handshake on a connected socket (tls_open,
 * blocking up to a deadline), then relayed (tlsrelay.h): the code that
 * speaks QMP or reads a serial port reads and writes plain bytes on one
 * end of a socketpair, as it would on a unix socket, and never sees TLS.
 */
#ifndef EMUFS_TLS_H
#define EMUFS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The file names in a credentials directory (QEMU's tls-creds-x509). */
#define TLS_CA_CERT "ca-cert.pem"
#define TLS_SERVER_CERT "server-cert.pem"
#define TLS_SERVER_KEY "server-key.pem"
#define TLS_CLIENT_CERT "client-cert.pem"
#define TLS_CLIENT_KEY "client-key.pem"

struct tls_creds;
struct tls_link;

/* Load the CA and both pairs of dir. -errno and one line in why (which
 * file, and what is wrong with it). */
int tls_creds_load(const char *dir, struct tls_creds **out, char *why,
		   size_t whylen);
void tls_creds_free(struct tls_creds *c);

/* Handshake on net, a connected stream socket (made non-blocking; owned
 * by the link from here on, also on failure): as the server (server:
 * true; the peer must present a client certificate of our CA) or as the
 * client of host (an IP address or name the server's certificate must
 * name). Waits at most timeout_ms. -EIO (or -ETIMEDOUT) and one line in
 * why saying which end failed and why, e.g. "the peer's certificate
 * does not verify: signed by an unknown authority". */
int tls_open(struct tls_creds *c, int net, bool server, const char *host,
	     int timeout_ms, struct tls_link **out, char *why, size_t whylen);
/* End our direction: TLS's closing alert (if the socket takes it now),
 * then the TCP end, so the peer reads an orderly end of file. */
void tls_end(struct tls_link *l);
/* Closes the socket; sends the closing alert first if it can without
 * waiting. */
void tls_close(struct tls_link *l);

/* Without blocking, as recv(2)/send(2) on a non-blocking socket: bytes
 * moved, 0 at the peer's orderly end (recv), -EAGAIN, or another -errno
 * with the reason in l (tls_error). tls_send after -EAGAIN must be
 * called again with the same bytes (GnuTLS's rule). */
ssize_t tls_recv(struct tls_link *l, void *buf, size_t len);
ssize_t tls_send(struct tls_link *l, const void *buf, size_t len);
/* Bytes already decrypted and held by the link: readable without the
 * socket turning readable. */
size_t tls_pending(struct tls_link *l);
/* The socket, for the I/O loop's watch. */
int tls_fd(const struct tls_link *l);
/* The send side waits for the socket to be writable (after -EAGAIN). */
bool tls_wants_write(const struct tls_link *l);
/* Why the link failed, for the log ("" while it did not). */
const char *tls_error(const struct tls_link *l);

#endif
