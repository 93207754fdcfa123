/* renode_config.c - a Renode target's part of the configuration: the
 * renode section, serial channels by UART peripheral path, pins of GPIO
 * ports (renode_config.h). */
#include "renode_config.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config_read.h"
#include "renode_parse.h"

void renode_config_free(void *emu)
{
	struct renode_config *rn = emu;

	if (!rn)
		return;
	free(rn->binary);
	free(rn->platform);
	free(rn->script);
	free(rn->firmware);
	for (size_t i = 0; rn->commands && i < rn->ncommands; i++)
		free(rn->commands[i]);
	free(rn->commands);
	free(rn);
}

int renode_config_parse(struct cfg_ctx *c, json_t *r, struct cfg_target *t)
{
	static const char *const keys[] = { "binary", "platform", "script",
					    "firmware", "commands", NULL };
	struct renode_config *rn = calloc(1, sizeof *rn);

	if (!rn)
		return cfg_fail_at(c, NULL, "out of memory");
	t->emu = rn;       /* freed with the target, whatever happens */
	if (cfg_check_keys(c, r, keys) ||
	    cfg_get_binary(c, r, &rn->binary) ||
	    cfg_get_str(c, r, "platform", false, &rn->platform) ||
	    cfg_get_path(c, r, "script", false, &rn->script) ||
	    cfg_get_path(c, r, "firmware", false, &rn->firmware) ||
	    cfg_get_strv(c, r, "commands", &rn->commands, &rn->ncommands))
		return -1;
	if (!rn->platform && !rn->script)
		return cfg_fail_at(c, NULL, "expected \"platform\" or \"script\" "
			       "(required key missing)");
	/* A platform is usually one of Renode's own (platforms/boards/...),
	 * resolved against its installation; a file next to the config wins. */
	if (rn->platform && rn->platform[0] != '/') {
		char *p = cfg_join_dir(c->dir, rn->platform);
		if (!p)
			return cfg_fail_at(c, "platform", "out of memory");
		if (access(p, F_OK) == 0) {
			free(rn->platform);
			rn->platform = p;
		} else {
			free(p);
		}
	}
	return 0;
}

/* serial.NAME: the UART's peripheral path. */
int renode_config_channel(struct cfg_ctx *c, json_t *v,
			const struct cfg_target *t, struct cfg_channel *ch)
{
	if (!json_is_string(v) || !*json_string_value(v))
		return cfg_fail_at(c, ch->name, "expected a peripheral path "
			       "string, got %s", json_is_string(v) ?
			       "an empty string" : cfg_type_name(v));
	return cfg_dup_str(c, json_string_value(v), &ch->path);
}

const char *const renode_config_pin_keys[] = { "renode", "pin", "direction", NULL };

/* {"renode": PERIPHERAL, "pin": N}: a pin of a GPIO port. */
int renode_config_pin(struct cfg_ctx *c, json_t *p, struct cfg_pin *pin)
{
	long long num;

	if (cfg_get_str(c, p, "renode", true, &pin->object) ||
	    cfg_get_int(c, p, "pin", true, 0, INT_MAX,
			"a pin number (an integer >= 0)", &num))
		return -1;
	pin->pin = (int)num;
	return 0;
}

/* The firmware the target loads (sysbus LoadELF), with a platform or
 * after its script; a target without one boots what its script says. */
const char *renode_config_image(const struct cfg_target *t)
{
	return renode_config_of(t)->firmware;
}

/* The image goes to the monitor as an @path token (renode.c). */
bool renode_config_accepts_image(const char *path, const char **why)
{
	if (renode_path_expressible(path))
		return true;
	*why = "Renode's monitor cannot express the path "
	       "(';' or white space other than ' ')";
	return false;
}
