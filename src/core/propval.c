/* propval.c - formatting and parsing property values (see propval.h). */
#include "propval.h"

#include "bignum.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *propval_format(const json_t *v)
{
	char *out = NULL;
	switch (json_typeof(v)) {
	case JSON_TRUE:
		return strdup("true\n");
	case JSON_FALSE:
		return strdup("false\n");
	case JSON_INTEGER:
		if (asprintf(&out, "%" JSON_INTEGER_FORMAT "\n",
			     json_integer_value(v)) < 0)
			return NULL;
		return out;
	case JSON_REAL:
		if (asprintf(&out, "%.17g\n", json_real_value(v)) < 0)
			return NULL;
		return out;
	case JSON_STRING: {
		size_t n = json_string_length(v);
		const char *big = bignum_digits(v);
		if (big)
			return asprintf(&out, "%s\n", big) < 0 ? NULL : out;
		out = malloc(n + 2);
		if (!out)
			return NULL;
		memcpy(out, json_string_value(v), n);
		out[n] = '\n';
		out[n + 1] = '\0';
		return out;
	}
	default: {
		char *j = bignum_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!j || asprintf(&out, "%s\n", j) < 0)
			out = NULL;
		free(j);
		return out;
	}
	}
}

/* The text less one trailing newline (and a CR before it). */
static size_t trim_newline(const char *text, size_t len)
{
	if (len && text[len - 1] == '\n') {
		len--;
		if (len && text[len - 1] == '\r')
			len--;
	}
	return len;
}

static const struct bool_word {
	const char *word;
	int value;
} bool_words[] = {
	{ "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
	{ "on", 1 },   { "off", 0 },   { "yes", 1 }, { "no", 0 },
};

int propval_parse_bool(const char *text, size_t len, int *out)
{
	len = trim_newline(text, len);
	for (size_t i = 0; i < sizeof bool_words / sizeof *bool_words; i++) {
		const struct bool_word *b = &bool_words[i];
		if (strlen(b->word) == len && !strncasecmp(b->word, text, len)) {
			*out = b->value;
			return 0;
		}
	}
	return -1;
}

static json_t *parse_bool(const char *text, size_t len, char *why,
			  size_t wl, long long min, unsigned long long max)
{
	int b;
	if (propval_parse_bool(text, len, &b)) {
		snprintf(why, wl, "expected a bool (true false 1 0 on off "
			 "yes no)");
		return NULL;
	}
	return json_boolean(b);
}

/* Decimal or 0x hex, optional sign, within [min, max]. */
static json_t *parse_int(const char *text, size_t len, char *why,
			 size_t wl, long long min, unsigned long long max)
{
	char buf[64];
	len = trim_newline(text, len);
	if (len == 0 || len >= sizeof buf || memchr(text, '\0', len))
		goto bad;
	memcpy(buf, text, len);
	buf[len] = '\0';
	bool neg = buf[0] == '-';
	const char *digits = buf + (buf[0] == '-' || buf[0] == '+');
	int base = 10;
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		base = 16;
		digits += 2;
	}
	if (!*digits)
		goto bad;
	for (const char *c = digits; *c; c++)
		if (!(base == 16 ? isxdigit((unsigned char)*c)
				 : isdigit((unsigned char)*c)))
			goto bad;
	char *end;
	errno = 0;
	unsigned long long mag = strtoull(digits, &end, base);
	if (*end || errno)
		goto bad;
	if (neg) {
		if (min >= 0 || mag > (unsigned long long)LLONG_MAX + 1 ||
		    (mag && -(long long)(mag - 1) - 1 < min))
			goto range;
		return json_integer(mag ? -(long long)(mag - 1) - 1 : 0);
	}
	if (mag > max)
		goto range;
	return bignum_u64(mag);     /* exact past LLONG_MAX too */
range:
	snprintf(why, wl, "integer out of range [%lld, %llu]", min, max);
	return NULL;
bad:
	snprintf(why, wl, "expected an integer (decimal or 0x hex)");
	return NULL;
}

/* A string typed as U+FDD0 and digits would go out as a bare number
 * (bignum.h); QEMU refuses noncharacters in strings anyway. */
static json_t *refuse_marked(json_t *v, char *why, size_t wl)
{
	if (!bignum_digits(v))
		return v;
	json_decref(v);
	snprintf(why, wl, "QEMU refuses Unicode noncharacters (U+FDD0)");
	return NULL;
}

static json_t *parse_string(const char *text, size_t len, char *why,
			    size_t wl, long long min, unsigned long long max)
{
	len = trim_newline(text, len);
	json_t *s = json_stringn(text, len);
	if (!s)
		snprintf(why, wl, "expected UTF-8 text without NUL bytes");
	return s ? refuse_marked(s, why, wl) : NULL;
}

static json_t *parse_number(const char *text, size_t len, char *why,
			    size_t wl, long long min, unsigned long long max)
{
	char buf[64];
	len = trim_newline(text, len);
	if (len == 0 || len >= sizeof buf || memchr(text, '\0', len) ||
	    isspace((unsigned char)text[0]))
		goto bad;
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *end;
	double d = strtod(buf, &end);
	if (*end || !isfinite(d))
		goto bad;
	return json_real(d);
bad:
	snprintf(why, wl, "expected a number");
	return NULL;
}

/* Enums, structs, lists, links: JSON if it is JSON, else a string (an
 * enum value typed as a bare word, `on`, is the common case). */
static json_t *parse_other(const char *text, size_t len, char *why,
			   size_t wl, long long min, unsigned long long max)
{
	size_t n = trim_newline(text, len);
	json_error_t err;
	json_t *v = bignum_loadb(text, n, JSON_DECODE_ANY, &err);
	return v ? refuse_marked(v, why, wl)
		 : parse_string(text, len, why, wl, min, max);
}

typedef json_t *(*parse_fn)(const char *, size_t, char *, size_t,
			    long long, unsigned long long);

static const struct type_row {
	const char *type;
	parse_fn parse;
	long long min;
	unsigned long long max;
} type_table[] = {
	{ "bool", parse_bool, 0, 0 },
	{ "int", parse_int, LLONG_MIN, LLONG_MAX },
	{ "int8", parse_int, INT8_MIN, INT8_MAX },
	{ "int16", parse_int, INT16_MIN, INT16_MAX },
	{ "int32", parse_int, INT32_MIN, INT32_MAX },
	{ "int64", parse_int, LLONG_MIN, LLONG_MAX },
	{ "uint8", parse_int, 0, UINT8_MAX },
	{ "uint16", parse_int, 0, UINT16_MAX },
	{ "uint32", parse_int, 0, UINT32_MAX },
	{ "uint64", parse_int, 0, UINT64_MAX },  /* bignum.h past LLONG_MAX */
	{ "size", parse_int, 0, UINT64_MAX },
	{ "number", parse_number, 0, 0 },
	{ "str", parse_string, 0, 0 },
	{ "string", parse_string, 0, 0 },
};

json_t *propval_parse(const char *type, const char *text, size_t len,
		      char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof type_table / sizeof *type_table; i++) {
		const struct type_row *t = &type_table[i];
		if (type && !strcmp(type, t->type))
			return t->parse(text, len, why, whylen, t->min,
					t->max);
	}
	return parse_other(text, len, why, whylen, 0, 0);
}
