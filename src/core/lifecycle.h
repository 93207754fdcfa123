/* lifecycle.h - the lifecycle commands of an instance (docs/reference.md
 * 3.1): what `ctl` runs. Each returns 0 or -errno and logs a refusal or a
 * failure in the instance's `log`:
 *
 *   command  legal in                      else
 *   start    stopped, exited, crashed      EBUSY (ENOENT: removed; EINVAL:
 *                                          no target; EIO: failed)
 *   stop     running, paused               EBUSY
 *   kill     starting, running, paused,    EBUSY
 *            stopping (any live run)
 *   pause    running                       EBUSY
 *   resume   paused                        EBUSY
 *   reset    running, paused               EBUSY
 *
 * and EBUSY as well while another command holds the instance (kill
 * excepted: it must be able to end a start that hangs).
 */
#ifndef EMUFS_LIFECYCLE_H
#define EMUFS_LIFECYCLE_H

#include <stdbool.h>

struct instance;

int instance_start(struct instance *inst, bool paused);
/* start, with the disks a snapshot saved (its directory: the emulator
 * attaches them instead of fresh overlays), for `load` on a stopped
 * instance (snapshot.h); snapshot NULL: a plain start. */
int instance_start_from(struct instance *inst, bool paused,
			const char *snapshot);
int instance_stop(struct instance *inst);
int instance_kill(struct instance *inst);
int instance_pause(struct instance *inst);
int instance_resume(struct instance *inst);
/* A serial BREAK to channel `name`'s UART, in order with what was
 * written to it: 0, -EINVAL (no such channel; an emulator without one),
 * -ESRCH (not running); each refusal logged. */
int instance_break(struct instance *inst, const char *name);
int instance_reset(struct instance *inst);

#endif
