/* qemu_sock.h - the endpoints a QEMU launch makes for its links: for a
 * local QEMU, the unix socket of its QMP monitor (QEMU connects as a
 * client) and the FIFOs of every serial channel, in the instance's 0700
 * state directory, named after what they carry ("qmp", the channel's
 * name); for a QEMU started through a launcher (targets.*.launcher), one
 * TCP port on settings.listen per link (core/tcplink.h), which QEMU dials
 * wherever it runs.
 */
#ifndef EMUFS_QEMU_SOCK_H
#define EMUFS_QEMU_SOCK_H

#include <stdbool.h>
#include <stddef.h>

struct run;

/* With settings.tls: the credentials (loaded at the first link; every
 * session uses them, so they go last) and each link's relay, for the
 * run's life (the run's qemu_run holds it; qemu_relays_free). */
struct qemu_relays {
	struct tls_creds *tls;
	struct tls_relay **v;
	size_t n;
};
void qemu_relays_free(struct qemu_relays *t);

/* The endpoints of one launch, made before QEMU is spawned: the QMP
 * listener and, per channel i, the FIFOs (fd: guest output, wfd: its
 * input) or a TCP listener (fd, wfd -1, port). Closed on the way out of
 * the launch; what a link took is -1 here. */
struct qemu_links {
	bool tcp;            /* launched: TCP on settings.listen */
	int qmp_fd, qmp_port;
	int gdb_fd, gdb_port; /* launched: the gdb stub's listener */
	int *fd, *wfd, *port;
	size_t n;
	char tls_why[256];   /* why a link's TLS failed (-EPROTO), or "" */
	struct qemu_relays *relays;  /* the run's, set before the links */
};

/* Make every endpoint of r's launch into l (zeroed by the caller).
 * -errno and one line in why; qemu_links_close() in any case. */
int qemu_links_open(struct run *r, struct qemu_links *l, char *why,
		    size_t whylen);
/* QEMU's QMP connection, accepted before the deadline (clock_now_ms()
 * time): the fd, -EIO if the process ended first, -ETIMEDOUT, -EPROTO
 * if its TLS failed (l->tls_why says which end and why). With
 * settings.tls every accepted link is TLS, relayed (core/tlsrelay.h):
 * the fd is the plain end of the relay, kept by r's qemu_run. */
int qemu_links_qmp(struct run *r, struct qemu_links *l, long long deadline);
/* Channel i's link, the caller's from now on: *fd to read guest output,
 * *wfd to write its input (the same fd for a TCP link). 0 or -errno. */
int qemu_links_channel(struct run *r, struct qemu_links *l, size_t i,
		       long long deadline, int *fd, int *wfd);
/* A launched QEMU's gdb stub link (-gdb chardev:emufs-gdb), as
 * qemu_links_qmp: the fd, or -errno (-EPROTO: l->tls_why). */
int qemu_links_gdb(struct run *r, struct qemu_links *l, long long deadline);
/* Close what no link took and remove the names QEMU no longer needs. */
void qemu_links_close(struct run *r, struct qemu_links *l);

/* <instance dir>/<name>.sock into buf; -ENAMETOOLONG. */
int qemu_sock_path(struct run *r, const char *name, char *buf, size_t len);

/* A non-blocking, close-on-exec listening socket at path (an old file
 * there is replaced), or -errno. */
int qemu_sock_listen(const char *path);

/* Accept QEMU's connection on lfd before the deadline (clock_now_ms()
 * time, core/clock.h); -EIO if the process ends first, -ETIMEDOUT. */
int qemu_sock_accept(struct run *r, int lfd, long long deadline);

/* The FIFOs of a serial channel, for QEMU's `-chardev pipe,path=P`:
 * P is <instance dir>/<name>.pipe into buf, QEMU opens P.in (guest
 * input) and P.out (guest output). -ENAMETOOLONG. */
int qemu_fifo_path(struct run *r, const char *name, char *buf, size_t len);

/* Make P.in and P.out (old files there are replaced) and open both,
 * non-blocking and close-on-exec: *out to read guest output from, *in to
 * write its input to. Both are opened read-write, so neither open waits
 * for QEMU, a read never sees end of file before QEMU opened its end and
 * a write never raises SIGPIPE. 0 or -errno (nothing left open). */
int qemu_fifo_open(const char *path, int *out, int *in);
/* Remove P.in and P.out (once QEMU has them open, or on failure). */
void qemu_fifo_unlink(const char *path);

#endif
