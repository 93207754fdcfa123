/* config_read.c - JSON reading with paths for messages (config_read.h). */
#include "config_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Copies S into BUF for a message: control bytes become \xNN, so the
 * message stays one line whatever a key holds; long text is cut. */
const char *cfg_esc(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	for (; *s && o + 8 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (*s)
		o += (size_t)snprintf(buf + o, n - o, "...");
	buf[o] = '\0';
	return buf;
}

size_t cfg_path_push(struct cfg_ctx *c, const char *key)
{
	size_t saved = c->plen;
	char e[96];

	snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s",
		 c->plen ? "." : "", cfg_esc(key, e, sizeof e));
	c->plen += strlen(c->path + c->plen);
	return saved;
}

size_t cfg_path_push_index(struct cfg_ctx *c, size_t i)
{
	size_t saved = c->plen;

	snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
	c->plen += strlen(c->path + c->plen);
	return saved;
}

void cfg_path_pop(struct cfg_ctx *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

/* "<file>: <path>[.<key>]: <message>"; always returns -1. */
int cfg_fail_at(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	char e[96];
	int n;

	if (!c->err || !c->errlen)
		return -1;
	if (key)
		n = snprintf(c->err, c->errlen, "%s: %s%s%s: ", c->file,
			     c->path, c->plen ? "." : "", cfg_esc(key, e, sizeof e));
	else if (c->plen)
		n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, c->path);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->file);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

const char *cfg_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	default:           return "null";
	}
}

bool cfg_is_type(const json_t *v, json_type t)
{
	if (t == JSON_TRUE || t == JSON_FALSE)
		return json_is_boolean(v);
	return json_typeof(v) == t;
}

/* *v = OBJ[KEY] if it has type T (WHAT names it for messages), NULL if
 * absent and optional; fails if absent and required, or of another type. */
int cfg_field(struct cfg_ctx *c, json_t *obj, const char *key, json_type t,
	      const char *what, bool required, json_t **v)
{
	*v = json_object_get(obj, key);
	if (!*v)
		return required ? cfg_fail_at(c, key, "expected %s (required key missing)",
					  what) : 0;
	if (!cfg_is_type(*v, t))
		return cfg_fail_at(c, key, "expected %s, got %s", what, cfg_type_name(*v));
	return 0;
}

/* Refuses any key of OBJ not in ALLOWED (NULL-terminated). */
int cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;
		char list[256] = "", e[96];

		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (allowed[i])
			continue;
		for (i = 0; allowed[i]; i++) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, "%s%s",
				 i ? ", " : "", allowed[i]);
		}
		return cfg_fail_at(c, NULL, "unknown key \"%s\" (expected one of: %s)",
			       cfg_esc(key, e, sizeof e), list);
	}
	return 0;
}

int cfg_dup_str(struct cfg_ctx *c, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : cfg_fail_at(c, NULL, "out of memory");
}

/* A non-empty string at KEY, copied to *out (left NULL when absent). */
int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		char **out)
{
	json_t *v;

	if (cfg_field(c, obj, key, JSON_STRING, "a string", required, &v))
		return -1;
	if (!v)
		return 0;
	if (!*json_string_value(v))
		return cfg_fail_at(c, key, "expected a non-empty string");
	return cfg_dup_str(c, json_string_value(v), out);
}

char *cfg_join_dir(const char *dir, const char *p)
{
	char *s;
	size_t l = strlen(dir);

	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (asprintf(&s, "%s%s%s", dir, l && dir[l - 1] == '/' ? "" : "/", p) < 0)
		return NULL;
	return s;
}

/* A file path at KEY, made absolute against the config's directory. */
int cfg_get_path(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		 char **out)
{
	char *p = NULL;

	if (cfg_get_str(c, obj, key, required, &p))
		return -1;
	if (!p)
		return 0;
	if (p[0] == '/') {
		*out = p;
		return 0;
	}
	*out = cfg_join_dir(c->dir, p);
	free(p);
	return *out ? 0 : cfg_fail_at(c, key, "out of memory");
}

int cfg_get_file(struct cfg_ctx *c, json_t *obj, const char *key,
		 bool required, char **out)
{
	struct stat st;

	if (cfg_get_path(c, obj, key, required, out))
		return -1;
	if (!*out)
		return 0;           /* optional, and absent */
	if (stat(*out, &st) < 0 || access(*out, R_OK) < 0)
		return cfg_fail_at(c, key, "expected a readable file, got "
				   "\"%s\" (%s)", *out, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cfg_fail_at(c, key, "expected a readable file, got "
				   "\"%s\" (not a regular file)", *out);
	return 0;
}

/* An optional array of strings at KEY (entries may be empty). */
int cfg_get_strv(struct cfg_ctx *c, json_t *obj, const char *key,
		 char ***out, size_t *n)
{
	json_t *arr, *v;
	size_t i, saved;

	if (cfg_field(c, obj, key, JSON_ARRAY, "an array of strings", false, &arr))
		return -1;
	if (!arr || !json_array_size(arr))
		return 0;
	*out = calloc(json_array_size(arr), sizeof **out);
	if (!*out)
		return cfg_fail_at(c, key, "out of memory");
	*n = json_array_size(arr);
	saved = cfg_path_push(c, key);
	json_array_foreach(arr, i, v) {
		size_t s2 = cfg_path_push_index(c, i);
		if (!json_is_string(v))
			return cfg_fail_at(c, NULL, "expected a string, got %s",
				       cfg_type_name(v));
		if (cfg_dup_str(c, json_string_value(v), &(*out)[i]))
			return -1;
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}

int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		long long lo, long long hi, const char *what, long long *out)
{
	json_t *v;

	if (cfg_field(c, obj, key, JSON_INTEGER, what, required, &v))
		return -1;
	if (!v)
		return 0;
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return cfg_fail_at(c, key, "expected %s, got %" JSON_INTEGER_FORMAT,
			       what, json_integer_value(v));
	*out = json_integer_value(v);
	return 0;
}

/* NAME is a key of the object at the current path; CHILD: it names a file
 * inside an instance (a channel or a pin). */

/* A binary with a '/' in it is a path (relative to the config like every
 * other path); without one it is looked up in PATH at start. */
int cfg_get_binary(struct cfg_ctx *c, json_t *obj, char **out)
{
	if (cfg_get_str(c, obj, "binary", true, out))
		return -1;
	if (!strchr(*out, '/'))
		return 0;
	free(*out);
	*out = NULL;
	return cfg_get_path(c, obj, "binary", true, out);
}
