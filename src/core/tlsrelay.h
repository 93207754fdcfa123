/* tlsrelay.h - a TLS link relayed to plain bytes on the I/O loop
 * (tlsrelay.c), so that the code speaking QMP or reading a serial port
 * reads and writes one end of a socketpair as it would a unix socket to
 * a local emulator, and never sees TLS (tls.h).
 */
#ifndef EMUFS_TLSRELAY_H
#define EMUFS_TLSRELAY_H

#include <stddef.h>

struct ioloop;
struct tls_link;
struct tls_relay;

/* Relay l (the relay owns it from here, also on failure) on loop. *plain
 * gets the caller's end of the pair (non-blocking, close-on-exec; the
 * caller owns it). Bytes the peer sends come out of *plain, bytes
 * written to *plain go to the peer. When the peer ends TLS, or the link
 * fails, *plain reads end of file (tls_relay_error says why); when the
 * caller closes *plain, the relay ends TLS with the peer. max_record:
 * at most that many bytes per TLS record towards the peer (0: full
 * records, 16 KiB). QEMU 7.2 needs 1: its chardevs read only what their
 * device takes (QMP's monitor: 1 byte), the rest of a record stays in
 * its TLS session, and its main loop never looks there again while the
 * socket is not readable, so the input stalls (docs/scale-out.md).
 * 0 or -errno. */
int tls_relay_start(struct ioloop *loop, struct tls_link *l,
		    size_t max_record, int *plain, struct tls_relay **out);
/* Stop (from any thread, also the loop's) and free. */
void tls_relay_free(struct tls_relay *r);
/* Why the relay ended: "" while it runs or after an orderly end, else
 * the link's failure. A copy in buf. */
void tls_relay_error(struct tls_relay *r, char *buf, size_t len);

#endif
