/* renode_parse.c - Renode's monitor output formats (see renode.h).
 *
 * What the monitor prints is meant for people, so these parsers follow
 * Renode's own printers (renode-infrastructure: PeripheralsCommand and
 * ITreePrintNode for `peripherals`, Monitor.PrintMonitorInfo for the help
 * text, Monitor.PrintActionResult for values) and stay lenient where the
 * printers changed between versions: line ends are \n, \r\n or \n\r;
 * the tree's indent is counted, not matched.
 */
#include "renode_parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/propval.h"

/* ---- small helpers ------------------------------------------------- */

/* A copy of text without '\r'. */
static char *strip_cr(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = text; *p; p++)
		if (*p != '\r')
			*o++ = *p;
	*o = '\0';
	return out;
}

/* Next line of *pos (modified in place: '\n' becomes '\0'). */
static char *next_line(char **pos)
{
	char *l = *pos;
	if (!l || !*l)
		return NULL;
	char *nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*pos = nl + 1;
	} else {
		*pos = l + strlen(l);
	}
	return l;
}

static void rtrim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

static bool is_ident(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* ---- peripherals --------------------------------------------------- */

/* A peripheral's own name: one component of a monitor path. */
static bool name_ok(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* The tree's drawing characters, UTF-8: │ ├ └ ─ (U+2502 251C 2514 2500). */
static int tree_char(const char *p, bool *connector)
{
	if (*p == ' ')
		return 1;
	if ((unsigned char)p[0] != 0xe2 || (unsigned char)p[1] != 0x94)
		return 0;
	switch ((unsigned char)p[2]) {
	case 0x9c:               /* ├ */
	case 0x94:               /* └ */
		*connector = true;
		return 3;
	case 0x82:               /* │ */
	case 0x80:               /* ─ */
		return 3;
	default:
		return 0;
	}
}

void renode_periphs_free(struct renode_periph *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].path);
		free(p[i].type);
	}
	free(p);
}

#define TREE_MAX_DEPTH 32

int renode_parse_peripherals(const char *text, struct renode_periph **out,
			     size_t *n)
{
	char *buf = strip_cr(text), *pos = buf, *line;
	struct renode_periph *v = NULL;
	size_t cnt = 0, cap = 0;
	const char *stack[TREE_MAX_DEPTH];
	int root_col = -1, depth_now = -1;

	*out = NULL;
	*n = 0;
	if (!buf)
		return -ENOMEM;
	char *start = strstr(buf, "peripherals:\n");
	if (start)              /* "Available peripherals:" header */
		pos = start + strlen("peripherals:\n");
	while ((line = next_line(&pos))) {
		bool conn = false;
		int col = 0, k;
		char *p = line;
		while ((k = tree_char(p, &conn)) > 0) {
			p += k;
			col++;
		}
		rtrim(p);
		/* A note under the node just listed: an address range says
		 * it is registered on the bus at one. */
		if (*p && !conn && root_col >= 0 && cnt && !strncmp(p, "<0x", 3))
			v[cnt - 1].mapped = true;
		if (!*p || (!conn && root_col >= 0))
			continue;       /* spacer, or a note */
		/* "name (Type)" */
		char *open = strstr(p, " (");
		size_t len = strlen(p);
		if (!open || p[len - 1] != ')' || open == p)
			continue;
		*open = '\0';
		p[len - 1] = '\0';
		const char *name = p, *type = open + 2;
		if (!name_ok(name))
			continue;
		int depth;
		if (root_col < 0) {
			root_col = col;
			depth = 0;
		} else {
			depth = (col - root_col) / 4;
			if (depth < 1)
				depth = 1;
			if (depth > depth_now + 1)
				depth = depth_now + 1;  /* a skipped level */
		}
		if (depth >= TREE_MAX_DEPTH)
			continue;
		stack[depth] = name;
		depth_now = depth;
		size_t plen = 0;
		for (int i = 0; i <= depth; i++)
			plen += strlen(stack[i]) + 1;
		char *path = malloc(plen);
		if (!path)
			goto oom;
		path[0] = '\0';
		for (int i = 0; i <= depth; i++) {
			if (i)
				strcat(path, ".");
			strcat(path, stack[i]);
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			struct renode_periph *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(path);
				goto oom;
			}
			v = nv;
		}
		v[cnt].path = path;
		v[cnt].mapped = false;
		if (!(v[cnt].type = strdup(type))) {
			free(path);
			goto oom;
		}
		cnt++;
	}
	free(buf);
	*out = v;
	*n = cnt;
	return 0;
oom:
	renode_periphs_free(v, cnt);
	free(buf);
	return -ENOMEM;
}

/* ---- help text ----------------------------------------------------- */

void renode_props_free(struct renode_prop *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].type);
	}
	free(p);
}

enum help_section { SEC_OTHER, SEC_PROPERTIES, SEC_FIELDS };

int renode_parse_help(const char *text, struct renode_prop **out,
		      size_t *n)
{
	char *buf = strip_cr(text), *pos = buf, *line;
	struct renode_prop *v = NULL;
	size_t cnt = 0, cap = 0;
	enum help_section sec = SEC_OTHER;
	struct renode_prop *last = NULL;   /* awaits "available for" */

	*out = NULL;
	*n = 0;
	if (!buf)
		return -ENOMEM;
	while ((line = next_line(&pos))) {
		rtrim(line);
		/* Section headers: "The following properties are
		 * available:" (older: "Following ..."); "Usage:" ends. */
		if (strstr(line, "properties are available:")) {
			sec = SEC_PROPERTIES;
			continue;
		}
		if (strstr(line, "fields are available:")) {
			sec = SEC_FIELDS;
			continue;
		}
		if (strstr(line, " are available:") || !strcmp(line, "Usage:")) {
			sec = SEC_OTHER;
			last = NULL;
			continue;
		}
		if (sec == SEC_OTHER)
			continue;
		const char *t = line + strspn(line, " ");
		if (sec == SEC_PROPERTIES && last &&
		    !strncmp(t, "available for", 13)) {
			last->get = strstr(t, "'get'") != NULL;
			last->set = strstr(t, "'set'") != NULL;
			last = NULL;
			continue;
		}
		if (strncmp(line, " - ", 3))
			continue;
		/* " - Type Name" or, for fields, " - Type Name (read only)" */
		char *item = line + 3;
		bool ro = false;
		char *paren = strstr(item, " (read only)");
		if (sec == SEC_FIELDS && paren) {
			*paren = '\0';
			ro = true;
		}
		char *sp = strrchr(item, ' ');
		if (!sp || sp == item || !is_ident(sp + 1))
			continue;
		*sp = '\0';
		const char *name = sp + 1;
		bool dup = false;
		for (size_t i = 0; i < cnt && !dup; i++)
			dup = !strcmp(v[i].name, name);
		if (dup) {          /* same name from a base class: first wins */
			last = NULL;
			continue;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct renode_prop *nv = realloc(v, cap * sizeof *v);
			if (!nv)
				goto oom;
			v = nv;
		}
		v[cnt].name = strdup(name);
		v[cnt].type = strdup(item);
		if (!v[cnt].name || !v[cnt].type) {
			free(v[cnt].name);
			free(v[cnt].type);
			goto oom;
		}
		/* Until "available for" says otherwise: readable. */
		v[cnt].get = true;
		v[cnt].set = sec == SEC_FIELDS && !ro;
		last = sec == SEC_PROPERTIES ? &v[cnt] : NULL;
		cnt++;
	}
	free(buf);
	*out = v;
	*n = cnt;
	return 0;
oom:
	renode_props_free(v, cnt);
	free(buf);
	return -ENOMEM;
}

/* ---- GetGPIOs ------------------------------------------------------ */

int renode_parse_gpio_state(const char *text, const char *name)
{
	/* Line breaks may fall anywhere (every ten items, or a terminal's
	 * wrap in a pasted sample): drop them. */
	size_t tl = strlen(text);
	char *buf = malloc(tl + 1), *o = buf;
	if (!buf)
		return -ENOMEM;
	for (const char *p = text; *p; p++)
		if (*p != '\r' && *p != '\n')
			*o++ = *p;
	*o = '\0';
	int rc = -ENOENT;
	for (char *p = buf; (p = strchr(p, '(')); p++) {
		char *close = strchr(p, ')');
		char *comma = strchr(p, ',');
		if (!close || !comma || comma > close)
			continue;
		char *k = p + 1;
		while (*k == ' ')
			k++;
		size_t kl = comma - k;
		while (kl && k[kl - 1] == ' ')
			kl--;
		if (kl != strlen(name) || strncmp(k, name, kl))
			continue;
		*close = '\0';
		const char *val = comma + 1;
		/* "GPIO: set" / "GPIO: unset" */
		const char *st = strstr(val, "GPIO:");
		st = st ? st + 5 : val;
		st += strspn(st, " ");
		rc = !strncmp(st, "unset", 5) ? 0 : !strncmp(st, "set", 3) ? 1
									   : -EIO;
		break;
	}
	free(buf);
	return rc;
}

int renode_parse_bool(const char *text)
{
	const char *s = text + strspn(text, " \t\r\n");
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 4 && !strncmp(s, "True", 4))
		return 1;
	if (n == 5 && !strncmp(s, "False", 5))
		return 0;
	return -1;
}

/* ---- values -------------------------------------------------------- */

/* The monitor's integer types, with their width for sign extension. */
static const struct int_type {
	const char *name;
	int bits;
	bool is_signed;
} int_types[] = {
	{ "Byte", 8, false },    { "SByte", 8, true },
	{ "UInt16", 16, false }, { "Int16", 16, true },
	{ "UInt32", 32, false }, { "Int32", 32, true },
	{ "UInt64", 64, false }, { "Int64", 64, true },
	{ "UInt8", 8, false },   { "Int8", 8, true },
};

/* "UInt32?" (nullable) is UInt32. */
static bool type_is(const char *type, const char *name)
{
	size_t n = strlen(name);
	return type && !strncmp(type, name, n) &&
	       (type[n] == '\0' || (type[n] == '?' && type[n + 1] == '\0'));
}

static const struct int_type *int_type_of(const char *type)
{
	for (size_t i = 0; i < sizeof int_types / sizeof int_types[0]; i++)
		if (type_is(type, int_types[i].name))
			return &int_types[i];
	return NULL;
}

static bool is_float_type(const char *type)
{
	return type_is(type, "Single") || type_is(type, "Double") ||
	       type_is(type, "Decimal");
}

/* Monitor integer output to decimal: "0x0001C200", "115200", or the
 * "both" mode's "0x1C200 (115200)". NULL when it is none of these. */
static char *int_to_decimal(const struct int_type *it, const char *s)
{
	char *out = NULL, *end;
	const char *paren = strchr(s, '(');
	if (paren && isdigit((unsigned char)paren[1 + (paren[1] == '-')])) {
		long long d = strtoll(paren + 1, &end, 10);
		return *end == ')' && asprintf(&out, "%lld", d) >= 0 ? out
								     : NULL;
	}
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
		errno = 0;
		unsigned long long u = strtoull(s + 2, &end, 16);
		if (errno || *end || end == s + 2)
			return NULL;
		if (it->is_signed && it->bits < 64 &&
		    (u & (1ULL << (it->bits - 1))))
			u |= ~0ULL << it->bits;      /* sign-extend */
		if (it->is_signed)
			return asprintf(&out, "%lld", (long long)u) >= 0 ? out
									 : NULL;
		return asprintf(&out, "%llu", u) >= 0 ? out : NULL;
	}
	strtoll(s, &end, 10);
	if (end != s && !*end)
		return strdup(s);
	return NULL;
}

char *renode_format_value(const char *type, const char *text)
{
	char *s = strip_cr(text ? text : "");
	if (!s)
		return NULL;
	/* An enum's value is followed by the values it may take. */
	char *pv = strstr(s, "\nPossible values are:");
	if (pv)
		*pv = '\0';
	rtrim(s);
	char *v = s + strspn(s, "\n");
	char *out = NULL;
	const struct int_type *it = int_type_of(type);
	int b;
	if (!*v) {
		out = strdup("");
	} else if (it && (out = int_to_decimal(it, v))) {
		;
	} else if (type_is(type, "Boolean") && (b = renode_parse_bool(v)) >= 0) {
		out = strdup(b ? "true" : "false");
	} else {
		out = strdup(v);
	}
	if (out && *out) {
		size_t n = strlen(out);
		char *grown = realloc(out, n + 2);
		if (!grown) {
			free(out);
			out = NULL;
		} else {
			out = grown;
			out[n] = '\n';
			out[n + 1] = '\0';
		}
	}
	free(s);
	return out;
}

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || s[i] == '\0')
			return false;
	return true;
}

#define DIGITS "0123456789"
#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" DIGITS "_"

char *renode_value_token(const char *type, const char *text, size_t len,
			 char *why, size_t wl)
{
	char *out = NULL;
	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (memchr(text, '\n', len) || memchr(text, '\r', len) ||
	    memchr(text, '\0', len)) {
		snprintf(why, wl, "expected one line");
		return NULL;
	}
	if (type_is(type, "String")) {
		/* The monitor's string tokens: "..." or '...' where a
		 * backslash escapes; avoid escapes altogether. */
		char q = !memchr(text, '"', len) ? '"'
			 : !memchr(text, '\'', len) ? '\'' : 0;
		if (!q || memchr(text, '\\', len)) {
			snprintf(why, wl, "a string the monitor cannot quote "
				 "(a backslash, or both quote characters)");
			return NULL;
		}
		return asprintf(&out, "%c%.*s%c", q, (int)len, text, q) < 0
			       ? NULL : out;
	}
	if (len == 0) {
		snprintf(why, wl, "expected a value");
		return NULL;
	}
	if (type_is(type, "Boolean")) {
		int b;
		if (propval_parse_bool(text, len, &b)) {
			snprintf(why, wl, "expected a bool (true false 1 0 "
				 "on off yes no)");
			return NULL;
		}
		return strdup(b ? "true" : "false");
	}
	size_t sign = text[0] == '-' || text[0] == '+';
	if (int_type_of(type)) {
		bool hex = len > 2 + sign && text[sign] == '0' &&
			   (text[sign + 1] == 'x' || text[sign + 1] == 'X');
		bool ok = hex ? !sign && all_of(text + 2, len - 2,
						DIGITS "abcdefABCDEF")
			      : len > sign && all_of(text + sign, len - sign,
						     DIGITS);
		if (!ok) {
			snprintf(why, wl, "expected an integer (decimal or "
				 "0x hex)");
			return NULL;
		}
		if (asprintf(&out, "%.*s", (int)len, text) < 0)
			return NULL;
		if (hex)
			out[1] = 'x';   /* the monitor's hex token is "0x" */
		return out;
	}
	if (is_float_type(type)) {
		if (len <= sign || !all_of(text + sign, len - sign, DIGITS ".")) {
			snprintf(why, wl, "expected a number");
			return NULL;
		}
		return strndup(text, len);
	}
	/* Enums and other values: one literal word. */
	if (!all_of(text, len, WORD ".-+")) {
		snprintf(why, wl, "expected one word ([A-Za-z0-9_.+-])");
		return NULL;
	}
	return strndup(text, len);
}

bool renode_path_expressible(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p == ';' || (isspace((unsigned char)*p) && *p != ' '))
			return false;
	return true;
}

char *renode_path_token(const char *path)
{
	size_t n = strlen(path), sp = 0;
	if (!renode_path_expressible(path))
		return NULL;
	for (size_t i = 0; i < n; i++)
		sp += path[i] == ' ';
	char *out = malloc(n + sp + 2), *o = out;
	if (!out)
		return NULL;
	*o++ = '@';
	for (size_t i = 0; i < n; i++) {
		if (path[i] == ' ')
			*o++ = '\\';
		*o++ = path[i];
	}
	*o = '\0';
	return out;
}

bool renode_path_ok(const char *path)
{
	if (!path || !*path || *path == '.' || *path == '-')
		return false;
	for (const char *p = path; *p; p++) {
		if (!strchr(WORD ".-", *p))
			return false;
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
	}
	return true;
}
