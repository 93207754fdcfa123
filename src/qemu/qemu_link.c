/* qemu_link.c - a run's QMP link to its QEMU (see qemu_link.h).
 *
 * The core's I/O loop owns the QMP socket: it calls the client's
 * qmp_on_readable()/qmp_on_writable() from the watch made here, and the
 * events the client hands back go to `events` in batches. A QMP EOF while
 * QEMU runs arms a one-shot timer that kills it.
 */
#include "qemu_link.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/config.h"
#include "core/run.h"
#include "core/gdbrelay.h"
#include "core/ioloop.h"
#include "qemu_qom_cache.h"
#include "qemu_run.h"
#include "qmp.h"

/* Append n bytes of s to a growing buffer; false when out of memory. */
static bool grow_add(char **buf, size_t *len, size_t *cap, const char *s,
		     size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return true;
}

/* A batch buffer larger than this is not kept between reads: a QMP read
 * brings at most 64 KiB, only a single huge event line grows it more. */
#define EVENT_BATCH_KEEP (1024 * 1024)

/* Events go to `events` in one append per read of the QMP socket (or per
 * reply that follows them: the client's flush points) rather than one per
 * line: an emulator flooding events costs emufs far less. Their names go
 * to the instance afterwards, in order, so `state` never shows a change
 * before the event behind it is in the file. */
static void flush_events(struct run *r)
{
	struct qemu_events *e = &((struct qemu_run *)r->priv)->events;
	if (e->len)
		run_append_events(r, e->lines, e->len);
	for (size_t i = 0; i < e->nlen; i += strlen(e->names + i) + 1)
		run_emulator_event(r, NULL, e->names + i);
	e->len = e->nlen = 0;
	if (e->cap > EVENT_BATCH_KEEP) {       /* after one huge event */
		free(e->lines);
		e->lines = NULL;
		e->cap = 0;
	}
}

static void on_qmp_event(void *opaque, const char *line, json_t *ev)
{
	struct run *r = opaque;
	struct qemu_events *e = &((struct qemu_run *)r->priv)->events;
	if (!line) {                           /* the client's flush point */
		flush_events(r);
		return;
	}
	const char *name = json_string_value(json_object_get(ev, "event"));
	if (qom_event_changes_tree(name)) {
		/* Before the event is in `events`: whoever saw it there and
		 * looks at props/ sees the change. */
		qom_cache_invalidate(((struct qemu_run *)r->priv)->qom);
		run_props_changed(r);
	}
	size_t len = strlen(line), nlen = strlen(name) + 1;
	if (!grow_add(&e->lines, &e->len, &e->cap, line, len) ||
	    !grow_add(&e->lines, &e->len, &e->cap, "\n", 1) ||
	    !grow_add(&e->names, &e->nlen, &e->ncap, name, nlen)) {
		flush_events(r);               /* no memory: one at a time */
		run_emulator_event(r, line, name);
	}
}

/* The QMP client's watch hook (under its lock, any thread): watch for
 * writability while a line waits for room (a big qom-set), so the loop
 * finishes it even after its requester timed out; not for readability
 * while a lone requester reads its own reply (qmp.h). Edge-triggered
 * then: epoll reports a hang-up whatever the mask, and level-triggered
 * it would call us in a loop until the requester gives the socket back
 * (the flush writes to EAGAIN, so an edge is enough for EPOLLOUT). */
static void on_qmp_watch(void *opaque, bool read, bool write)
{
	struct qemu_run *q = ((struct run *)opaque)->priv;
	struct io_watch *w = atomic_load(&q->qmp_watch);
	if (w)
		ioloop_modify(w, (read ? EPOLLIN : EPOLLET) |
			      (write ? EPOLLOUT : 0));
}

/* The hook first: once it is cleared no thread is inside it, so none
 * can modify the watch that ioloop_remove() then lets the loop free. */
void qemu_link_unwatch(struct qemu_run *q)
{
	if (q->qmp)
		qmp_set_watch_hook(q->qmp, NULL, NULL);
	ioloop_remove(atomic_exchange(&q->qmp_watch, NULL));
}

/* The QMP connection ended a request timeout ago and QEMU still runs: it
 * can no longer be controlled, so rather than a `running` instance on
 * which everything fails with EIO, end it; its exit makes it `crashed`.
 * (A one-shot timer made at launch, disarmed until the QMP EOF.) */
static void on_qmp_lost(void *opaque, uint32_t events)
{
	struct run *r = opaque;
	struct qemu_run *q = r->priv;
	if (run_exited(r) || !run_live(r))
		return;                /* ended, or a stop is ending it */
	const char *link = q->lost_link ? q->lost_link : "QMP";
	if (r->target->attach)    /* SIGKILL ends the attachment alone */
		run_log(r, "the %s connection to the attached QEMU broke "
			"(QEMU ended, or the network failed): letting go of "
			"it", link);
	else
		run_log(r, "the %s connection to QEMU (pid %d) broke while "
			"it runs: killing it", link, run_pid(r));
	run_signal(r, SIGKILL);
}

/* A link to QEMU ended (loop thread). QEMU closes its links as it
 * exits; if it has not exited a request timeout later, the link broke:
 * on_qmp_lost ends it. The first loss names the link. */
static void arm_lost(struct run *r, const char *link)
{
	struct qemu_run *q = r->priv;
	struct io_watch *lost = atomic_load(&q->lost_watch);
	if (!lost || run_exited(r))
		return;
	if (!q->lost_link)
		q->lost_link = link;
	/* An attached QEMU is not emufs's child: no exit to wait for. */
	ioloop_timer_arm_us(lost, r->target->attach ? 1
						    : r->timeout_ms * 1000L);
}

static void on_qmp_readable(void *opaque, uint32_t events)
{
	/* Held while we run: once the watch is gone (our EOF), a thread
	 * finishing the run no longer waits for us (see instance.c). */
	struct run *r = run_get(opaque);
	struct qemu_run *q = r->priv;
	int rc = 0;
	if (events & EPOLLOUT)
		rc = qmp_on_writable(q->qmp);
	if (rc == 0 && (events & ~EPOLLOUT))
		rc = qmp_on_readable(q->qmp);
	if (rc != 0) {
		/* EOF. QEMU closes QMP as it exits; if it has not exited a
		 * request timeout later, the connection broke. Arm that
		 * before letting go of the watch. */
		arm_lost(r, "QMP");
		qemu_link_unwatch(q);          /* stop watching */
	}
	run_put(r);
}

int qemu_link_open(struct run *r, int fd)
{
	struct qemu_run *q = r->priv;
	q->qmp = qmp_new(fd, on_qmp_event, r);
	if (!q->qmp) {
		close(fd);
		return -ENOMEM;
	}
	qmp_set_ordered(q->qmp);      /* QEMU answers in order: no ids */
	q->lost_watch = ioloop_add_timer(run_loop(r), -1, 0,
					 on_qmp_lost, r);
	q->qmp_watch = ioloop_add(run_loop(r), fd, EPOLLIN,
				  on_qmp_readable, r);
	if (q->qmp_watch)
		qmp_set_watch_hook(q->qmp, on_qmp_watch, r);
	return q->qmp_watch && q->lost_watch ? 0 : -EIO;
}

/* A serial link's hang-up (reset, or QEMU's end closed). */
static void on_link_hup(void *opaque, uint32_t events)
{
	struct qemu_hup *h = opaque;
	struct run *r = run_get(h->run);     /* as on_qmp_readable */
	ioloop_remove(atomic_exchange(&h->watch, NULL));  /* fires for ever */
	arm_lost(r, h->name);
	run_put(r);
}

int qemu_link_watch_hup(struct run *r, size_t i, int fd)
{
	struct qemu_run *q = r->priv;
	if (!q->hups) {
		q->hups = calloc(r->target->nchannels, sizeof *q->hups);
		if (!q->hups)
			return -ENOMEM;
		q->nhups = r->target->nchannels;
		for (size_t j = 0; j < q->nhups; j++)
			q->hups[j].fd = -1;
	}
	struct qemu_hup *h = &q->hups[i];
	/* A dup: the channel closes its own fd when it detaches, while a
	 * callback of ours may still be running. Readiness is the
	 * socket's, whichever fd epoll was given. */
	if ((h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	h->run = r;
	h->name = r->target->channels[i].name;
	atomic_store(&h->watch, ioloop_add(run_loop(r), h->fd, EPOLLRDHUP,
					   on_link_hup, h));
	return atomic_load(&h->watch) ? 0 : -EIO;
}

void qemu_link_unwatch_hups(struct qemu_run *q, bool close_fds)
{
	for (size_t i = 0; i < q->nhups; i++) {
		ioloop_remove(atomic_exchange(&q->hups[i].watch, NULL));
		if (close_fds && q->hups[i].fd >= 0) {
			close(q->hups[i].fd);
			q->hups[i].fd = -1;
		}
	}
	if (close_fds) {
		free(q->hups);
		q->hups = NULL;
		q->nhups = 0;
	}
}

/* The gdb stub's link ended (loop thread; the relay is alive until this
 * returns, and the run with it: qemu_link_unwatch_gdb waits for us). */
static void on_gdb_lost(void *opaque, const char *why)
{
	struct run *r = run_get(opaque);
	if (why[0] && !run_exited(r))
		run_log(r, "gdb link: %s", why);
	arm_lost(r, "gdb");
	run_put(r);
}

int qemu_link_gdb(struct run *r, int fd)
{
	struct qemu_run *q = r->priv;
	struct gdb_relay *g;
	int rc = gdb_relay_start(run_loop(r), fd, on_gdb_lost, r, &g);
	if (rc)
		return rc;
	snprintf(q->gdb, sizeof q->gdb, "127.0.0.1:%d", gdb_relay_port(g));
	atomic_store(&q->gdb_relay, g);
	return 0;
}

void qemu_link_unwatch_gdb(struct qemu_run *q)
{
	gdb_relay_free(atomic_exchange(&q->gdb_relay, NULL));
}
