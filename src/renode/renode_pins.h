/* renode_pins.h - gpio/ pins on Renode GPIO ports (renode_pins.c). */
#ifndef EMUFS_RENODE_PINS_H
#define EMUFS_RENODE_PINS_H

#include "core/config.h"

struct run;

int renode_pin_get(struct run *r, const struct cfg_pin *pin, int *level);
int renode_pin_set(struct run *r, const struct cfg_pin *pin, int level);

#endif
