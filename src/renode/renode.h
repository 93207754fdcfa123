/* renode.h - what the Renode connector's files share (renode.c: launch,
 * lifecycle, monitor, gdb; renode_pins.c: gpio/; renode_props.c: props/;
 * renode_parse.c: the monitor's output formats). Not for other modules: they go through
 * connector.h. The parsers are declared here so unit tests can reach them.
 */
#ifndef EMUFS_RENODE_H
#define EMUFS_RENODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/connector.h"
#include "core/emulator.h"
#include "robot.h"

struct renode_cache;

struct renode_run {
	struct robot *rb;          /* set by launch; read-only after */
	int port;                  /* the robot port */
	char *tmpdir;              /* Renode's private TMPDIR */
	int gdb_port;              /* 0: no gdb server */
	atomic_int *in_level;      /* by target pin index: last level
				    * driven on an `in` pin of a port */
	struct renode_cache *cache;
};

/* ---- renode.c ------------------------------------------------------ */

/* One monitor line through ExecuteCommand. On 0, *out (if given) is the
 * output with CRs removed; otherwise res tells why (robot.h). */
int renode_exec(struct run *r, const char *line, char **out,
		struct robot_result *res);
/* The same for lifecycle and pin commands: a failure is one line in log
 * ("renode: WHAT (LINE): reason"), and a refusal (FAIL) is -EIO: the
 * emulator failed the operation. */
int renode_exec_logged(struct run *r, const char *what, const char *line,
		       char **out);

/* ---- renode_pins.c ------------------------------------------------- */

int renode_pin_get(struct run *r, const struct cfg_pin *pin, int *level);
int renode_pin_set(struct run *r, const struct cfg_pin *pin, int level);

/* ---- renode_props.c ------------------------------------------------ */

struct renode_cache *renode_cache_new(void);
void renode_cache_free(struct renode_cache *c);
/* The peripheral's type name as `peripherals` shows it ("LED",
 * "STM32_GPIOPort"): 0 and *type malloc'd, or -ENOENT. */
int renode_peripheral_type(struct run *r, const char *path, char **type);
int renode_prop_lookup(struct run *r, const char *rel,
		       struct prop_info *info);
int renode_prop_list(struct run *r, const char *rel,
		     struct prop_entry **ents, size_t *n);
int renode_prop_get(struct run *r, const char *rel, char **text);
int renode_prop_set(struct run *r, const char *rel, const char *text,
		    size_t len);

/* ---- renode_parse.c: the monitor's formats ------------------------- */

/* A node of `peripherals`: its monitor path and its type's name. */
struct renode_periph {
	char *path;                /* "sysbus.gpioPortD.UserLED" */
	char *type;                /* "LED" */
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

/* A file name as a monitor @path token ("@/a/b\ c.repl"); NULL when the
 * monitor cannot express it (';' or white space other than ' '). */
char *renode_path_token(const char *path);

/* A peripheral path the monitor reads as one literal: [A-Za-z0-9_.-]+,
 * no empty component. */
bool renode_path_ok(const char *path);

/* The emulator, for the table of emulators (src/emulators.c). */
extern const struct emulator renode_emulator;

#endif
