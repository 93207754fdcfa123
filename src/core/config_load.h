/* config_load.h - reading a configuration file into the structs of
 * config.h (config_load.c). */
#ifndef EMUFS_CONFIG_LOAD_H
#define EMUFS_CONFIG_LOAD_H

#include <stddef.h>

#include "config.h"

/* Load and validate PATH. On error returns -1 and writes one line (no
 * trailing newline) to err. */
int config_load(const char *path, struct emufs_config **out,
		char *err, size_t errlen);
/* Same, from text in memory; path names the file in messages and its
 * directory anchors relative paths. */
int config_parse(const char *text, size_t len, const char *path,
		 struct emufs_config **out, char *err, size_t errlen);

#endif
