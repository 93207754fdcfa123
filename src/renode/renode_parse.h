/* renode_parse.h - the Renode monitor's output formats, parsed
 * (renode_parse.c). Pure functions, unit tested. */
#ifndef EMUFS_RENODE_PARSE_H
#define EMUFS_RENODE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* A node of `peripherals`: its monitor path and its type's name. */
struct renode_periph {
	char *path;                /* "sysbus.gpioPortD.UserLED" */
	char *type;                /* "LED" */
	bool mapped;               /* at an address range of its bus (a
				    * note "<0x40004400, 0x400047FF>") */
};

/* The tree `peripherals` prints (box drawing, notes such as address
 * ranges), as a flat list in print order. 0 or -ENOMEM. */
int renode_parse_peripherals(const char *text, struct renode_periph **out,
			     size_t *n);
void renode_periphs_free(struct renode_periph *p, size_t n);

/* A property (or value field) from a peripheral's help text. */
struct renode_prop {
	char *name;
	char *type;                /* "UInt32", "Boolean", "Parity" */
	bool get, set;
};

/* The properties and fields sections of the help text a bare
 * peripheral path prints ("available for 'get' and 'set'"). */
int renode_parse_help(const char *text, struct renode_prop **out,
		      size_t *n);
void renode_props_free(struct renode_prop *p, size_t n);

/* The state of GPIO `name` ("12", "IRQ") in GetGPIOs output such as
 * "[\n(0, GPIO: unset), (1, GPIO: set), \n]": 0 or 1, -ENOENT when not
 * listed, -EIO when its state is unreadable. */
int renode_parse_gpio_state(const char *text, const char *name);

/* "True"/"False" (surrounding white space ignored): 1, 0, or -1. */
int renode_parse_bool(const char *text);

/* A value as the monitor printed it, for the shell: integers in decimal
 * (the monitor prints 0x0001C200), booleans true/false, an enum without
 * its list of possible values, then a newline; "" for no value.
 * malloc'd. */
char *renode_format_value(const char *type, const char *text);

/* What a user wrote to a property file, as one monitor token for the
 * declared type: a quoted string for String, true/false for Boolean, a
 * number for numeric types, a bare word otherwise. NULL with the reason
 * in why when it cannot be one token (EINVAL). malloc'd. */
char *renode_value_token(const char *type, const char *text, size_t len,
			 char *why, size_t whylen);

/* Whether the monitor's @path token can hold a file name: no ';' (it
 * ends a command) and no white space other than ' ' (written "\ "). */
bool renode_path_expressible(const char *path);
/* A file name as a monitor @path token ("@/a/b\ c.repl"); NULL when the
 * monitor cannot express it (renode_path_expressible). */
char *renode_path_token(const char *path);

/* A peripheral path the monitor reads as one literal: [A-Za-z0-9_.-]+,
 * no empty component. */
bool renode_path_ok(const char *path);

#endif
