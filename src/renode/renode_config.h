/* renode_config.h - a Renode target's section of the configuration
 * (targets.*.renode, docs/reference.md / emufs(1)), read by
 * renode_config.c for the emulator's descriptor in renode.c
 * (core/emulator.h). */
#ifndef EMUFS_RENODE_CONFIG_H
#define EMUFS_RENODE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/emulator.h"

struct renode_config {
	char *binary;        /* required */
	char *platform;      /* one of platform/script is required */
	char *script;
	char *firmware;
	char **commands;     /* monitor lines run after loading */
	size_t ncommands;
};

/* The Renode section of a Renode target. */
static inline const struct renode_config *renode_config_of(
	const struct cfg_target *t)
{
	return t->emu;
}

/* The schema's hooks, for the emulator's descriptor (renode.c; see
 * core/emulator.h for what each does). */
int renode_config_parse(struct cfg_ctx *c, json_t *section,
		      struct cfg_target *t);
void renode_config_free(void *emu);
int renode_config_channel(struct cfg_ctx *c, json_t *v,
			const struct cfg_target *t, struct cfg_channel *ch);
extern const char *const renode_config_pin_keys[];
int renode_config_pin(struct cfg_ctx *c, json_t *p, struct cfg_pin *pin);
const char *renode_config_image(const struct cfg_target *t);
bool renode_config_accepts_image(const char *path, const char **why);

#endif
