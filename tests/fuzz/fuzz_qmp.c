/* fuzz_qmp.c - libFuzzer target for the QMP stream parser (qmp.c).
 *
 * Feeds: the input as what QEMU sends on the control socket, to a
 * connection made with qmp_new(); qmp_on_readable() is called as the I/O
 * loop would, until the input is consumed, then the "QEMU" end is closed
 * so that the reader sees EOF. Twice:
 *
 *  - whole: over a real socketpair, in writes as large as the socket
 *    takes; a handful of system calls, the kernel's path as it is;
 *  - in pieces: through a fake read(2) (this target links with
 *    -Wl,--wrap=read, so qmp_reply.c's read() calls fuzz_read() below; any
 *    other fd goes to the real read). Arrivals of one byte each for inputs
 *    up to BYTEWISE_MAX bytes, else of 1 to 8 bytes (sizes drawn from the
 *    input, so a crash replays); each read(2) returns at most what is left
 *    of the current arrival, sometimes less, and sometimes fails with
 *    EINTR first; between arrivals it fails with EAGAIN, which ends the
 *    qmp_on_readable() call. So every line is cut at every place, without
 *    two system calls per byte: the socket version of this feeding ran at
 *    about 340 inputs/s, this one at thousands (docs/reliability.md).
 *
 * Beyond "no crash, no leak, no UB" it checks:
 *  - both feedings deliver the same events (the same raw lines, in order)
 *    and count the same garbage lines and unmatched replies;
 *  - both agree with an independent line-by-line model of the stream:
 *    split at '\n', drop the '\r's that end a line (a line that ended in
 *    "\r\r\n" once kept one: tests/fuzz/crashes/qmp-event-line-two-cr),
 *    a line cut by EOF is garbage, and each
 *    line is an event (an object with a string "event"), a greeting ("QMP"),
 *    a reply ("return" or "error"; none is awaited, so all are unmatched)
 *    or garbage;
 *  - every event line handed out holds no '\n' and ends in no '\r', and
 *    its parsed object has a string "event";
 *  - every qmp_on_readable() ends with a flush point (the event callback
 *    called with NULL) after the last event it delivered, so a caller that
 *    batches events never keeps one back;
 *  - qmp_on_readable() takes everything offered (a call reads a bounded
 *    amount, but each call takes something), returns 0 while the peer is
 *    there, and after EOF returns -1 and the connection is dead.
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

#include "core/bignum.h"
#include "qemu/qmp.h"

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

/* Reads what the client has not read yet, then the EOF. */
static void finish(struct qmp *q, struct outcome *out)
{
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

/* Whole: writes as much of data as the real socket takes, lets the client
 * read, and repeats. */
static void feed_socket(const uint8_t *data, size_t size, struct outcome *out)
{
	int sv[2];
	struct qmp *q;
	size_t off = 0;

	memset(out, 0, sizeof *out);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	q = qmp_new(sv[0], on_event, &out->ev);
	CHECK(q);
	while (off < size) {
		ssize_t n = write(sv[1], data + off, size - off);

		CHECK(n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)));
		if (n > 0)
			off += (size_t)n;
		CHECK(qmp_on_readable(q) == 0);
		CHECK(!qmp_is_dead(q));
		/* a read ends with every event it delivered flushed */
		CHECK(out->ev.flushed == out->ev.n);
	}
	close(sv[1]);
	finish(q, out);
}

/* The fake socket of the feeding in pieces: bytes [off, arrived) of data
 * have arrived and are unread. Touched only by the fuzzing thread (fd is
 * -1 outside feed_pieces(), so libFuzzer's own reads pass through). */
static struct {
	int fd;
	const uint8_t *data;
	size_t off, arrived;
	bool eof;
	uint32_t rnd;
} fake = { .fd = -1 };

static uint32_t fake_next(void)
{
	fake.rnd = fake.rnd * 1103515245u + 12345u;
	return fake.rnd >> 8;
}

ssize_t __real_read(int fd, void *buf, size_t n);

/* qmp_reply.c's read(2) (-Wl,--wrap=read in mk/fuzz.mk). */
ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	size_t avail, give;
	uint32_t r;

	if (fd != fake.fd)
		return __real_read(fd, buf, n);
	avail = fake.arrived - fake.off;
	if (avail == 0) {
		if (fake.eof)
			return 0;
		errno = EAGAIN;
		return -1;
	}
	r = fake_next();
	if (r % 16 == 0) {
		errno = EINTR;  /* a signal came first */
		return -1;
	}
	give = avail < n ? avail : n;
	if (give > 1 && (r >> 4) % 4 == 0)
		give = 1 + (r >> 6) % give;  /* a short read */
	memcpy(buf, fake.data + fake.off, give);
	fake.off += give;
	return (ssize_t)give;
}

/* In pieces: arrivals of 1 byte (short inputs) or 1 to 8 bytes, each read
 * by as many qmp_on_readable() calls as it takes. */
static void feed_pieces(const uint8_t *data, size_t size, struct outcome *out)
{
	struct qmp *q;
	uint32_t rnd = 2166136261u;  /* FNV-1a of the input seeds the sizes */

	for (size_t i = 0; i < size; i++)
		rnd = (rnd ^ data[i]) * 16777619u;
	memset(out, 0, sizeof *out);
	fake.data = data;
	fake.off = fake.arrived = 0;
	fake.eof = false;
	fake.rnd = rnd;
	/* qmp_new() sets flags on its fd and qmp_free() closes it: a real
	 * one, never read (reads of it are fake). */
	fake.fd = open("/dev/null", O_RDONLY);
	CHECK(fake.fd >= 0);
	q = qmp_new(fake.fd, on_event, &out->ev);
	CHECK(q);
	while (fake.arrived < size) {
		size_t step = size <= BYTEWISE_MAX ? 1 : 1 + fake_next() % 8;

		fake.arrived += size - fake.arrived < step ?
				size - fake.arrived : step;
		while (fake.off < fake.arrived) {
			size_t before = fake.off;

			CHECK(qmp_on_readable(q) == 0);
			CHECK(!qmp_is_dead(q));
			CHECK(fake.off > before);
			/* a read ends with every event it delivered flushed */
			CHECK(out->ev.flushed == out->ev.n);
		}
	}
	fake.eof = true;
	finish(q, out);
	fake.fd = -1;
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
		while (n > 0 && data[start + n - 1] == '\r')
			n--;
		/* integers past long long are kept, not garbage */
		msg = bignum_loadb((const char *)data + start, n, 0, NULL);
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

	feed_socket(data, size, &whole);
	feed_pieces(data, size, &pieces);
	model(data, size, &expect);
	check_same(&whole, &pieces);
	check_same(&whole, &expect);
	events_free(&whole.ev);
	events_free(&pieces.ev);
	events_free(&expect.ev);
	return 0;
}
