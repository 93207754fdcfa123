/* qemu.h - the QEMU emulator, for the table of emulators
 * (src/emulators.c). The connector's own files share qemu_run.h. */
#ifndef EMUFS_QEMU_H
#define EMUFS_QEMU_H

#include "core/emulator.h"

extern const struct emulator qemu_emulator;

#endif
