/* shim.h - the GPIO shim line protocol on a serial channel (seed 004):
 *   guest -> host: "GPIO <pin> <0|1>\n" when an output changes
 *   host -> guest: "SET <pin> <0|1>\n" to drive an input
 * The parser is fed the channel's output as it arrives, in pieces of any
 * size; lines that do not parse are counted, never fatal.
 */
#ifndef EMUFS_SHIM_H
#define EMUFS_SHIM_H

#include <stddef.h>

#define SHIM_MAX_LINE 64

typedef void (*shim_level_fn)(void *opaque, int pin, int level);
typedef void (*shim_bad_fn)(void *opaque, const char *line, size_t len);

struct shim_parser {
	char line[SHIM_MAX_LINE];
	size_t len;
	int overlong;                 /* the current line is too long */
	unsigned long long lines, bad;
	shim_level_fn on_level;
	shim_bad_fn on_bad;
	void *opaque;
};

void shim_init(struct shim_parser *p, shim_level_fn on_level,
	       shim_bad_fn on_bad, void *opaque);
void shim_feed(struct shim_parser *p, const char *buf, size_t len);
/* One line without its newline: 0 and pin/level, or -1. */
int shim_parse_line(const char *line, size_t len, int *pin, int *level);
/* "SET <pin> <level>\n" into buf; the length. */
int shim_format_set(char *buf, size_t len, int pin, int level);

#endif
