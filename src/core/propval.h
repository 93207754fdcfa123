/* propval.h - property values between the shell and the emulator
 * (docs/reference.md 3.4).
 *
 * Reading: a JSON value becomes one line for the shell: true/false for
 * bools, decimal numbers, strings as they are, anything else compact JSON;
 * then a newline. Writing: the text a user wrote is parsed by the
 * property's declared type into the JSON value to set. Both directions are
 * tables keyed by the type name, so a new type is one row.
 */
#ifndef EMUFS_PROPVAL_H
#define EMUFS_PROPVAL_H

#include <jansson.h>
#include <stddef.h>

/* The value as the shell sees it, newline-terminated; malloc'd. */
char *propval_format(const json_t *value);

/* Parse text (len bytes, not NUL-terminated, one trailing newline
 * ignored) for a property of the declared type. Returns a new reference,
 * or NULL with the reason in why (the caller answers EINVAL). */
json_t *propval_parse(const char *type, const char *text, size_t len,
		      char *why, size_t whylen);

/* Text to a bool: true false 1 0 on off yes no (any case). 0 or -1. */
int propval_parse_bool(const char *text, size_t len, int *out);

#endif
