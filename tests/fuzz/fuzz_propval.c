/* fuzz_propval.c - libFuzzer target for property values (propval.c).
 *
 * Feeds: byte 0 picks the property's declared type (types[] below: every
 * row of propval.c's table, plus QOM types it does not know, plus NULL);
 * the rest is the text a user wrote to the property file. The text also
 * goes to propval_parse_bool() as is.
 *
 * Beyond "no crash, no UB" it checks:
 *  - a refusal (NULL) always comes with a reason: NUL-terminated, non-empty,
 *    inside the caller's buffer (also a tiny one);
 *  - bool: propval_parse("bool") accepts exactly what propval_parse_bool()
 *    does, i.e. true false 1 0 on off yes no in any case, less one trailing
 *    "\n" or "\r\n"; the value formats as "true\n"/"false\n", which parses
 *    back to the same value;
 *  - integers: accepted exactly when the text (less one trailing newline)
 *    is [+-]?(digits|0x hexdigits), under 64 bytes, within the type's
 *    range (a model computes the value; "-0" for an unsigned type may go
 *    either way);
 *    the value is the model's, and format then parse gives it back;
 *  - number: format then parse gives the same double, bit for bit;
 *  - str/string: the value is the text less one trailing "\n" or "\r\n"
 *    (propval.c: "one trailing newline (and a CR before it)"); a value
 *    that does not end in CR formats and parses back to itself;
 *  - other types: an array or object formats to one line of JSON that
 *    parses back to an equal value;
 *  - propval_format() of any parsed value ends in "\n".
 */
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bignum.h"
#include "core/propval.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_propval: invariant failed: " \
				"%s (%s:%d)\n", #cond, __FILE__, __LINE__);\
			abort();                                           \
		}                                                          \
	} while (0)

enum kind { K_BOOL, K_INT, K_NUMBER, K_STR, K_OTHER };

static const struct {
	const char *type;
	enum kind kind;
	long long min;
	unsigned long long max;
} types[] = {
	{ "bool", K_BOOL, 0, 0 },                            /* 0 */
	{ "int", K_INT, LLONG_MIN, LLONG_MAX },
	{ "int8", K_INT, INT8_MIN, INT8_MAX },
	{ "int16", K_INT, INT16_MIN, INT16_MAX },
	{ "int32", K_INT, INT32_MIN, INT32_MAX },
	{ "int64", K_INT, LLONG_MIN, LLONG_MAX },            /* 5 */
	{ "uint8", K_INT, 0, UINT8_MAX },
	{ "uint16", K_INT, 0, UINT16_MAX },
	{ "uint32", K_INT, 0, UINT32_MAX },
	{ "uint64", K_INT, 0, ULLONG_MAX },   /* bignum.h past LLONG_MAX */
	{ "size", K_INT, 0, ULLONG_MAX },                    /* 10 */
	{ "number", K_NUMBER, 0, 0 },
	{ "str", K_STR, 0, 0 },
	{ "string", K_STR, 0, 0 },
	{ "OnOffAuto", K_OTHER, 0, 0 },
	{ "link<sysbus-device>", K_OTHER, 0, 0 },            /* 15 */
	{ "", K_OTHER, 0, 0 },
	{ NULL, K_OTHER, 0, 0 },
};

#define NTYPES (sizeof types / sizeof *types)

/* Length of text less one "\n" or "\r\n" at its end. */
static size_t less_newline(const char *text, size_t len)
{
	if (len && text[len - 1] == '\n') {
		len--;
		if (len && text[len - 1] == '\r')
			len--;
	}
	return len;
}

/* The integer model: 1 and *v when in range, 0 when out of range, -1 when
 * not an integer at all; 2 for "-0" (any zero) of an unsigned type. */
static int model_int(const char *t, size_t n, long long min,
		     unsigned long long max, long long *v,
		     unsigned long long *u)
{
	bool neg = false;
	unsigned base = 10;
	unsigned __int128 mag = 0;
	size_t i = 0, digits = 0;

	if (n >= 64)
		return -1;  /* propval.c's bound on the text: leading zeros */
	if (i < n && (t[i] == '+' || t[i] == '-'))
		neg = t[i++] == '-';
	if (i + 1 < n && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	for (; i < n; i++, digits++) {
		int d;

		if (t[i] >= '0' && t[i] <= '9')
			d = t[i] - '0';
		else if (base == 16 && isxdigit((unsigned char)t[i]))
			d = tolower((unsigned char)t[i]) - 'a' + 10;
		else
			return -1;
		if (mag <= (unsigned __int128)ULLONG_MAX * 2)
			mag = mag * base + (unsigned)d;
	}
	if (!digits)
		return -1;
	if (neg && mag == 0 && min >= 0)
		return 2;
	if (neg ? mag > (unsigned __int128)-(__int128)min : mag > max)
		return 0;
	*v = neg ? (long long)-(__int128)mag : (long long)mag;
	*u = neg ? 0 : (unsigned long long)mag;
	return 1;
}

/* propval_parse with a reason buffer of exactly whylen heap bytes. */
static json_t *parse(const char *type, const char *text, size_t len,
		     size_t whylen)
{
	char *why = malloc(whylen);
	json_t *v;

	CHECK(why);
	memset(why, 'X', whylen);
	v = propval_parse(type, text, len, why, whylen);
	if (!v) {
		CHECK(memchr(why, '\0', whylen));
		CHECK(whylen == 1 || why[0]);
	}
	free(why);
	return v;
}

/* propval_format, checking it ends in '\n' (a string value may hold NUL
 * bytes, so its length comes from the value). */
static char *format(const json_t *v)
{
	char *s = propval_format(v);
	size_t n;

	CHECK(s);
	n = json_is_string(v) && !bignum_digits(v) ? json_string_length(v) + 1
						    : strlen(s);
	CHECK(n > 0 && s[n - 1] == '\n' && s[n] == '\0');
	return s;
}

static void check_bool(const char *text, size_t len, json_t *v)
{
	int b, again;
	int rc = propval_parse_bool(text, len, &b);
	char *s;

	CHECK((v != NULL) == (rc == 0));
	if (!v)
		return;
	CHECK(json_is_boolean(v) && json_is_true(v) == (b == 1));
	s = format(v);
	CHECK(!strcmp(s, b ? "true\n" : "false\n"));
	CHECK(propval_parse_bool(s, strlen(s), &again) == 0 && again == b);
	free(s);
}

static void check_int(int t, const char *text, size_t len, json_t *v)
{
	long long want = 0;
	unsigned long long uwant = 0;
	size_t n = less_newline(text, len);
	int m = model_int(text, n, types[t].min, types[t].max, &want,
			  &uwant);
	json_t *back;
	char *s;

	if (m == 2) {
		CHECK(!v || (json_is_integer(v) && json_integer_value(v) == 0));
		return;
	}
	CHECK((v != NULL) == (m == 1));
	if (!v)
		return;
	if (uwant > LLONG_MAX)   /* a big number, exact */
		CHECK(bignum_digits(v) &&
		      strtoull(bignum_digits(v), NULL, 10) == uwant);
	else
		CHECK(json_is_integer(v) && json_integer_value(v) == want);
	s = format(v);
	back = parse(types[t].type, s, strlen(s), 128);
	CHECK(back && json_equal(back, v));
	json_decref(back);
	free(s);
}

static void check_number(const char *text, size_t len, json_t *v)
{
	json_t *back;
	double a, b;
	char *s;

	if (!v)
		return;
	CHECK(json_is_real(v));
	s = format(v);
	back = parse("number", s, strlen(s), 128);
	CHECK(back && json_is_real(back));
	a = json_real_value(v);
	b = json_real_value(back);
	CHECK(!memcmp(&a, &b, sizeof a));
	json_decref(back);
	free(s);
}

static void check_str(int t, const char *text, size_t len, json_t *v)
{
	size_t n = less_newline(text, len);
	json_t *back;
	size_t vn;
	char *s;

	if (!v)
		return;
	CHECK(json_is_string(v));
	vn = json_string_length(v);
	CHECK(vn == n && !memcmp(json_string_value(v), text, n));
	if (vn && json_string_value(v)[vn - 1] == '\r')
		return;
	s = format(v);
	back = parse(types[t].type, s, vn + 1, 128);
	CHECK(back && json_equal(back, v));
	json_decref(back);
	free(s);
}

static void check_other(int t, json_t *v)
{
	json_t *back;
	char *s;

	if (!json_is_array(v) && !json_is_object(v))
		return;
	s = format(v);
	CHECK(!memchr(s, '\n', strlen(s) - 1));
	back = parse(types[t].type, s, strlen(s), 128);
	CHECK(back && json_equal(back, v));
	json_decref(back);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int t;
	char *text;
	size_t len;
	json_t *v, *tiny;
	int b;

	if (size == 0)
		return 0;
	t = data[0] % NTYPES;
	len = size - 1;
	text = malloc(len ? len : 1);  /* exactly len: reads past are ASan's */
	CHECK(text);
	memcpy(text, data + 1, len);

	(void)propval_parse_bool(text, len, &b);
	v = parse(types[t].type, text, len, 128);
	tiny = parse(types[t].type, text, len, 1 + len % 8);
	CHECK((v == NULL) == (tiny == NULL));
	if (v)
		free(format(v));
	switch (types[t].kind) {
	case K_BOOL:   check_bool(text, len, v); break;
	case K_INT:    check_int(t, text, len, v); break;
	case K_NUMBER: check_number(text, len, v); break;
	case K_STR:    check_str(t, text, len, v); break;
	case K_OTHER:  if (v) check_other(t, v); break;
	}
	json_decref(tiny);
	json_decref(v);
	free(text);
	return 0;
}
