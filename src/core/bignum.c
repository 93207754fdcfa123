/* bignum.c - JSON integers that jansson cannot hold, kept exact (see
 * bignum.h). Both directions are one pass over JSON text that knows only
 * where strings begin and end: outside a string, a digit or '-' starts a
 * number, and nothing else in JSON does.
 */
#include "bignum.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_LEN (sizeof(BIGNUM_MARK) - 1)

/* The shortest integer jansson refuses has 19 digits. */
#define MIN_BIG_DIGITS 19

/* s[0..n): an integer token ('-'? digits). True when a long long cannot
 * hold it. A leading zero is left for jansson to refuse. */
static bool int_overflows(const char *s, size_t n)
{
	bool neg = s[0] == '-';
	const char *d = s + neg;
	size_t nd = n - neg;
	const char *lim = neg ? "9223372036854775808" : "9223372036854775807";

	if (nd == 0 || (nd > 1 && d[0] == '0'))
		return false;
	if (nd != MIN_BIG_DIGITS)
		return nd > MIN_BIG_DIGITS;
	return memcmp(d, lim, MIN_BIG_DIGITS) > 0;
}

/* The end of the number token starting at text[i]; *is_int tells whether
 * it has neither fraction nor exponent. */
static size_t number_end(const char *text, size_t n, size_t i, bool *is_int)
{
	size_t j = i + (text[i] == '-');

	while (j < n && isdigit((unsigned char)text[j]))
		j++;
	*is_int = !(j < n && (text[j] == '.' || text[j] == 'e' ||
			      text[j] == 'E'));
	if (!*is_int)
		while (j < n && (isdigit((unsigned char)text[j]) ||
				 strchr(".eE+-", text[j])))
			j++;
	return j;
}

/* Copy text to out (when out is not NULL) with every overflowing integer
 * quoted behind the marker; returns how many were found. */
static size_t mark_big(const char *text, size_t n, char *out, size_t *outlen)
{
	size_t i = 0, found = 0, o = 0;
	bool in_string = false;

	while (i < n) {
		char c = text[i];
		size_t from = i;

		if (in_string) {
			i += c == '\\' && i + 1 < n ? 2 : 1;
			in_string = c != '"';
		} else if (c == '"') {
			in_string = true;
			i++;
		} else if (c == '-' || isdigit((unsigned char)c)) {
			bool is_int;

			i = number_end(text, n, i, &is_int);
			if (is_int && int_overflows(text + from, i - from)) {
				found++;
				if (out) {
					out[o++] = '"';
					memcpy(out + o, BIGNUM_MARK, MARK_LEN);
					o += MARK_LEN;
					memcpy(out + o, text + from, i - from);
					o += i - from;
					out[o++] = '"';
				}
				continue;
			}
		} else {
			i++;
		}
		if (out) {
			memcpy(out + o, text + from, i - from);
			o += i - from;
		}
	}
	if (outlen)
		*outlen = o;
	return found;
}

json_t *bignum_loadb(const char *text, size_t n, size_t flags,
		     json_error_t *err)
{
	size_t found = mark_big(text, n, NULL, NULL), len;
	char *marked;
	json_t *v;

	if (found == 0)
		return json_loadb(text, n, flags, err);
	marked = malloc(n + found * (MARK_LEN + 2));
	if (!marked) {
		if (err)
			snprintf(err->text, sizeof(err->text), "out of memory");
		return NULL;
	}
	mark_big(text, n, marked, &len);
	v = json_loadb(marked, len, flags, err);
	free(marked);
	return v;
}

/* s: the text after a string's opening quote. The length of the big
 * number's digits when the string is exactly MARK digits, else 0. */
static size_t marked_digits(const char *s)
{
	size_t j;

	if (memcmp(s, BIGNUM_MARK, MARK_LEN) != 0)
		return 0;
	j = MARK_LEN + (s[MARK_LEN] == '-');
	while (isdigit((unsigned char)s[j]))
		j++;
	if (s[j] != '"' || !isdigit((unsigned char)s[j - 1]))
		return 0;
	return j - MARK_LEN;
}

char *bignum_dumps(const json_t *v, size_t flags)
{
	char *text = json_dumps(v, flags), *r, *w;
	bool in_string = false;

	if (!text || !strstr(text, BIGNUM_MARK))
		return text;
	/* Rewritten in place: the output only ever shrinks. */
	for (r = w = text; *r;) {
		size_t d;

		if (in_string) {
			if (*r == '\\' && r[1]) {
				*w++ = *r++;
			} else if (*r == '"') {
				in_string = false;
			}
			*w++ = *r++;
		} else if (*r == '"' && (d = marked_digits(r + 1)) > 0) {
			memmove(w, r + 1 + MARK_LEN, d);
			w += d;
			r += 1 + MARK_LEN + d + 1;
		} else {
			in_string = *r == '"';
			*w++ = *r++;
		}
	}
	*w = '\0';
	return text;
}

json_t *bignum_u64(uint64_t u)
{
	char buf[MARK_LEN + 24];

	if (u <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)u);
	snprintf(buf, sizeof(buf), "%s%" PRIu64, BIGNUM_MARK, u);
	return json_string(buf);
}

const char *bignum_digits(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), d;

	if (!s || n <= MARK_LEN)
		return NULL;
	if (memcmp(s, BIGNUM_MARK, MARK_LEN) != 0)
		return NULL;
	d = strspn(s + MARK_LEN + (s[MARK_LEN] == '-'), "0123456789");
	if (d == 0 || MARK_LEN + (s[MARK_LEN] == '-') + d != n)
		return NULL;
	return s + MARK_LEN;
}
