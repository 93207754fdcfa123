/* qmp_sendq.c - the QMP client's send queue (see qmp_sendq.h): a FIFO of
 * whole lines, each with a back pointer to its requester while it waits.
 */
#include "qmp_sendq.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

/* A queued request line. Owned by the queue; owner points back at the
 * requester's handle while the requester still waits for it to go out. */
struct qmp_out {
	struct qmp_out *next;
	struct qmp_out **owner;
	char *buf;
	size_t len, off;         /* off: bytes already sent */
};

void qmp_sendq_init(struct qmp_sendq *s)
{
	s->head = NULL;
	s->tail = &s->head;
	s->want_write = NULL;
	s->want_opaque = NULL;
	s->wants = false;
}

/* Tell the owner whether to watch for writability; only on a change. */
static void set_want(struct qmp_sendq *s, bool on)
{
	if (s->wants == on)
		return;
	s->wants = on;
	if (s->want_write)
		s->want_write(s->want_opaque, on);
}

static void free_out(struct qmp_out *o)
{
	if (o->owner)
		*o->owner = NULL;
	free(o->buf);
	free(o);
}

int qmp_sendq_push(struct qmp_sendq *s, char *line, size_t len,
		   struct qmp_out **owner)
{
	struct qmp_out *o = calloc(1, sizeof(*o));

	if (!o) {
		free(line);
		return -ENOMEM;
	}
	o->buf = line;
	o->len = len;
	o->owner = owner;
	*owner = o;
	*s->tail = o;
	s->tail = &o->next;
	return 0;
}

void qmp_sendq_drop(struct qmp_sendq *s)
{
	struct qmp_out *o, *next;

	for (o = s->head; o; o = next) {
		next = o->next;
		free_out(o);
	}
	s->head = NULL;
	s->tail = &s->head;
	set_want(s, false);
}

int qmp_sendq_flush(struct qmp_sendq *s, int fd)
{
	struct qmp_out *o;

	while ((o = s->head) != NULL) {
		ssize_t n = send(fd, o->buf + o->off, o->len - o->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -1;
		o->off += (size_t)n;
		if (o->off < o->len)
			continue;
		s->head = o->next;
		if (!s->head)
			s->tail = &s->head;
		free_out(o);
	}
	set_want(s, s->head != NULL);
	return 0;
}

bool qmp_sendq_give_up(struct qmp_sendq *s, struct qmp_out **owner)
{
	struct qmp_out *o = *owner, **pp;

	if (!o)
		return false;         /* sent whole already */
	o->owner = NULL;
	*owner = NULL;
	if (o->off > 0)
		return false;
	for (pp = &s->head; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			if (s->tail == &o->next)
				s->tail = pp;
			free_out(o);
			break;
		}
	}
	set_want(s, s->head != NULL);
	return true;
}

void qmp_sendq_set_hook(struct qmp_sendq *s, qmp_want_write_fn fn,
			void *opaque)
{
	s->want_write = fn;
	s->want_opaque = opaque;
	if (fn && s->wants)
		fn(opaque, true);
}

size_t qmp_sendq_pending(const struct qmp_sendq *s)
{
	size_t n = 0;

	for (const struct qmp_out *o = s->head; o; o = o->next)
		n += o->len - o->off;
	return n;
}
