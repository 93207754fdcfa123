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
struct cfg_attach;

/* obj's "attach" (the caller saw it there) into t->attach, and t's
 * channels from attach.serial. -1 with the message. */
int cfg_parse_attach(struct cfg_ctx *c, json_t *obj, struct cfg_target *t);
/* Without settings.tls: every endpoint of t's attach must be on
 * loopback. -1 with the message naming the first that is not. */
int cfg_check_attach_local(struct cfg_ctx *c, const struct cfg_target *t);
void cfg_attach_free(struct cfg_attach *a, size_t nchannels);

#endif
