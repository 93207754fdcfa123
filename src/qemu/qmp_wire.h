/* qmp_wire.h - the QMP wire format: what goes over a QMP socket, and
 * nothing of who sends it when.
 *
 * Framing: QMP is one JSON object per line. qmp_lines cuts a byte stream
 * into lines (CR/LF stripped), discarding a line longer than QMP_MAX_LINE
 * up to its newline. Messages: a command line carries emufs's integer id;
 * a line read back is a greeting, an event, a reply or garbage. Errors: a
 * reply's error class becomes an errno in one table (qmp_errno_for).
 *
 * No state beyond a qmp_lines buffer, no threads, no sockets: the QMP
 * client (qmp.c) and the benchmark's raw baseline (bench/raw.c) both
 * frame with it, each reading its socket its own way.
 */
#ifndef EMUFS_QMP_WIRE_H
#define EMUFS_QMP_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line emufs sends or reads back. */
#define QMP_MAX_LINE (16u << 20)

/* What one read adds to a qmp_lines buffer at most, and the least room
 * the buffer offers a read: it starts small and doubles only when a line
 * needs it, so an idle connection holds a few KiB, not 64. */
#define QMP_LINES_CHUNK (64u * 1024)
#define QMP_LINES_MIN (4u * 1024)

/* ---- framing ---------------------------------------------------------- */

/* A byte stream being cut into lines; zero-initialised is empty. One
 * reader at a time. */
struct qmp_lines {
	char *buf;
	size_t len, cap;
	size_t start;            /* buf[0..start) was handed out as lines */
	size_t scanned;          /* buf[start..scanned) holds no '\n' */
	bool discarding;         /* inside an over-long line, dropping it */
};

enum qmp_line_kind {
	QMP_LINE_NONE,           /* no whole line left: read more */
	QMP_LINE,                /* *line, *n: one line */
	QMP_LINE_DROPPED,        /* an over-long line was discarded */
};

/* Room for one read at the end of the buffer, *room bytes (at least
 * QMP_LINES_MIN, at most QMP_LINES_CHUNK), or NULL when out of memory.
 * After the read, qmp_lines_add() the bytes it brought. */
char *qmp_lines_space(struct qmp_lines *l, size_t *room);
void qmp_lines_add(struct qmp_lines *l, size_t n);

/* The next whole line, without its CR/LF, NUL-terminated in place; valid
 * until the call that returns QMP_LINE_NONE (which keeps the partial tail
 * for the next read). */
enum qmp_line_kind qmp_lines_next(struct qmp_lines *l, char **line,
				  size_t *n);

/* Nothing buffered: no partial line, none being discarded. */
bool qmp_lines_empty(const struct qmp_lines *l);

/* Forget what is buffered (the stream ended); true when that cut a line
 * short (a partial line that was not already being discarded). */
bool qmp_lines_reset(struct qmp_lines *l);
void qmp_lines_free(struct qmp_lines *l);

/* ---- messages --------------------------------------------------------- */

/* An event as received: the raw line (no CR/LF) and its parsed object, both
 * borrowed for the call (json_incref to keep it). Runs on the thread inside
 * qmp_on_readable(), so it must not wait for a reply (no qmp_execute).
 * line and event NULL: a flush point; whatever the callback keeps of the
 * events so far (to write them in batches) must now be made visible: a
 * reply that came after them is about to wake its requester, or the read
 * ended. */
typedef void (*qmp_event_fn)(void *opaque, const char *line, json_t *event);

enum qmp_msg_kind {
	QMP_MSG_UNREADABLE,      /* not JSON at all (or out of memory) */
	QMP_MSG_GARBAGE,         /* JSON, but not an object or no QMP message */
	QMP_MSG_GREETING,        /* {"QMP": ...} */
	QMP_MSG_EVENT,           /* {"event": "NAME", ...} */
	QMP_MSG_REPLY,           /* {"return": ...} or {"error": ...} */
};

/* Parse one line; *msg gets the object (a new reference) unless it is
 * garbage or unreadable (then NULL). Integers outside jansson's range
 * come back as big numbers (core/bignum.h), exact. */
enum qmp_msg_kind qmp_wire_parse(const char *line, size_t n, json_t **msg);

/* The integer id of a reply, if it has one. */
bool qmp_wire_reply_id(const json_t *reply, int64_t *id);

/* {"execute": cmd, "arguments": args} (args borrowed, may be NULL), or
 * NULL when out of memory. */
json_t *qmp_wire_command(const char *cmd, json_t *args);

/* msg (an object) with "id": id set in it (none for id < 0), as one line
 * ending in "\n" (malloc'd, *len bytes). 0, -ENOMEM, -EILSEQ when it
 * holds Unicode noncharacters (QEMU refuses them without an id in its error, so no
 * reply would ever match), -EFBIG when the line is over QMP_MAX_LINE. */
int qmp_wire_command_line(json_t *msg, int64_t id, char **line, size_t *len);

/* v as compact JSON plus "\n" (malloc'd, *len bytes if len), or NULL;
 * big numbers are written as the bare numbers they hold. */
char *qmp_wire_dump_line(const json_t *v, size_t *len);

/* reply as a line with the client's id put back (client_id borrowed; no
 * "id" when NULL). reply is changed. NULL when out of memory. */
char *qmp_wire_reply_line(json_t *reply, json_t *client_id);

/* ---- errors ----------------------------------------------------------- */

/* Error of a failed request: QMP's class and desc, or emufs's own
 * ("Timeout", "Disconnected", ...) when the failure was local. */
struct qmp_error {
	char cls[64];
	char desc[256];
};

/* Fill err (may be NULL); NULL strings become "". */
void qmp_wire_set_error(struct qmp_error *err, const char *cls,
			const char *desc);

/* The one place QMP error classes become errno values: what class cls
 * means in a reply to cmd (NULL: to any command). */
int qmp_errno_for(const char *cmd, const char *cls);
/* The same for any command. */
int qmp_errno_for_class(const char *cls);

/* A reply to cmd as its result: 0 with *ret (a new reference to "return",
 * if ret is not NULL), or -qmp_errno_for(cmd, class) with err filled. */
int qmp_wire_result(const char *cmd, json_t *reply, json_t **ret,
		    struct qmp_error *err);

#endif
