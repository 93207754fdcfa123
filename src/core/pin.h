/* pin.h - a GPIO pin file's operations through its instance
 * (docs/reference.md 3.5): read, write, watch (binding_pin, on a
 * reference from instance_binding, finds one). The pins themselves,
 * their levels and the shim backend are pinset.h.
 */
#ifndef EMUFS_PIN_H
#define EMUFS_PIN_H

#include <stddef.h>

#include "instance.h"     /* instance_binding, for pin.h's users */
#include "pinset.h"

/* The level now: 0 or 1, or -ESRCH (not running), -ETIMEDOUT, -EIO.
 * *gen (may be NULL) gets the generation that level was recorded at:
 * the one an open file compares against for poll. Taken in the same
 * step as the level, so a change recorded by another thread (the pin
 * watcher) after it is never counted as seen. */
int pin_read(struct instance *inst, struct pin *p, unsigned *gen);
/* Drive an `in` pin from text "0" or "1" (newline optional): 0, or
 * -EPERM (an `out` pin), -EINVAL, -ESRCH; each refusal logged. */
int pin_write(struct instance *inst, struct pin *p, const char *buf,
	      size_t len);
/* Record a level (pinset_record through the instance's hooks). */
unsigned pin_update(struct instance *inst, struct pin *p, int level);
/* An open file of p more (delta 1) or fewer (-1): the pin watcher polls
 * emulator-side pins while any is open. */
void pin_watch(struct instance *inst, struct pin *p, int delta);
/* Poll every watched emulator-side pin of the n instances v (the pin
 * watcher's round, core.c), asking them all before waiting for any
 * answer where the connector can (pin_get_begin). */
void pins_poll(struct instance **v, size_t n);

#endif
