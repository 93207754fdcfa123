/* qemu_qom.h - QEMU's QOM tree as props/, and pins of the qom backend
 * (the QEMU connector's prop_* and pin_* operations).
 */
#ifndef EMUFS_QEMU_QOM_H
#define EMUFS_QEMU_QOM_H

#include <stddef.h>

#include "core/connector.h"

int qemu_prop_lookup(struct run *r, const char *rel, struct prop_info *info);
int qemu_prop_list(struct run *r, const char *rel, struct prop_entry **ents,
		   size_t *n);
int qemu_prop_get(struct run *r, const char *rel, char **text);
int qemu_prop_set(struct run *r, const char *rel, const char *text,
		  size_t len);
int qemu_pin_set(struct run *r, const struct cfg_pin *pin, int level);

#endif
