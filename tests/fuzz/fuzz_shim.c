/* fuzz_shim.c - libFuzzer target for the GPIO shim line protocol (shim.c).
 *
 * Feeds: the input as the guest's output on a shim serial channel, to
 * shim_feed() three ways: in one piece, one byte at a time, and in pieces
 * whose sizes come from the bytes themselves; and each line to
 * shim_parse_line().
 *
 * Beyond "no crash, no UB" it checks:
 *  - shim_parse_line() accepts exactly "GPIO <1 to 6 digits> <0|1>" with an
 *    optional '\r' at the end, and yields that pin and level;
 *  - every '\n' ends one line: a valid line (at most SHIM_MAX_LINE bytes)
 *    yields exactly one level callback with its pin and level, any other
 *    line exactly one bad-line callback; `lines` and `bad` count them;
 *  - a bad-line callback gets the line's first bytes (at most
 *    SHIM_MAX_LINE of them);
 *  - how the bytes are cut into shim_feed() calls changes nothing;
 *  - shim_format_set() writes "SET <pin> <level>\n", NUL-terminated and cut
 *    to the buffer, and returns the untruncated length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/shim.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_shim: invariant failed: %s " \
				"(%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                           \
		}                                                          \
	} while (0)

/* One callback: level (pin, level) or bad (the line's first bytes). */
struct call {
	int bad;
	int pin, level;
	char line[SHIM_MAX_LINE];
	size_t len;
};

struct log {
	struct call *calls;
	size_t n, cap;
};

static struct call *log_add(struct log *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->calls = realloc(l->calls, l->cap * sizeof *l->calls);
		CHECK(l->calls);
	}
	memset(&l->calls[l->n], 0, sizeof *l->calls);
	return &l->calls[l->n++];
}

static void on_level(void *opaque, int pin, int level)
{
	struct call *c = log_add(opaque);

	c->pin = pin;
	c->level = level;
}

static void on_bad(void *opaque, const char *line, size_t len)
{
	struct call *c = log_add(opaque);

	CHECK(len <= SHIM_MAX_LINE);
	c->bad = 1;
	memcpy(c->line, line, len);
	c->len = len;
}

/* The grammar, written out independently of shim.c. */
static int model_line(const char *s, size_t n, int *pin, int *level)
{
	size_t i = 5, d = 0;
	int v = 0;

	if (n && s[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(s, "GPIO ", 5))
		return -1;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++)
		v = d < 6 ? v * 10 + (s[i] - '0') : v;
	if (d < 1 || d > 6 || i + 2 != n || s[i] != ' ' ||
	    (s[i + 1] != '0' && s[i + 1] != '1'))
		return -1;
	*pin = v;
	*level = s[i + 1] - '0';
	return 0;
}

static void check_format(int pin, int level, size_t cap)
{
	char want[32], *buf = malloc(cap ? cap : 1);
	int n, wn;

	CHECK(buf);
	wn = snprintf(want, sizeof want, "SET %d %d\n", pin, level);
	n = shim_format_set(buf, cap, pin, level);
	CHECK(n == wn);
	if (cap) {
		size_t k = (size_t)wn < cap ? (size_t)wn : cap - 1;
		CHECK(!memcmp(buf, want, k) && buf[k] == '\0');
	}
	free(buf);
}

/* What the parser must report for data, line by line. */
static void model(const char *data, size_t size, struct log *l,
		  unsigned long long *lines)
{
	size_t start = 0;

	*lines = 0;
	for (;;) {
		const char *nl = memchr(data + start, '\n', size - start);
		size_t n;
		int pin, level, rc, mrc;
		struct call *c;

		if (!nl)
			return;
		n = (size_t)(nl - (data + start));
		rc = shim_parse_line(data + start, n, &pin, &level);
		{
			int mpin = -1, mlevel = -1;

			mrc = model_line(data + start, n, &mpin, &mlevel);
			CHECK(rc == mrc);
			CHECK(rc || (pin == mpin && level == mlevel));
		}
		c = log_add(l);
		(*lines)++;
		if (rc == 0 && n <= SHIM_MAX_LINE) {
			c->pin = pin;
			c->level = level;
			check_format(pin, level, (size_t)(pin + n) % 20);
		} else {
			c->bad = 1;
			c->len = n < SHIM_MAX_LINE ? n : SHIM_MAX_LINE;
			memcpy(c->line, data + start, c->len);
		}
		start = n + 1 + start;
	}
}

static void feed(const char *data, size_t size, int how, struct log *l,
		 struct shim_parser *p)
{
	size_t off = 0;

	shim_init(p, on_level, on_bad, l);
	while (off < size) {
		size_t step;

		if (how == 0)
			step = size - off;
		else if (how == 1)
			step = 1;
		else
			step = 1 + (unsigned char)data[off] % 23;
		if (step > size - off)
			step = size - off;
		shim_feed(p, data + off, step);
		off += step;
	}
}

static void check_same(const struct log *a, const struct log *b)
{
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct call *x = &a->calls[i], *y = &b->calls[i];

		CHECK(x->bad == y->bad);
		if (x->bad)
			CHECK(x->len == y->len && !memcmp(x->line, y->line, x->len));
		else
			CHECK(x->pin == y->pin && x->level == y->level);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);  /* exactly size bytes */
	struct log want = { 0 };
	unsigned long long nlines, nbad = 0;

	CHECK(buf);
	memcpy(buf, data, size);
	model(buf, size, &want, &nlines);
	for (size_t i = 0; i < want.n; i++)
		nbad += (unsigned long long)want.calls[i].bad;
	for (int how = 0; how < 3; how++) {
		struct shim_parser p;
		struct log got = { 0 };

		feed(buf, size, how, &got, &p);
		check_same(&got, &want);
		CHECK(p.lines == nlines && p.bad == nbad);
		free(got.calls);
	}
	free(want.calls);
	free(buf);
	return 0;
}
