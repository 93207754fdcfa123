/* config_attach.h - targets.*.attach (interface.md 6): the endpoints of
 * an emulator someone else started (config_attach.c), for the target's
 * reader (config_target.c) and the check of what may leave this machine
 * (config_load.c). */
#ifndef EMUFS_CONFIG_ATTACH_H
#define EMUFS_CONFIG_ATTACH_H

#include <jansson.h>
#include <stdbool.h>

#include "config_read.h"

struct cfg_target;
struct cfg_channel;

/* obj's "attach" (the caller saw it there) into t->attach: qmp, gdb, and
 * room for an endpoint per channel of attach.serial, which the caller
 * reads then, as targets.*.serial, with cfg_attach_channel. -1 with the
 * message. */
int cfg_parse_attach(struct cfg_ctx *c, json_t *obj, struct cfg_target *t);
/* attach.serial.NAME: channel ch's endpoint "HOST:PORT" (v). */
int cfg_attach_channel(struct cfg_ctx *c, json_t *v,
		       const struct cfg_target *t, struct cfg_channel *ch);
/* Without settings.tls: every endpoint of t's attach must be on
 * loopback. -1 with the message naming the first that is not. */
int cfg_check_attach_local(struct cfg_ctx *c, const struct cfg_target *t);

#endif
