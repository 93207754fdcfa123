/* firmware.h - an instance's `firmware` file (docs/reference.md,
 * firmware): the image the next start boots, the target's own unless the
 * user wrote another. So one target serves a directory of test images:
 *
 *   $ echo $PWD/build/test_uart.elf > board0/firmware
 *   $ echo start > board0/ctl
 *   $ echo > board0/firmware             # the target's own again
 *
 * The path written is instance state, not configuration: it holds for
 * the runs that follow, until another is written or the target changes.
 * The connector gets it through the run (run.h: r->image).
 */
#ifndef EMUFS_FIRMWARE_H
#define EMUFS_FIRMWARE_H

#include <stddef.h>

struct instance;

/* The file's text: the image's path and a newline, or a newline alone
 * when the target boots no image of its own. 0 or -ENAMETOOLONG. */
int firmware_read(struct instance *inst, char *buf, size_t len);
/* Set the image from what a user wrote (an absolute path, or an empty
 * line for the target's own). -EINVAL (a path that is not absolute, not
 * a readable regular file, or that the emulator cannot take; a target
 * that boots no image), -EBUSY (not stopped, exited or crashed), each
 * with one line in `log`; -ENOMEM. */
int firmware_write(struct instance *inst, const char *buf, size_t len);

/* ---- the pure parts, for tests ------------------------------------- */

/* What was written, as a path into path (PATH_MAX bytes): one trailing
 * LF (and a CR before it) removed; "" means the target's own. -EINVAL
 * with a static reason in *why: a NUL or a line end inside, not
 * absolute, too long. */
int firmware_parse(const char *buf, size_t len, char *path,
		   const char **why);
/* Whether path is a regular file emufs can read: 0, or -errno
 * (-EISDIR, -EINVAL for other non-regular files, open's errno). */
int firmware_check_file(const char *path);

#endif
