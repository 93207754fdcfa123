/* fuzz_preconfig.c - libFuzzer target for preconfig lines (preconfig.c).
 *
 * Feeds: the input as one line of a preconfig file (no newline) to
 * preconfig_parse_line().
 *
 * Beyond "no crash, no leak, no UB" it checks:
 *  - it returns 1 (blank or comment), 0 or -1, and exactly 1 when the line
 *    has no word or its first word starts with '#';
 *  - on 1 and -1 *name and *args are NULL; -1 comes with a reason,
 *    NUL-terminated inside the caller's buffer (a small one, too);
 *  - on 0 the name is the first word (non-empty, no blank in it outside
 *    quotes) and args is an object;
 *  - an accepted line, spelled again canonically (the name, then per
 *    top-level key either key=<integer>, key=true|false, key=<string as
 *    parsed>, or key=<compact JSON> for objects and arrays), parses to the
 *    same name and equal args: values are typed the same way both times,
 *    and dotted keys build the objects that their JSON spelling states
 *    (skipped when a top-level key holds a quote character, see respell).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/preconfig.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_preconfig: invariant failed: "\
				"%s (%s:%d)\n", #cond, __FILE__, __LINE__);\
			abort();                                           \
		}                                                          \
	} while (0)

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* preconfig_parse_line with a reason buffer of exactly whylen heap bytes;
 * checks what holds for every return value. */
static int parse(const char *line, size_t len, char **name, json_t **args,
		 size_t whylen)
{
	char *why = malloc(whylen);
	int rc;

	CHECK(why);
	memset(why, 'X', whylen);
	rc = preconfig_parse_line(line, len, name, args, why, whylen);
	CHECK(rc == -1 || rc == 0 || rc == 1);
	if (rc) {
		CHECK(!*name && !*args);
	} else {
		CHECK(*name && (*name)[0] && json_is_object(*args));
	}
	if (rc == -1)
		CHECK(memchr(why, '\0', whylen) && (whylen == 1 || why[0]));
	free(why);
	return rc;
}

/* Appends s (n bytes) to the growing line *out. */
static void put(char **out, size_t *len, const char *s, size_t n)
{
	*out = realloc(*out, *len + n + 1);
	CHECK(*out);
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

/* The canonical spelling of an accepted command; NULL when a top-level
 * key holds a quote, whose quoted part may reach into the original value
 * (a"=x y" is the key a" and the value x y"): a JSON spelling of the value
 * would then be cut at a blank inside one of its strings. */
static char *respell(const char *name, json_t *args, size_t *len)
{
	char *out = NULL, num[32];
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
		if (strpbrk(key, "\"'"))
			return NULL;
	*len = 0;
	put(&out, len, name, strlen(name));
	json_object_foreach(args, key, v) {
		put(&out, len, " ", 1);
		put(&out, len, key, strlen(key));
		put(&out, len, "=", 1);
		if (json_is_integer(v)) {
			int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
					 json_integer_value(v));
			put(&out, len, num, (size_t)n);
		} else if (json_is_boolean(v)) {
			put(&out, len, json_is_true(v) ? "true" : "false",
			    json_is_true(v) ? 4 : 5);
		} else if (json_is_string(v)) {
			put(&out, len, json_string_value(v), json_string_length(v));
		} else {
			char *j = json_dumps(v, JSON_COMPACT);

			CHECK(j && (json_is_object(v) || json_is_array(v)));
			put(&out, len, j, strlen(j));
			free(j);
		}
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);  /* exactly size bytes */
	char *name, *name2, *again;
	json_t *args, *args2;
	size_t i = 0, alen;
	int rc;

	CHECK(line);
	memcpy(line, data, size);
	rc = parse(line, size, &name, &args, 128);
	CHECK(parse(line, size, &name2, &args2, 1 + size % 24) == rc);
	free(name2);
	json_decref(args2);

	while (i < size && blank(line[i]))
		i++;
	CHECK((rc == 1) == (i == size || line[i] == '#'));
	if (rc == 0) {
		size_t nl = strlen(name);

		CHECK(nl <= size - i && !memcmp(name, line + i, nl));
		CHECK(nl == size - i || blank(line[i + nl]));

		again = respell(name, args, &alen);
		if (again) {
			CHECK(parse(again, alen, &name2, &args2, 128) == 0);
			CHECK(!strcmp(name, name2));
			CHECK(json_equal(args, args2));
			free(name2);
			json_decref(args2);
			free(again);
		}
	}
	free(name);
	json_decref(args);
	free(line);
	return 0;
}
