/* preconfig.c - qmp-shell style command lines (see preconfig.h). */
#include "preconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Next word: a run of non-blanks, where a quoted part may hold blanks
 * (quotes stay in the word, as in qmp-shell). -1 on an open quote. */
static int next_word(const char **p, const char *end, const char **w,
		     size_t *wl)
{
	while (*p < end && is_space(**p))
		(*p)++;
	if (*p == end)
		return 0;
	*w = *p;
	while (*p < end && !is_space(**p)) {
		char q = **p;
		if (q == '"' || q == '\'') {
			for ((*p)++; *p < end && **p != q; (*p)++)
				if (**p == '\\' && *p + 1 < end)
					(*p)++;
			if (*p == end)
				return -1;
		}
		(*p)++;
	}
	*wl = *p - *w;
	return 1;
}

/* qmp-shell's value typing. */
static json_t *typed_value(const char *v, size_t n)
{
	char buf[32];
	if (n && n < sizeof buf) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		char *end;
		errno = 0;
		long long i = strtoll(buf, &end, 10);
		if (!*end && !errno && (buf[0] == '-' || buf[0] == '+' ||
					(buf[0] >= '0' && buf[0] <= '9')))
			return json_integer(i);
		if (!strcasecmp(buf, "true"))
			return json_true();
		if (!strcasecmp(buf, "false"))
			return json_false();
	}
	if (n && (v[0] == '{' || v[0] == '[')) {
		json_t *j = json_loadb(v, n, 0, NULL);
		if (j)
			return j;
	}
	return json_stringn(v, n);
}

/* Put value at the dotted key path in args. */
static int set_path(json_t *args, const char *key, size_t kl, json_t *value,
		    char *why, size_t wl)
{
	json_t *obj = args;
	const char *k = key, *end = key + kl;
	for (;;) {
		const char *dot = memchr(k, '.', end - k);
		size_t seg = (dot ? dot : end) - k;
		char name[128];
		if (seg == 0 || seg >= sizeof name) {
			snprintf(why, wl, "bad key \"%.*s\"", (int)kl, key);
			return -1;
		}
		memcpy(name, k, seg);
		name[seg] = '\0';
		json_t *cur = json_object_get(obj, name);
		if (!dot) {
			if (cur) {
				snprintf(why, wl, "key \"%.*s\" set twice or "
					 "as both leaf and object", (int)kl,
					 key);
				return -1;
			}
			json_object_set(obj, name, value);
			return 0;
		}
		if (!cur) {
			cur = json_object();
			json_object_set_new(obj, name, cur);
		} else if (!json_is_object(cur)) {
			snprintf(why, wl, "key \"%.*s\" used as both leaf and "
				 "object", (int)kl, key);
			return -1;
		}
		obj = cur;
		k = dot + 1;
	}
}

int preconfig_parse_line(const char *line, size_t len, char **name,
			 json_t **args, char *why, size_t whylen)
{
	const char *p = line, *end = line + len, *w;
	size_t wl;
	int rc = next_word(&p, end, &w, &wl);

	*name = NULL;
	*args = NULL;
	if (rc == 0 || w[0] == '#')
		return 1;
	if (rc < 0 || memchr(line, '\0', len)) {
		snprintf(why, whylen, rc < 0 ? "unterminated quote"
					     : "NUL byte in line");
		return -1;
	}
	*name = strndup(w, wl);
	*args = json_object();
	if (!*name || !*args) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	while ((rc = next_word(&p, end, &w, &wl)) > 0) {
		const char *eq = memchr(w, '=', wl);
		if (!eq) {
			snprintf(why, whylen, "expected key=value, got \"%.*s\"",
				 (int)(wl > 40 ? 40 : wl), w);
			goto fail;
		}
		json_t *v = typed_value(eq + 1, w + wl - eq - 1);
		if (!v) {
			snprintf(why, whylen, "value of \"%.*s\" is not UTF-8",
				 (int)(eq - w), w);
			goto fail;
		}
		int s = set_path(*args, w, eq - w, v, why, whylen);
		json_decref(v);
		if (s)
			goto fail;
	}
	if (rc < 0) {
		snprintf(why, whylen, "unterminated quote");
		goto fail;
	}
	return 0;
fail:
	free(*name);
	json_decref(*args);
	*name = NULL;
	*args = NULL;
	return -1;
}
