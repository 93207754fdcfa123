/* shim.c - the GPIO shim line protocol (see shim.h). */
#include "shim.h"

#include <stdio.h>
#include <string.h>

void shim_init(struct shim_parser *p, shim_level_fn on_level,
	       shim_bad_fn on_bad, void *opaque)
{
	memset(p, 0, sizeof *p);
	p->on_level = on_level;
	p->on_bad = on_bad;
	p->opaque = opaque;
}

/* A decimal pin number of at most 6 digits. */
static int parse_pin(const char **s, const char *end, int *pin)
{
	int v = 0, digits = 0;
	while (*s < end && **s >= '0' && **s <= '9' && digits < 7) {
		v = v * 10 + (**s - '0');
		(*s)++;
		digits++;
	}
	if (digits == 0 || digits > 6)
		return -1;
	*pin = v;
	return 0;
}

int shim_parse_line(const char *line, size_t len, int *pin, int *level)
{
	const char *s = line, *end = line + len;
	if (len && end[-1] == '\r')
		end--;
	if (end - s < 5 || memcmp(s, "GPIO ", 5))
		return -1;
	s += 5;
	if (parse_pin(&s, end, pin) || s == end || *s != ' ')
		return -1;
	s++;
	if (end - s != 1 || (*s != '0' && *s != '1'))
		return -1;
	*level = *s - '0';
	return 0;
}

static void finish_line(struct shim_parser *p)
{
	int pin, level;
	p->lines++;
	if (!p->overlong && shim_parse_line(p->line, p->len, &pin, &level) == 0) {
		if (p->on_level)
			p->on_level(p->opaque, pin, level);
	} else {
		p->bad++;
		if (p->on_bad)
			p->on_bad(p->opaque, p->line, p->len);
	}
	p->len = 0;
	p->overlong = 0;
}

void shim_feed(struct shim_parser *p, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\n') {
			finish_line(p);
		} else if (p->len < sizeof p->line) {
			p->line[p->len++] = c;
		} else {
			p->overlong = 1;
		}
	}
}

int shim_format_set(char *buf, size_t len, int pin, int level)
{
	return snprintf(buf, len, "SET %d %d\n", pin, level ? 1 : 0);
}
