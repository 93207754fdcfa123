/* fuzz_config.c - libFuzzer target for the configuration parser (config.c).
 *
 * Feeds: the input as the text of /fuzz/emufs.json to config_parse() (a
 * path that does not exist, so relative paths resolve lexically).
 *
 * Beyond "no crash, no leak, no UB" it checks:
 *  - it returns 0 with a config, or -1 with none and one line in err:
 *    "/fuzz/emufs.json: ...", no newline, NUL-terminated inside the buffer;
 *    with a tiny error buffer, or none, it decides the same way;
 *  - an accepted config holds what config.h promises: settings in range;
 *    every target, instance, channel and pin name valid, channel and pin
 *    names not reserved and not shared between a channel and a pin; each
 *    emulator's required fields set; every file path absolute, under /fuzz
 *    when it was relative; drive formats set; QEMU UART indexes in 0..15
 *    and distinct, Renode channels with a peripheral; pins of the
 *    emulator's own kinds, shim pins on one of the target's channels;
 *    every instance naming a target; without "instances", one instance
 *    per target, named as the target.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_load.h"
#include "core/emulator.h"
#include "qemu/qemu_config.h"
#include "renode/renode_config.h"

/* The table of emulators, without their connectors: only the schema is
 * fuzzed here (src/emulators.c would link every connector). */
static const struct emulator fuzz_qemu = {
	.name = "qemu", .raw_file = "qmp",
	.parse = qemu_config_parse, .free = qemu_config_free,
	.parse_channel = qemu_config_channel, .pin_key = "qom",
	.pin_keys = qemu_config_pin_keys, .parse_pin = qemu_config_pin,
	.shim_pins = true,
};
static const struct emulator fuzz_renode = {
	.name = "renode", .raw_file = "monitor",
	.parse = renode_config_parse, .free = renode_config_free,
	.parse_channel = renode_config_channel, .pin_key = "renode",
	.pin_keys = renode_config_pin_keys, .parse_pin = renode_config_pin,
};
static const struct emulator *const fuzz_emulators[] = {
	&fuzz_qemu, &fuzz_renode, NULL,
};

const struct emulator *const *emulator_all(void)
{
	return fuzz_emulators;
}

const struct emulator *emulator_find(const char *name)
{
	for (size_t i = 0; name && fuzz_emulators[i]; i++)
		if (!strcmp(fuzz_emulators[i]->name, name))
			return fuzz_emulators[i];
	return NULL;
}

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_config: invariant failed: %s "\
				"(%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                           \
		}                                                          \
	} while (0)

#define FILE_NAME "/fuzz/emufs.json"
#define PREFIX FILE_NAME ": "

static bool is_set(const char *s)
{
	return s && s[0];
}

/* NULL, or absolute; with bare_ok also a name without a '/' (a binary
 * looked up in PATH). */
static void check_path(const char *p, bool bare_ok)
{
	if (!p)
		return;
	CHECK(p[0]);
	if (bare_ok && !strchr(p, '/'))
		return;
	CHECK(p[0] == '/');
}

static bool is_channel(const struct cfg_target *t, const char *name)
{
	for (size_t i = 0; i < t->nchannels; i++)
		if (!strcmp(t->channels[i].name, name))
			return true;
	return false;
}

static void check_target(const struct cfg_target *t)
{
	CHECK(config_name_valid(t->name));
	bool qemu = t->emulator == &fuzz_qemu;

	if (qemu) {
		const struct qemu_config *q = qemu_config_of(t);

		CHECK(is_set(q->binary) && is_set(q->machine));
		check_path(q->binary, true);
		check_path(q->kernel, false);
		check_path(q->preconfig, false);
		CHECK(!q->nargs || q->args);
		for (size_t i = 0; i < q->nargs; i++)
			CHECK(q->args[i]);
		CHECK(!q->ndrives || q->drives);
		for (size_t i = 0; i < q->ndrives; i++) {
			CHECK(q->drives[i].file);
			check_path(q->drives[i].file, false);
			CHECK(is_set(q->drives[i].format));
			CHECK(!q->drives[i].iface || q->drives[i].iface[0]);
		}
	} else {
		const struct renode_config *r = renode_config_of(t);

		CHECK(t->emulator == &fuzz_renode);
		CHECK(is_set(r->binary));
		check_path(r->binary, true);
		CHECK(is_set(r->platform) || is_set(r->script));
		check_path(r->script, false);
		check_path(r->firmware, false);
		for (size_t i = 0; i < r->ncommands; i++)
			CHECK(r->commands[i]);
	}
	for (size_t i = 0; i < t->nchannels; i++) {
		const struct cfg_channel *c = &t->channels[i];

		CHECK(config_name_valid(c->name) && !config_name_reserved(c->name));
		if (qemu) {
			CHECK(c->index >= 0 && c->index < 16);
			CHECK(!c->path);
			for (size_t j = 0; j < i; j++)
				CHECK(t->channels[j].index != c->index);
		} else {
			CHECK(c->index == -1 && is_set(c->path));
		}
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t->channels[j].name, c->name));
	}
	for (size_t i = 0; i < t->npins; i++) {
		const struct cfg_pin *p = &t->pins[i];

		CHECK(config_name_valid(p->name) && !config_name_reserved(p->name));
		CHECK(!is_channel(t, p->name));
		CHECK(p->dir == PIN_IN || p->dir == PIN_OUT);
		switch (p->backend) {
		case PIN_EMULATOR:
			if (qemu) {
				CHECK(is_set(p->object) && is_set(p->property));
				CHECK(p->pin == -1 && !p->channel);
			} else {
				CHECK(is_set(p->object) && p->pin >= 0);
				CHECK(!p->channel && !p->property);
			}
			break;
		case PIN_SHIM:
			CHECK(qemu);
			CHECK(is_set(p->channel) && is_channel(t, p->channel));
			CHECK(p->pin >= 0 && !p->object && !p->property);
			break;
		default:
			CHECK(!"pin backend out of range");
		}
	}
}

static void check_config(const struct emufs_config *cfg, const uint8_t *data,
			 size_t size)
{
	json_t *root = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, NULL);

	CHECK(root);
	CHECK(!strcmp(cfg->path, FILE_NAME) && !strcmp(cfg->dir, "/fuzz"));
	CHECK(cfg->request_timeout_ms >= 100 &&
	      cfg->request_timeout_ms <= 600000);
	CHECK(cfg->log_cap >= 4096);
	CHECK(!cfg->ntargets || cfg->targets);
	for (size_t i = 0; i < cfg->ntargets; i++) {
		check_target(&cfg->targets[i]);
		CHECK(config_find_target(cfg, cfg->targets[i].name) ==
		      &cfg->targets[i]);
	}
	CHECK(!cfg->ninstances || cfg->instances);
	for (size_t i = 0; i < cfg->ninstances; i++) {
		const struct cfg_instance *in = &cfg->instances[i];

		CHECK(config_name_valid(in->name));
		CHECK(config_find_target(cfg, in->target));
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(cfg->instances[j].name, in->name));
	}
	if (!json_object_get(root, "instances")) {
		CHECK(cfg->ninstances == cfg->ntargets);
		for (size_t i = 0; i < cfg->ninstances; i++) {
			CHECK(!strcmp(cfg->instances[i].name, cfg->targets[i].name));
			CHECK(!strcmp(cfg->instances[i].target, cfg->targets[i].name));
			CHECK(!cfg->instances[i].autostart);
		}
	}
	json_decref(root);
}

/* config_parse with an error buffer of exactly errlen heap bytes (none
 * when 0); checks the error line. */
static int parse(const char *text, size_t size, struct emufs_config **cfg,
		 size_t errlen)
{
	char *err = errlen ? malloc(errlen) : NULL;
	int rc;

	CHECK(!errlen || err);
	if (err)
		memset(err, 'X', errlen);
	rc = config_parse(text, size, FILE_NAME, cfg, err, errlen);
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == 0) == (*cfg != NULL));
	if (rc && err) {
		size_t n = strnlen(err, errlen);
		size_t pl = strlen(PREFIX);

		CHECK(n < errlen);
		CHECK(!memchr(err, '\n', n));
		if (errlen > pl + 1)
			CHECK(n > pl && !memcmp(err, PREFIX, pl));
	}
	free(err);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);  /* exactly size bytes */
	struct emufs_config *cfg, *again;
	int rc;

	CHECK(text);
	memcpy(text, data, size);
	rc = parse(text, size, &cfg, 512);
	if (cfg)
		check_config(cfg, data, size);
	config_free(cfg);

	CHECK(parse(text, size, &again, 0) == rc);
	config_free(again);
	CHECK(parse(text, size, &again, 1 + size % 32) == rc);
	config_free(again);
	free(text);
	return 0;
}
