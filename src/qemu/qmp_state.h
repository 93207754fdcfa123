/* qmp_state.h - the inside of a QMP connection, shared by the request side
 * (qmp.c) and the reply side (qmp_reply.c); nothing else includes it.
 * The threading rules are in qmp.c's head comment. */
#ifndef EMUFS_QEMU_QMP_STATE_H
#define EMUFS_QEMU_QMP_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "qmp_sendq.h"
#include "qmp_wire.h"

/* What one qmp_on_readable() reads at most before it returns to the I/O
 * loop, so that one QEMU flooding events cannot hold the loop from every
 * other instance; level-triggered epoll calls it again for the rest. */
#define QMP_READ_BUDGET QMP_LINES_CHUNK

/* A request waiting for its reply; lives on the waiting thread's stack and
 * is linked into q->pending until completed or given up. */
struct qmp_pending {
	int64_t id;
	bool done;               /* reply arrived or connection died */
	bool unreadable;         /* done: its reply came but could not be
				  * parsed (reply is NULL) */
	json_t *reply;           /* the whole reply object; NULL if it died */
	struct qmp_out *out;     /* its line while not wholly sent, or NULL */
	struct qmp_pending *next;
};

/* Who reads the socket now (q->reader). The owner's loop reads from
 * qmp_on_readable(); a requester that is the only one waiting reads its
 * own reply from the socket (qmp_read_own_reply) with the loop's watch of
 * the fd suspended meanwhile. Never both at once. */
enum qmp_reader {
	QMP_READER_NONE,
	QMP_READER_LOOP,         /* a thread inside qmp_on_readable() */
	QMP_READER_DIRECT,       /* a requester reading its own reply */
};

struct qmp {
	int fd;
	qmp_event_fn on_event;
	void *opaque;

	/* Reader state: touched only by the thread that q->reader names
	 * (taken and given back under q->lock, which orders the hand-over),
	 * or by a thread inside qmp_on_readable() without an owner's watch
	 * hook (tests, the fuzzer). */
	struct qmp_lines in;
	bool unflushed;          /* events delivered since the last flush */

	/* Protects greeted, reader, the watch hook and what it was told,
	 * next_id, ordered, the pending list, the owed ids, wake_owed and the send
	 * queue; every send() on the socket happens under it, so lines
	 * never interleave. dead is written only under it (and read without
	 * it through the atomic). */
	pthread_mutex_t lock;
	pthread_cond_t reply_cond;   /* a slot completed, greeting, death,
				      * a line went out */
	bool greeted;
	enum qmp_reader reader;
	/* The owner's watch hook (qmp_watch_fn of qmp.h, spelt out so that
	 * this header does not include qmp.h, whose module includes it), or
	 * NULL. */
	void (*watch)(void *opaque, bool read, bool write);
	void *watch_opaque;
	bool want_write;             /* what the send queue last asked */
	bool told_read, told_write;  /* what the hook was last told */
	struct qmp_sendq out;
	int64_t next_id;
	bool ordered;            /* own commands without ids (qmp.h) */
	struct qmp_pending *pending;
	int64_t *owed;           /* ids sent and not answered, oldest first */
	size_t nowed, owed_cap;
	atomic_bool dead;
	bool wake_owed;              /* died: wake everyone at qmp_unlock() */

	atomic_size_t garbage;
	atomic_size_t unmatched;
};

/* Tell the owner's watch hook what to watch, if that changed: writability
 * while the send queue asks, readability unless a requester reads its
 * own reply. Called with q->lock held. */
void qmp_watch_update_locked(struct qmp *q);

/* The lone requester of slot, holding q->reader == QMP_READER_DIRECT,
 * reads its reply from the socket itself until slot is done or dl; on
 * anything but a whole reply line (an event, a partial line, EOF) it
 * stops and leaves the rest to the loop. Gives the reader role back and
 * resumes the loop's watch either way; the caller then await()s. */
void qmp_read_own_reply(struct qmp *q, struct qmp_pending *slot,
			const struct timespec *dl);

/* Called with q->lock held: fail every waiting request. The waiters are
 * woken by the qmp_unlock() that must end that critical section, after
 * the lock is dropped, so none of them blocks on it at once. */
void qmp_die_locked(struct qmp *q);
/* Drop q->lock, then wake the waiters if the connection died meanwhile. */
void qmp_unlock(struct qmp *q);

/* The waiting slot of id, taken off the pending list, or NULL when its
 * requester gave up. Called with q->lock held. */
struct qmp_pending *qmp_take_pending_locked(struct qmp *q, int64_t id);

/* A reply to id came, or its line never went out: id is no longer owed.
 * Called with q->lock held. */
void qmp_answered_locked(struct qmp *q, int64_t id);
/* The oldest id owed a reply into *id, which a reply without an id
 * answers (QEMU answers in order, qmp.c); false when none is owed.
 * Called with q->lock held. */
bool qmp_oldest_owed_locked(const struct qmp *q, int64_t *id);

#endif
