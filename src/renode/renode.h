/* renode.h - the Renode connector (renode.c: launch, lifecycle, monitor,
 * gdb), as the table of emulators sees it. Its parts: renode_run.h (the
 * run, one monitor line), renode_pins.h, renode_props.h, renode_parse.h
 * (the monitor's formats), renode_config.h (its configuration), robot.h
 * (the robot port). */
#ifndef EMUFS_RENODE_H
#define EMUFS_RENODE_H

#include "core/emulator.h"

/* The emulator, for the table of emulators (src/emulators.c). */
extern const struct emulator renode_emulator;

#endif
