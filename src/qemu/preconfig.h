/* preconfig.h - the qmp-shell line syntax of a target's preconfig file
 * (docs/reference.md 2, seed 001):
 *
 *   # a comment
 *   qom-set path=/machine property=append value=console=ttyS0
 *   object-add qom-type=memory-backend-ram id=ram0 size=1048576
 *
 * One command per line: its name, then key=value words. Values are typed
 * the way qmp-shell types them: a decimal integer is a number, true/false
 * (any case) a bool, text starting with { or [ JSON when it parses,
 * anything else a string. A dotted key (a.b=1) nests objects.
 */
#ifndef EMUFS_PRECONFIG_H
#define EMUFS_PRECONFIG_H

#include <jansson.h>
#include <stddef.h>

/* Parse one line (no newline). Returns 0 with *name and *args set (the
 * caller frees both; args may be an empty object), 1 for a blank or
 * comment line, -1 with the reason in why. */
int preconfig_parse_line(const char *line, size_t len, char **name,
			 json_t **args, char *why, size_t whylen);

#endif
