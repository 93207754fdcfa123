/* qmp_wire.c - the QMP wire format: line framing, command and reply
 * lines, error classes to errno (see qmp_wire.h).
 *
 * Stateless but for the caller's qmp_lines buffer: who reads the socket,
 * who waits for which reply and until when is qmp.c's business.
 */
#include "qmp_wire.h"

#include "core/bignum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- framing ---------------------------------------------------------- */

char *qmp_lines_space(struct qmp_lines *l, size_t *room)
{
	size_t want = l->len + QMP_LINES_MIN;
	size_t cap = l->cap ? l->cap : QMP_LINES_MIN;
	char *nb;

	if (l->cap < want) {
		while (cap < want)
			cap *= 2;
		nb = realloc(l->buf, cap);
		if (!nb)
			return NULL;
		l->buf = nb;
		l->cap = cap;
	}
	*room = l->cap - l->len < QMP_LINES_CHUNK ? l->cap - l->len
						  : QMP_LINES_CHUNK;
	return l->buf + l->len;
}

void qmp_lines_add(struct qmp_lines *l, size_t n)
{
	l->len += n;
}

enum qmp_line_kind qmp_lines_next(struct qmp_lines *l, char **line,
				  size_t *n)
{
	char *nl = l->scanned < l->len
		   ? memchr(l->buf + l->scanned, '\n', l->len - l->scanned)
		   : NULL;

	if (nl) {
		size_t end = (size_t)(nl - l->buf), from = l->start;

		*nl = '\0';
		l->start = l->scanned = end + 1;
		if (l->discarding) {          /* the end of an over-long line */
			l->discarding = false;
			return QMP_LINE_DROPPED;
		}
		*line = l->buf + from;
		*n = end - from;
		/* Every CR that ends it, not one: what is left is handed
		 * out as an event's raw line, which qmp.h promises holds no
		 * CR/LF (tests/fuzz/crashes/qmp-event-line-two-cr). */
		while (*n > 0 && (*line)[*n - 1] == '\r')
			(*line)[--*n] = '\0';
		return *n > QMP_MAX_LINE ? QMP_LINE_DROPPED : QMP_LINE;
	}
	/* No whole line left: keep the partial tail, at the front. */
	if (l->discarding) {
		l->len = l->scanned = l->start = 0;
		return QMP_LINE_NONE;
	}
	if (l->start > 0)
		memmove(l->buf, l->buf + l->start, l->len - l->start);
	l->len -= l->start;
	l->start = 0;
	l->scanned = l->len;
	if (l->len > QMP_MAX_LINE) {  /* too long already: drop to its end */
		l->discarding = true;
		l->len = l->scanned = 0;
	}
	return QMP_LINE_NONE;
}

bool qmp_lines_empty(const struct qmp_lines *l)
{
	return l->len == l->start && !l->discarding;
}

bool qmp_lines_reset(struct qmp_lines *l)
{
	bool cut = l->len > l->start && !l->discarding;

	l->len = l->scanned = l->start = 0;
	return cut;
}

void qmp_lines_free(struct qmp_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

/* ---- messages --------------------------------------------------------- */

enum qmp_msg_kind qmp_wire_parse(const char *line, size_t n, json_t **msg)
{
	/* Integers past INT64_MAX (uint64 properties) stay exact as big
	 * numbers (bignum.h); jansson alone would refuse the whole line. */
	json_t *m = bignum_loadb(line, n, JSON_DECODE_ANY, NULL);
	enum qmp_msg_kind kind = QMP_MSG_GARBAGE;

	if (!m)   /* a blank line is no reply QEMU could have sent */
		kind = strspn(line, " \t") == n ? QMP_MSG_GARBAGE
						: QMP_MSG_UNREADABLE;
	else if (!json_is_object(m))
		kind = QMP_MSG_GARBAGE;
	else if (json_object_get(m, "QMP"))
		kind = QMP_MSG_GREETING;
	else if (json_is_string(json_object_get(m, "event")))
		kind = QMP_MSG_EVENT;
	else if (json_object_get(m, "return") || json_object_get(m, "error"))
		kind = QMP_MSG_REPLY;
	if (kind == QMP_MSG_GARBAGE || kind == QMP_MSG_UNREADABLE) {
		json_decref(m);
		m = NULL;
	}
	*msg = m;
	return kind;
}

bool qmp_wire_reply_id(const json_t *reply, int64_t *id)
{
	json_t *v = json_object_get(reply, "id");

	if (!json_is_integer(v))
		return false;
	*id = json_integer_value(v);
	return true;
}

json_t *qmp_wire_command(const char *cmd, json_t *args)
{
	json_t *msg = json_pack("{ss}", "execute", cmd);

	if (msg && args && json_object_set(msg, "arguments", args) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

char *qmp_wire_dump_line(const json_t *v, size_t *len)
{
	char *text = bignum_dumps(v, JSON_COMPACT), *line;
	size_t n;

	if (!text)
		return NULL;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return line;
}

/* QEMU's JSON parser refuses Unicode noncharacters (U+FDD0..U+FDEF and
 * U+xFFFE, U+xFFFF of every plane) with an error that carries no id, so
 * no request could ever match it and the caller would wait out its whole
 * timeout. Find them before sending (the line is UTF-8, unescaped). */
static bool has_noncharacter(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i + 2 < n; i++) {
		if (u[i] == 0xEF && u[i + 1] == 0xB7 && u[i + 2] >= 0x90 &&
		    u[i + 2] <= 0xAF)
			return true;             /* U+FDD0..U+FDEF */
		if (u[i] == 0xEF && u[i + 1] == 0xBF &&
		    (u[i + 2] == 0xBE || u[i + 2] == 0xBF))
			return true;             /* U+FFFE, U+FFFF */
		if (u[i] >= 0xF0 && u[i] <= 0xF4 && i + 3 < n &&
		    (u[i + 1] & 0x0F) == 0x0F && u[i + 2] == 0xBF &&
		    (u[i + 3] == 0xBE || u[i + 3] == 0xBF))
			return true;             /* U+xFFFE, U+xFFFF */
	}
	return false;
}

int qmp_wire_command_line(json_t *msg, int64_t id, char **line, size_t *len)
{
	char *text;

	*line = NULL;
	if (id >= 0 && json_object_set_new(msg, "id", json_integer(id)) < 0)
		return -ENOMEM;
	text = qmp_wire_dump_line(msg, len);
	if (!text)
		return -ENOMEM;
	if (has_noncharacter(text, *len)) {
		free(text);
		return -EILSEQ;
	}
	if (*len > QMP_MAX_LINE) {
		free(text);
		return -EFBIG;
	}
	*line = text;
	return 0;
}

char *qmp_wire_reply_line(json_t *reply, json_t *client_id)
{
	int rc = client_id ? json_object_set(reply, "id", client_id)
			   : json_object_del(reply, "id");

	return rc == 0 ? qmp_wire_dump_line(reply, NULL) : NULL;
}

/* ---- errors ----------------------------------------------------------- */

void qmp_wire_set_error(struct qmp_error *err, const char *cls,
			const char *desc)
{
	if (!err)
		return;
	snprintf(err->cls, sizeof(err->cls), "%s", cls ? cls : "");
	snprintf(err->desc, sizeof(err->desc), "%s", desc ? desc : "");
}

/* QMP's error classes (qapi/error.json), first those that mean something
 * else in a reply to one command (cmd set), then the general ones.
 * "Not writable" (qom-set on a read-only property) arrives as
 * GenericError with desc "Insufficient permission to perform this
 * operation" or "Property '...' is not writable": the props layer
 * decides EACCES by looking at the property, desc is never parsed. */
static const struct {
	const char *cmd;           /* NULL: a reply to any command */
	const char *cls;
	int err;
} qmp_class_errno[] = {
	/* A path QOM does not know: DeviceNotFound, or for a path that is
	 * no object (a property), GenericError. */
	{ "qom-list", "GenericError",    ENOENT },
	{ NULL,       "GenericError",    EINVAL },
	{ NULL,       "CommandNotFound", EINVAL },
	{ NULL,       "DeviceNotFound",  ENOENT },
	/* e.g. balloon/KVM not there: the thing exists as a name only. */
	{ NULL,       "DeviceNotActive", ENODEV },
	{ NULL,       "KVMMissingCap",   EIO },
};

int qmp_errno_for(const char *cmd, const char *cls)
{
	size_t i;

	if (!cls)
		return EIO;
	for (i = 0; i < sizeof(qmp_class_errno) / sizeof(qmp_class_errno[0]);
	     i++) {
		const char *c = qmp_class_errno[i].cmd;

		if (c && (!cmd || strcmp(c, cmd) != 0))
			continue;
		if (strcmp(cls, qmp_class_errno[i].cls) == 0)
			return qmp_class_errno[i].err;
	}
	return EIO;
}

int qmp_errno_for_class(const char *cls)
{
	return qmp_errno_for(NULL, cls);
}

int qmp_wire_result(const char *cmd, json_t *reply, json_t **ret,
		    struct qmp_error *err)
{
	json_t *e = json_object_get(reply, "error");

	if (e) {
		const char *cls = json_string_value(json_object_get(e, "class"));
		const char *desc = json_string_value(json_object_get(e, "desc"));

		qmp_wire_set_error(err, cls ? cls : "GenericError", desc);
		return -qmp_errno_for(cmd, cls);
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	return 0;
}
