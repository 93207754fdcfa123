/* qemu_config.h - a QEMU target's section of the configuration
 * (targets.*.qemu, docs/reference.md / emufs(1)), read by qemu_config.c
 * for the emulator's descriptor in qemu.c (core/emulator.h). */
#ifndef EMUFS_QEMU_CONFIG_H
#define EMUFS_QEMU_CONFIG_H

#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>

#include "core/config.h"
#include "core/emulator.h"

struct qemu_drive {
	char *file;          /* absolute */
	char *format;        /* default "raw" */
	char *iface;         /* JSON "if"; NULL: QEMU's default */
	bool overlay;
};

struct qemu_config {
	char *binary;        /* required; looked up in PATH if no '/' */
	char *machine;       /* required */
	char *kernel;        /* absolute or NULL */
	char *initrd;        /* absolute or NULL; a readable file at load */
	char *dtb;           /* absolute or NULL; a readable file at load */
	char *append;        /* the kernel command line, or NULL */
	char *preconfig;     /* absolute or NULL */
	char **args;         /* extra argv, passed as is */
	size_t nargs;
	struct qemu_drive *drives;
	size_t ndrives;
};

/* The QEMU section of a QEMU target. */
static inline const struct qemu_config *qemu_config_of(
	const struct cfg_target *t)
{
	return t->emu;
}

/* The schema's hooks, for the emulator's descriptor (qemu.c; see
 * core/emulator.h for what each does). */
int qemu_config_parse(struct cfg_ctx *c, json_t *section,
		      struct cfg_target *t);
void qemu_config_free(void *emu);
int qemu_config_channel(struct cfg_ctx *c, json_t *v,
			const struct cfg_target *t, struct cfg_channel *ch);
extern const char *const qemu_config_pin_keys[];
int qemu_config_pin(struct cfg_ctx *c, json_t *p, struct cfg_pin *pin);
const char *qemu_config_image(const struct cfg_target *t);

#endif
