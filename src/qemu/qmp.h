/* qmp.h - a QMP client: one connection to one QEMU's control socket.
 *
 * The connection does not read by itself: whoever owns the socket (the
 * core's I/O loop, or a test) calls qmp_on_readable() when the fd is
 * readable. Any number of threads may call qmp_execute() at once; each
 * request gets its own id, and waits, with a deadline, for the reply that
 * carries that id. Events (also those that arrive before the greeting or
 * between a request and its reply) go to the event callback, in order,
 * from the thread that calls qmp_on_readable().
 *
 * A line longer than QMP_MAX_LINE bytes is discarded up to its newline and
 * counted as garbage; the connection stays usable. Such a line, or one
 * that is not JSON, is taken for the reply to the oldest request still
 * owed one (QEMU answers in order, qmp.c): that request fails at once
 * with -EIO (err class "BadReply"). Integers beyond INT64_MAX are no
 * reason to fail: they arrive exact, as core/bignum.h big numbers.
 *
 * Requests are queued as whole lines and sent without blocking. What the
 * socket does not take at once (a big qom-set: QEMU reads its monitor a
 * byte per main-loop turn, some 150 KB/s) the owner sends when the socket
 * is writable: the watch hook says when to watch for that, and the owner
 * calls qmp_on_writable(). A line once started is always sent whole, also
 * after its requester timed out (its late reply is dropped by id), so a
 * timeout never breaks the stream; a line of which nothing was sent by
 * the deadline is withdrawn and never runs.
 */
#ifndef EMUFS_QMP_H
#define EMUFS_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* QMP_MAX_LINE, struct qmp_error, qmp_errno_for(): the wire format. */
#include "qmp_reply.h"
#include "qmp_sendq.h"
#include "qmp_wire.h"

struct qmp;

/* Takes ownership of fd (a connected stream socket) on success; on failure
 * (NULL) the fd is still the caller's to close. Sets it non-blocking and
 * close-on-exec. */
struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *opaque);
/* Closes the fd. No thread may be inside qmp_execute() any more. */
void qmp_free(struct qmp *q);
int qmp_fd(const struct qmp *q);

/* qmp_on_readable(), the reply side's entry: qmp_reply.h. */

/* The watch hook: how the owner should watch the fd. read: watch for
 * readability and call qmp_on_readable(); false while a requester reads
 * its own reply from the socket (see below), when a wake-up of the loop
 * would be for nothing. write: watch for writability and call
 * qmp_on_writable() (a line waits for room in the socket). Called with
 * q's lock held, from any thread, only on a change; it must not block or
 * call into q. Clearing the hook (fn NULL) waits for a call in progress,
 * so the owner clears it before it stops watching. Without a hook, a
 * requester sends its own line, waiting for the socket until its
 * deadline, and never reads the socket itself.
 *
 * With a hook, a requester that is the only one waiting on the
 * connection (no other request in flight, nobody reading, no partial
 * line buffered) sends its line and reads its reply itself: one thread
 * hop less. It takes only whole reply lines from the socket (any reply,
 * by id); at anything else (an event, a partial line, EOF) it hands the
 * socket back to the owner's loop and waits for the reply as any other
 * requester, so events are delivered from the loop, in order, as ever. */
typedef void (*qmp_watch_fn)(void *opaque, bool read, bool write);
void qmp_set_watch_hook(struct qmp *q, qmp_watch_fn fn, void *opaque);

/* Ordered: emufs's own commands go out without an "id", and a reply
 * without one answers the oldest command still owed a reply (QEMU
 * answers in order: qmp.c's head comment). QEMU's monitor reads a
 * command a byte per main-loop turn, ~5 us of its CPU a byte here, so
 * the 8-12 bytes of an id were a tenth of a property read's round trip
 * (docs/performance.md). A qmp_execute_raw() command keeps an id of
 * ours. For a peer that answers in order (QEMU); set before the first
 * command. Default: every command carries an id. */
void qmp_set_ordered(struct qmp *q);
/* Send what the socket takes of the queued lines. 0, or -1 when dead. */
int qmp_on_writable(struct qmp *q);
/* Bytes queued and not sent yet (for the tests). */
size_t qmp_output_pending(struct qmp *q);
/* Mark the connection dead from outside (e.g. the emulator exited); also
 * shuts the socket down, so a reader polling it sees EOF. */
void qmp_shutdown(struct qmp *q);
bool qmp_is_dead(const struct qmp *q);

/* Wait for the greeting, then negotiate with qmp_capabilities. */
int qmp_handshake(struct qmp *q, int timeout_ms);

/* Run one command and wait at most timeout_ms for its reply.
 * args: borrowed, may be NULL. On success returns 0 and, if ret is not
 * NULL, *ret holds a new reference to the "return" value. On failure
 * returns -errno: the error class mapped by qmp_errno_for() for a
 * QMP error, -ETIMEDOUT when no reply came in time, -EIO when the
 * connection broke or the reply could not be parsed, -EFBIG when the command is over QMP_MAX_LINE as a
 * line (QEMU could not take it, and we could not read its reply); err
 * (may be NULL) says which. */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		int timeout_ms, json_t **ret, struct qmp_error *err);

/* The same in two halves, so that one thread can have a request out on
 * many connections at once and wait for the slowest, not the sum:
 * qmp_send queues the command (args borrowed) and returns at once;
 * qmp_collect waits for its reply until timeout_ms after the send, gives
 * what qmp_execute would, and frees the call. NULL only when out of
 * memory; a send that failed reports its error at the collect. Every call
 * must be collected, before qmp_free. */
struct qmp_call;
struct qmp_call *qmp_send(struct qmp *q, const char *cmd, json_t *args,
			  int timeout_ms);
int qmp_collect(struct qmp_call *c, json_t **ret, struct qmp_error *err);

/* Send a command whose reply may never come (quit): succeeds when the
 * reply or EOF arrives within timeout_ms (an error reply maps like
 * qmp_execute; -EIO if the connection was dead before sending). */
int qmp_execute_final(struct qmp *q, const char *cmd, int timeout_ms);

/* Raw: send a client's JSON command object with emufs's own id and wait
 * for its reply; *reply_line gets the reply as a compact JSON line ending
 * in "\n", with the client's original id put back (or no id if it had
 * none). Caller frees. A QMP error reply is a reply: returns 0 with the
 * error object in the line. cmd is not modified. -EINVAL when cmd is not
 * an object with a string "execute"; -ETIMEDOUT, -EIO as qmp_execute. */
int qmp_execute_raw(struct qmp *q, json_t *cmd, int timeout_ms,
		    char **reply_line);

/* Counters for the log and the tests. Garbage: lines that are not JSON
 * objects, objects that are no QMP message, over-long lines. Unmatched:
 * replies with a missing or unknown id (late replies after a timeout,
 * errors QEMU sends without id for input it could not parse). */
size_t qmp_garbage_lines(const struct qmp *q);
size_t qmp_unmatched_replies(const struct qmp *q);

#endif
