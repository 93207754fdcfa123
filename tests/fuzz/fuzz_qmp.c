/* fuzz_qmp.c - libFuzzer target for the QMP stream parser (qmp.c).
 *
 * Feeds: the input as what QEMU sends on the control socket. A connection
 * is made with qmp_new() on one end of a socketpair; the input is written
 * to the other end and qmp_on_readable() is called as the I/O loop would,
 * then the "QEMU" end is closed so that the reader sees EOF.
 *
 * Each input is fed in writes as large as the socket takes, then again in
 * small writes with a qmp_on_readable() after each: one byte per write for
 * inputs up to BYTEWISE_MAX bytes, else 1 to 8 bytes per write (sizes
 * drawn from the input, so a crash replays), which cuts lines at as many
 * places at a fraction of the system calls. Beyond "no crash, no leak, no
 * UB" it checks:
 *  - both feedings deliver the same events (the same raw lines, in order)
 *    and count the same garbage lines and unmatched replies;
 *  - both agree with an independent line-by-line model of the stream:
 *    split at '\n', drop one '\r', a line cut by EOF is garbage, and each
 *    line is an event (an object with a string "event"), a greeting ("QMP"),
 *    a reply ("return" or "error"; none is awaited, so all are unmatched)
 *    or garbage;
 *  - every event line handed out holds no '\n' and ends in no '\r', and
 *    its parsed object has a string "event";
 *  - every qmp_on_readable() ends with a flush point (the event callback
 *    called with NULL) after the last event it delivered, so a caller that
 *    batches events never keeps one back;
 *  - after EOF qmp_on_readable() returns -1 (after some calls that return
 *    0: one call reads a bounded amount) and the connection is dead.
 * Inputs are far below QMP_MAX_LINE, so over-long lines are not reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"

#define BYTEWISE_MAX 512

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_qmp: invariant failed: %s "  \
				"(%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                           \
		}                                                          \
	} while (0)

struct events {
	char **lines;
	size_t n, cap;
	size_t flushed;          /* n at the last flush point */
};

struct outcome {
	struct events ev;
	size_t garbage, unmatched;
};

static void events_add(struct events *e, const char *line)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->lines = realloc(e->lines, e->cap * sizeof *e->lines);
		CHECK(e->lines);
	}
	e->lines[e->n] = strdup(line);
	CHECK(e->lines[e->n]);
	e->n++;
}

static void events_free(struct events *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
}

static void on_event(void *opaque, const char *line, json_t *event)
{
	size_t n;

	if (!line) {             /* a flush point */
		struct events *e = opaque;

		CHECK(!event);
		e->flushed = e->n;
		return;
	}
	n = strlen(line);
	CHECK(json_is_object(event));
	CHECK(json_is_string(json_object_get(event, "event")));
	CHECK(!strchr(line, '\n'));
	CHECK(n == 0 || line[n - 1] != '\r');
	events_add(opaque, line);
}

/* Writes as much of data as the socket takes, lets the client read, and
 * repeats. small: writes of 1 byte (short inputs) or 1 to 8 bytes. */
static void feed(const uint8_t *data, size_t size, bool small,
		 struct outcome *out)
{
	int sv[2];
	struct qmp *q;
	size_t off = 0;
	uint32_t rnd = 2166136261u;  /* FNV-1a of the input picks the sizes */

	for (size_t i = 0; i < size; i++)
		rnd = (rnd ^ data[i]) * 16777619u;

	memset(out, 0, sizeof *out);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	q = qmp_new(sv[0], on_event, &out->ev);
	CHECK(q);
	while (off < size) {
		size_t step = SIZE_MAX, want;
		ssize_t n;

		if (small && size <= BYTEWISE_MAX) {
			step = 1;
		} else if (small) {
			rnd = rnd * 1103515245u + 12345u;
			step = 1 + (rnd >> 16) % 8;
		}
		want = size - off < step ? size - off : step;
		n = write(sv[1], data + off, want);

		CHECK(n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)));
		if (n > 0)
			off += (size_t)n;
		CHECK(qmp_on_readable(q) == 0);
		CHECK(!qmp_is_dead(q));
		/* a read ends with every event it delivered flushed */
		CHECK(out->ev.flushed == out->ev.n);
	}
	close(sv[1]);
	/* A read takes a bounded amount: the rest comes at the next call. */
	for (int i = 0; i < 1000 && qmp_on_readable(q) == 0; i++)
		CHECK(out->ev.flushed == out->ev.n);
	CHECK(out->ev.flushed == out->ev.n);
	CHECK(qmp_is_dead(q));
	CHECK(qmp_on_readable(q) == -1);
	out->garbage = qmp_garbage_lines(q);
	out->unmatched = qmp_unmatched_replies(q);
	qmp_free(q);
}

/* The model: what each line of the stream should become. */
static void model(const uint8_t *data, size_t size, struct outcome *out)
{
	size_t start = 0;

	memset(out, 0, sizeof *out);
	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t n, end;
		json_t *msg;

		if (!nl) {
			out->garbage++;  /* cut by EOF */
			break;
		}
		end = (size_t)(nl - data);
		n = end - start;
		if (n > 0 && data[start + n - 1] == '\r')
			n--;
		msg = json_loadb((const char *)data + start, n, 0, NULL);
		if (!json_is_object(msg)) {
			out->garbage++;
		} else if (json_object_get(msg, "QMP")) {
			/* a greeting: no count of its own */
		} else if (json_is_string(json_object_get(msg, "event"))) {
			char *line = strndup((const char *)data + start, n);

			CHECK(line);
			events_add(&out->ev, line);
			free(line);
		} else if (json_object_get(msg, "return") ||
			   json_object_get(msg, "error")) {
			out->unmatched++;
		} else {
			out->garbage++;
		}
		json_decref(msg);
		start = end + 1;
	}
}

static void check_same(const struct outcome *a, const struct outcome *b)
{
	CHECK(a->garbage == b->garbage);
	CHECK(a->unmatched == b->unmatched);
	CHECK(a->ev.n == b->ev.n);
	for (size_t i = 0; i < a->ev.n; i++)
		CHECK(!strcmp(a->ev.lines[i], b->ev.lines[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces, expect;

	feed(data, size, false, &whole);
	feed(data, size, true, &pieces);
	model(data, size, &expect);
	check_same(&whole, &pieces);
	check_same(&whole, &expect);
	events_free(&whole.ev);
	events_free(&pieces.ev);
	events_free(&expect.ev);
	return 0;
}
