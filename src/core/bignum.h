/* bignum.h - JSON integers that jansson cannot hold, kept exact.
 *
 * jansson stores every integer in a long long: it refuses a number above
 * INT64_MAX (QEMU's uint64 and size properties: a memory region's size is
 * 18446744073709551615) as "too big", and JSON_DECODE_INT_AS_REAL would
 * round it to a double (2^64 - 1 becomes 2^64). So such an integer is
 * carried inside jansson as a "big number": a string of the marker
 * U+FDD0 followed by the number's decimal text, exactly as it was written.
 * bignum_loadb() turns the integers that overflow into big numbers before
 * jansson sees them; bignum_dumps() writes big numbers back as bare
 * numbers. Nothing is ever rounded.
 *
 * Why the marker cannot collide with a real string: QEMU writes every
 * non-ASCII character of a string as \uXXXX and replaces noncharacters
 * (U+FDD0..U+FDEF, U+xFFFE/F) by U+FFFD, so no string from QEMU starts
 * with U+FDD0; and QEMU refuses noncharacters in its input, which emufs
 * checks before sending (qmp_wire_command_line). The one way to write a
 * big number by hand is a client's raw qmp line holding the string
 * "\uFDD0" followed by digits: it goes to QEMU as that number, which the
 * client could have written directly.
 */
#ifndef EMUFS_BIGNUM_H
#define EMUFS_BIGNUM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The marker's UTF-8 bytes (U+FDD0). */
#define BIGNUM_MARK "\xEF\xB7\x90"

/* json_loadb(text, n, flags, err), with every integer outside jansson's
 * range made a big number (a number with a fraction or an exponent stays a
 * real, as JSON means it). */
json_t *bignum_loadb(const char *text, size_t n, size_t flags,
		     json_error_t *err);

/* json_dumps(v, flags) with every big number written as the bare number it
 * holds. Do not pass JSON_ENSURE_ASCII. malloc'd, or NULL. */
char *bignum_dumps(const json_t *v, size_t flags);

/* A big number for u (a plain integer when it fits a long long). */
json_t *bignum_u64(uint64_t u);

/* The number's decimal text when v is a big number, else NULL (borrowed
 * from v). */
const char *bignum_digits(const json_t *v);

#endif
