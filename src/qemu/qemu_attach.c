/* qemu_attach.c - attaching to a QEMU someone else started (see
 * qemu_attach.h).
 *
 * QEMU serves each link (`-chardev socket,server=on,wait=off` for QMP
 * and every serial port, with `tls-creds-x509 endpoint=server` for
 * TLS); emufs is the client. The run's launcher is launch_attach.c:
 * there is no process, and the run ends when emufs lets go (`stop`) or a
 * link breaks (qemu_link.c: `crashed`). Nothing here changes the
 * machine: no reset, no `cont` but the one that undoes the gdb stub's
 * stop (below); query-status says whether it runs.
 *
 * The gdb stub (`attach.gdb`) is one more link, relayed to a loopback
 * port of emufs's (core/gdbrelay.h) as a launched QEMU's is. QEMU 7.2
 * stops the machine when a client connects to its stub (gdbstub's
 * CHR_EVENT_OPENED, or at the first byte a running machine's stub
 * receives): emufs connects after query-status has said whether it runs,
 * stops it through the stub and waits for the stub's answer (so the stop
 * has happened), and lets a machine that ran run again (`cont`; `events` shows the STOP and
 * RESUME).
 *
 * A socket chardev serves one client at a time; a second one's connect
 * completes in the listen backlog and then hears nothing (no greeting,
 * no TLS handshake): so a timeout waiting for QEMU's first words says
 * that another client may hold the endpoint.
 */
#include "qemu_attach.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/run.h"
#include "core/tcplink.h"
#include "core/tls.h"
#include "core/tlsrelay.h"
#include "qemu_link.h"
#include "qemu_run.h"
#include "qmp.h"

/* A timeout waiting for QEMU's first words on an endpoint it accepted. */
#define HELD_HINT "; another client may hold it (QEMU's socket chardev " \
		  "serves one client at a time)"

/* With settings.tls: TLS as the client of e's host on fd (QEMU's server
 * certificate must name it, both ends verified), relayed on the I/O
 * loop; the plain end, or -errno with why. */
static int tls_client(struct run *r, int fd, const struct cfg_endpoint *e,
		      const char *what, long long end, char *why, size_t wl)
{
	struct qemu_relays *t = &((struct qemu_run *)r->priv)->relays;
	size_t n = r->target->nchannels + 2;   /* QMP, every channel, gdb */
	char err[224] = "";
	struct tls_link *link = NULL;
	int rc = 0, plain = -1;

	if (!t->tls && (rc = tls_creds_load(r->target->tls_dir, &t->tls, err,
					    sizeof err)))
		close(fd);
	else if (!t->v && !(t->v = calloc(n, sizeof *t->v))) {
		close(fd);
		rc = -ENOMEM;
	}
	if (!rc)
		rc = tls_open(t->tls, fd, false, e->host, clock_ms_left(end),
			      &link, err, sizeof err);
	/* One byte per record towards QEMU (core/tlsrelay.h says why). */
	if (!rc && (rc = tls_relay_start(run_loop(r), link, 1, &plain,
					 &t->v[t->n])) == 0) {
		t->n++;
		run_log(r, "%s link: TLS, QEMU's server certificate verified "
			"for %s", what, e->host);
		return plain;
	}
	snprintf(why, wl, "%s link to %s: %s%s", what, e->text,
		 err[0] ? err : strerror(-rc),
		 rc == -ETIMEDOUT ? HELD_HINT : "");
	return rc == -ETIMEDOUT ? rc : -EIO;
}

/* The link to e: plain TCP, or TLS's plain end. -errno with why. */
static int connect_link(struct run *r, const struct cfg_endpoint *e,
			const char *what, long long end, char *why, size_t wl)
{
	char err[224];
	int fd = tcplink_connect(e->host, e->port, clock_ms_left(end), err,
				 sizeof err);
	if (fd < 0) {
		snprintf(why, wl, "%s link: %s", what, err);
		return fd;
	}
	return r->target->tls_dir ? tls_client(r, fd, e, what, end, why, wl)
				  : fd;
}

static int attach_channels(struct run *r, long long end, char *why,
			   size_t wl)
{
	const struct cfg_target *t = r->target;
	for (size_t i = 0; i < t->nchannels; i++) {
		int fd = connect_link(r, &t->attach->serial[i],
				      t->channels[i].name, end, why, wl);
		if (fd < 0)
			return fd;
		int rc = qemu_link_watch_hup(r, i, fd);
		if (!rc)
			rc = run_attach_channel(r, i, fd, fd);
		if (rc) {
			close(fd);
			snprintf(why, wl, "channel %s: %s", t->channels[i].name,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Whether the gdb packet body b (n bytes) is a stop reply or console
 * output, which the stub may send unasked (T, S: the machine stopped; W,
 * X: it ended; O: output), and so not the answer to a question. */
static bool gdb_unasked(const char *b, size_t n)
{
	return n > 0 && strchr("TSWXO", b[0]);
}

/* Make sure the machine is stopped, then ask the stub something harmless
 * (qAttached) and read its answer, acking every packet. The stop: a
 * running machine's stub takes the first byte it receives as "stop" and
 * drops it (gdbstub's gdb_read_byte), so a question sent alone lost its
 * '$' and went unanswered whenever the connection's own stop (QEMU 7.2
 * stops the machine when a client connects: CHR_EVENT_OPENED) had not
 * happened yet. \x03 first is gdb's own interrupt: it stops a running
 * machine and is ignored by a stopped one. After the answer the machine
 * is stopped, so a `cont` is not undone by a stop still to come; the
 * stop replies (T02...) that come with it are skipped, unacked: the stub
 * keeps only its last packet for an ack, and a second '+' reaching it
 * after the `cont` would be a byte to a running machine's stub, i.e. a
 * stop. Only the answer is acked, which leaves the stub waiting for
 * nothing, as the relay's session start needs. 0 or -errno. */
static int gdb_sync(int fd, long long end)
{
	static const char ask[] = "\x03$qAttached#8f";
	char buf[512];
	size_t len = 0;
	if (send(fd, ask, sizeof ask - 1, MSG_NOSIGNAL) != sizeof ask - 1)
		return -EIO;   /* a fresh socket has room for 14 bytes */
	for (;;) {
		/* Whole packets "$...#XX" at the front, dropped until the
		 * answer; anything before a '$' (acks) too. */
		char *dollar = memchr(buf, '$', len);
		char *hash = dollar ? memchr(dollar, '#', len - (size_t)(dollar - buf)) : NULL;
		if (hash && buf + len - hash >= 3) {
			size_t body = (size_t)(hash - dollar - 1), used =
				(size_t)(hash + 3 - buf);
			if (!gdb_unasked(dollar + 1, body))
				return send(fd, "+", 1, MSG_NOSIGNAL) == 1 ? 0 : -EIO;
			memmove(buf, buf + used, len - used);
			len -= used;
			continue;
		}
		if (!dollar)
			len = 0;         /* acks and noise before a packet */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = clock_ms_left(end);
		int n = left > 0 ? poll(&p, 1, left) : 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n < 0)
			continue;
		ssize_t got = recv(fd, buf + len, sizeof buf - len, 0);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
			return got == 0 ? -ECONNRESET : -errno;
		if (got > 0 && (len += (size_t)got) == sizeof buf)
			return -EPROTO;
	}
}

/* The stub at attach.gdb, relayed to a loopback port that `gdb` then
 * gives; a machine that ran (running) runs again. -EIO with why. */
static int attach_gdb(struct run *r, int running, long long end, char *why,
		      size_t wl)
{
	const struct cfg_endpoint *e = &r->target->attach->gdb;
	struct qemu_run *q = r->priv;
	int fd = connect_link(r, e, "gdb", end, why, wl);
	if (fd < 0)
		return -EIO;
	int rc = gdb_sync(fd, end);
	if (rc) {
		close(fd);
		snprintf(why, wl, "gdb link to %s: no answer from the stub: "
			 "%s%s", e->text, strerror(-rc),
			 rc == -ETIMEDOUT ? HELD_HINT : "");
		return -EIO;
	}
	if ((rc = qemu_link_gdb(r, fd))) {      /* owns fd from here */
		snprintf(why, wl, "gdb link: %s", strerror(-rc));
		return -EIO;
	}
	struct qmp_error err;
	if (running && (rc = qmp_execute(q->qmp, "cont", NULL,
					 clock_ms_left(end), NULL, &err))) {
		snprintf(why, wl, "cont after the gdb stub stopped the "
			 "machine: %s", rc == -EIO ? err.desc : strerror(-rc));
		return -EIO;
	}
	run_log(r, "gdb link to %s: relayed to %s", e->text, q->gdb);
	return 0;
}

/* Whether the machine runs now: 1, 0, or -errno with why. */
static int query_running(struct run *r, long long end, char *why, size_t wl)
{
	struct qemu_run *q = r->priv;
	json_t *ret = NULL;
	struct qmp_error err;
	int rc = qmp_execute(q->qmp, "query-status", NULL, clock_ms_left(end),
			     &ret, &err);
	if (rc) {
		snprintf(why, wl, "query-status: %s", rc == -EIO ? err.desc
			 : strerror(-rc));
		return rc;
	}
	int running = json_is_true(json_object_get(ret, "running"));
	json_decref(ret);
	return running;
}

/* Why QMP's handshake failed (rc): no greeting in time, or a link that
 * ended; with TLS, QEMU ends it when it refuses emufs's client
 * certificate, which TLS 1.3 tells the client only after its own
 * handshake succeeded: the relay's reason then says so. */
static void handshake_failed(struct run *r, int rc, char *why, size_t wl)
{
	struct qemu_run *q = r->priv;
	const char *qmp = r->target->attach->qmp.text;
	char tls[200] = "";
	if (rc == -ETIMEDOUT) {
		snprintf(why, wl, "QMP at %s: no greeting in %d ms%s", qmp,
			 r->timeout_ms, HELD_HINT);
		return;
	}
	if (q->relays.n)      /* the QMP link's relay: the first */
		tls_relay_error(q->relays.v[0], tls, sizeof tls);
	if (tls[0])
		snprintf(why, wl, "QMP handshake with %s failed: %s; its TLS "
			 "link: %s (QEMU ends the link when it does not accept "
			 "emufs's client certificate)", qmp, strerror(-rc),
			 tls);
	else
		snprintf(why, wl, "QMP handshake with %s failed: %s", qmp,
			 strerror(-rc));
}

int qemu_attach(struct run *r, char *why, size_t wl)
{
	const struct cfg_attach *a = r->target->attach;
	struct qemu_run *q = r->priv;
	long long end = clock_now_ms() + r->timeout_ms;
	int rc = run_spawn(r, NULL, NULL, why, wl);
	if (rc)
		return rc;
	run_log(r, "attaching to QEMU: QMP at %s%s", a->qmp.text,
		r->target->tls_dir ? ", TLS" : "");
	int fd = connect_link(r, &a->qmp, "QMP", end, why, wl);
	if (fd < 0)
		return -EIO;
	if ((rc = qemu_link_open(r, fd))) {
		snprintf(why, wl, "QMP link: %s", strerror(-rc));
		return -EIO;
	}
	if ((rc = attach_channels(r, end, why, wl)))
		return -EIO;
	if ((rc = qmp_handshake(q->qmp, clock_ms_left(end)))) {
		handshake_failed(r, rc, why, wl);
		return -EIO;
	}
	int running = query_running(r, end, why, wl);
	if (running < 0)
		return -EIO;
	r->found_running = running;
	if (a->gdb.text && attach_gdb(r, running, end, why, wl))
		return -EIO;
	run_log(r, "attached to QEMU at %s: it is %s, and stays as it was",
		a->qmp.text, running ? "running" : "paused");
	return 0;
}
