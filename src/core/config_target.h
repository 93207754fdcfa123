/* config_target.h - reading the targets of the configuration
 * (config_target.c), for the file's reader (config_load.c). */
#ifndef EMUFS_CONFIG_TARGET_H
#define EMUFS_CONFIG_TARGET_H

#include <jansson.h>
#include <stdbool.h>

#include "config_read.h"

struct emufs_config;

/* Every object of "targets" into cfg->targets; -1 with the message. */
int config_parse_targets(struct cfg_ctx *c, json_t *root,
			 struct emufs_config *cfg);
/* A name of the tree: valid, and when CHILD (a channel or a pin, inside
 * an instance directory) not one of its files' names. */
int cfg_check_name(struct cfg_ctx *c, const char *name, bool child);

#endif
