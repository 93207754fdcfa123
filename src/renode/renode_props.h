/* renode_props.h - props/ on Renode's peripherals (renode_props.c). */
#ifndef EMUFS_RENODE_PROPS_H
#define EMUFS_RENODE_PROPS_H

#include <stddef.h>

#include "core/connector.h"

struct renode_cache;
struct renode_periph;
struct run;

struct renode_cache *renode_cache_new(void);
void renode_cache_free(struct renode_cache *c);
/* The machine's peripherals, as `peripherals` lists them (cached a
 * moment): a private copy (renode_periphs_free). 0 or -errno. */
int renode_peripherals(struct run *r, struct renode_periph **out, size_t *n);
/* The peripheral's type name as `peripherals` shows it ("LED",
 * "STM32_GPIOPort"): 0 and *type malloc'd, or -ENOENT. */
int renode_peripheral_type(struct run *r, const char *path, char **type);
int renode_prop_lookup(struct run *r, const char *rel,
		       struct prop_info *info);
int renode_prop_list(struct run *r, const char *rel,
		     struct prop_entry **ents, size_t *n);
int renode_prop_get(struct run *r, const char *rel, char **text);
int renode_prop_set(struct run *r, const char *rel, const char *text,
		    size_t len);

#endif
