/* config_target.c - a target of the configuration (targets.NAME): the
 * emulator it runs, its serial channels and its pins. The emulator's own
 * section, its channels' sources and its own pins are read by the
 * emulator (emulator.h); the shim pins, which every emulator with serial
 * channels could carry, are read here. */
#include "config_target.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_attach.h"
#include "emulator.h"

/* "ctl, state, ..., qmp, monitor" for messages: the names of
 * config_name_reserved(), from the same lists. */
static const char *reserved_list(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; config_reserved_names[i] && o < len; i++)
		o += snprintf(buf + o, len - o, "%s, ",
			      config_reserved_names[i]);
	for (const struct emulator *const *e = emulator_all(); *e && o < len;
	     e++)
		if ((*e)->raw_file)
			o += snprintf(buf + o, len - o, "%s, ", (*e)->raw_file);
	if (o >= 2 && o < len)
		buf[o - 2] = '\0';
	return buf;
}

int cfg_check_name(struct cfg_ctx *c, const char *name, bool child)
{
	char e[96], r[256];

	if (!config_name_valid(name))
		return cfg_fail_at(c, NULL, "invalid name \"%s\": expected "
			       "[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes",
			       cfg_esc(name, e, sizeof e));
	if (child && config_name_reserved(name))
		return cfg_fail_at(c, NULL, "reserved name \"%s\": expected a "
			       "name other than %s or *.pty",
			       cfg_esc(name, e, sizeof e),
			       reserved_list(r, sizeof r));
	return 0;
}

/* A channel's source: the emulator's parse_channel, or an attached
 * target's endpoint (cfg_attach_channel). */
typedef int (*channel_parser)(struct cfg_ctx *c, json_t *v,
			      const struct cfg_target *t,
			      struct cfg_channel *ch);

static int parse_serial(struct cfg_ctx *c, json_t *obj, struct cfg_target *t,
			channel_parser parse)
{
	json_t *ser, *v;
	const char *name;
	size_t i = 0, saved;

	if (cfg_field(c, obj, "serial", JSON_OBJECT, "an object", false, &ser))
		return -1;
	if (!ser || !json_object_size(ser))
		return 0;
	t->channels = calloc(json_object_size(ser), sizeof *t->channels);
	if (!t->channels)
		return cfg_fail_at(c, "serial", "out of memory");
	t->nchannels = json_object_size(ser);
	saved = cfg_path_push(c, "serial");
	json_object_foreach(ser, name, v) {
		struct cfg_channel *ch = &t->channels[i++];

		if (cfg_check_name(c, name, true) || cfg_dup_str(c, name, &ch->name))
			return -1;
		ch->index = -1;
		if (parse(c, v, t, ch))
			return -1;
	}
	cfg_path_pop(c, saved);
	return 0;
}

static const struct cfg_channel *find_channel(const struct cfg_target *t,
					      const char *name)
{
	for (size_t i = 0; i < t->nchannels; i++)
		if (!strcmp(t->channels[i].name, name))
			return &t->channels[i];
	return NULL;
}

/* "\"qom\" or \"shim\"": the pin backends a target's emulator takes. */
static const char *pin_choices(const struct emulator *emu, char *buf,
			       size_t len)
{
	snprintf(buf, len, emu->shim_pins ? "\"%s\" or \"shim\"" : "\"%s\"",
		 emu->pin_key);
	return buf;
}

/* The key of another backend than the target's emulator takes, or NULL. */
static const char *foreign_pin_key(const struct emulator *emu, json_t *p)
{
	for (const struct emulator *const *e = emulator_all(); *e; e++)
		if (*e != emu && json_object_get(p, (*e)->pin_key))
			return (*e)->pin_key;
	if (!emu->shim_pins && json_object_get(p, "shim"))
		return "shim";
	return NULL;
}

/* Every key a pin may have, whatever its backend. */
static int check_pin_keys(struct cfg_ctx *c, json_t *p)
{
	const char *all[32];
	size_t n = 0;

	all[n++] = "shim";
	all[n++] = "pin";
	for (const struct emulator *const *e = emulator_all(); *e; e++)
		for (const char *const *k = (*e)->pin_keys; *k; k++) {
			size_t j = 0;
			while (j < n && strcmp(all[j], *k))
				j++;
			if (j == n && n + 1 < sizeof all / sizeof all[0])
				all[n++] = *k;
		}
	all[n] = NULL;
	return cfg_check_keys(c, p, all);
}

static int parse_pin(struct cfg_ctx *c, json_t *p, const struct cfg_target *t,
		     struct cfg_pin *pin)
{
	static const char *const k_shim[] = { "shim", "pin", "direction", NULL };
	const struct emulator *emu = t->emulator;
	bool has_own = json_object_get(p, emu->pin_key);
	bool has_shim = emu->shim_pins && json_object_get(p, "shim");
	const char *foreign;
	char want[64], e[96];
	char *dir = NULL;
	long long num = -1;

	if (check_pin_keys(c, p))
		return -1;
	pin_choices(emu, want, sizeof want);
	if ((foreign = foreign_pin_key(emu, p)))
		return cfg_fail_at(c, foreign, "not for a %s target; expected %s",
			       emu->name, want);
	if (!has_own && !has_shim)
		return cfg_fail_at(c, NULL, "expected %s (required key missing)",
			       want);
	if (has_own && has_shim)
		return cfg_fail_at(c, NULL, "expected only one of %s", want);

	pin->pin = -1;
	if (has_own) {
		pin->backend = PIN_EMULATOR;
		if (cfg_check_keys(c, p, emu->pin_keys) ||
		    emu->parse_pin(c, p, pin))
			return -1;
	} else {
		pin->backend = PIN_SHIM;
		if (cfg_check_keys(c, p, k_shim) ||
		    cfg_get_str(c, p, "shim", true, &pin->channel) ||
		    cfg_get_int(c, p, "pin", true, 0, INT_MAX,
			    "a pin number (an integer >= 0)", &num))
			return -1;
		pin->pin = (int)num;
		if (!find_channel(t, pin->channel))
			return cfg_fail_at(c, "shim", "unknown channel \"%s\" (expected "
				       "one of the target's serial channels)",
				       cfg_esc(pin->channel, e, sizeof e));
	}
	if (cfg_get_str(c, p, "direction", true, &dir))
		return -1;
	if (strcmp(dir, "in") && strcmp(dir, "out")) {
		cfg_fail_at(c, "direction", "expected \"in\" or \"out\", got \"%s\"",
			cfg_esc(dir, e, sizeof e));
		free(dir);
		return -1;
	}
	pin->dir = strcmp(dir, "in") ? PIN_OUT : PIN_IN;
	free(dir);
	return 0;
}

static int parse_gpio(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	json_t *gpio, *v;
	const char *name;
	size_t i = 0, saved;

	if (cfg_field(c, obj, "gpio", JSON_OBJECT, "an object", false, &gpio))
		return -1;
	if (!gpio || !json_object_size(gpio))
		return 0;
	t->pins = calloc(json_object_size(gpio), sizeof *t->pins);
	if (!t->pins)
		return cfg_fail_at(c, "gpio", "out of memory");
	t->npins = json_object_size(gpio);
	saved = cfg_path_push(c, "gpio");
	json_object_foreach(gpio, name, v) {
		struct cfg_pin *pin = &t->pins[i++];
		size_t s2;

		if (cfg_check_name(c, name, true) || cfg_dup_str(c, name, &pin->name))
			return -1;
		if (find_channel(t, name))
			return cfg_fail_at(c, NULL, "pin name \"%s\" is already a serial "
				       "channel: expected a name of its own", name);
		if (!json_is_object(v))
			return cfg_fail_at(c, name, "expected an object, got %s",
				       cfg_type_name(v));
		s2 = cfg_path_push(c, name);
		if (parse_pin(c, v, t, pin))
			return -1;
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}


/* "\"qemu\" or \"renode\"": the emulators of the table. */
static const char *emulator_choices(char *buf, size_t len)
{
	size_t o = 0;
	const struct emulator *const *all = emulator_all();

	buf[0] = '\0';
	for (size_t i = 0; all[i]; i++)
		o += snprintf(buf + o, len - o, "%s\"%s\"",
			      i == 0 ? "" : all[i + 1] ? ", " : " or ",
			      all[i]->name);
	return buf;
}

/* targets.*.launcher: argv[0] and what follows of a command line the
 * emulator's own is appended to; before the emulator's section, which
 * may refuse what a launched emulator cannot use. */
static int parse_launcher(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	json_t *v = json_object_get(obj, "launcher");

	if (!v)
		return 0;
	if (!json_is_array(v) || !json_array_size(v))
		return cfg_fail_at(c, "launcher", "expected a non-empty array "
			       "of strings (an argv prefix, e.g. [\"srun\", "
			       "\"--\"]), got %s", json_is_array(v)
			       ? "an empty array" : cfg_type_name(v));
	if (cfg_get_strv(c, obj, "launcher", &t->launcher, &t->nlauncher))
		return -1;
	if (!t->launcher[0][0]) {
		size_t saved = cfg_path_push(c, "launcher");
		cfg_path_push_index(c, 0);
		cfg_fail_at(c, NULL, "expected a program name, got \"\"");
		cfg_path_pop(c, saved);
		return -1;
	}
	return 0;
}

/* A target with "attach": an emulator someone else started. Whatever
 * only starting one needs (a launcher, the emulator's section: binary,
 * machine, kernel...) is refused, naming it, rather than ignored; the
 * channels are attach.serial's. */
static int parse_attached(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	const struct emulator *emu = t->emulator;
	json_t *sub, *v;
	const char *key;

	if (!emu->attach)
		return cfg_fail_at(c, "attach", "not for a %s target (only "
				   "QEMU's QMP endpoints can be attached to)",
				   emu->name);
	if (json_object_get(obj, "launcher"))
		return cfg_fail_at(c, "launcher", "not allowed with attach: "
				   "the emulator runs already");
	if (json_object_get(obj, "serial"))
		return cfg_fail_at(c, "serial", "not allowed with attach: "
				   "attach.serial names the channels and "
				   "their endpoints");
	if (cfg_field(c, obj, emu->name, JSON_OBJECT, "an object", false, &sub))
		return -1;
	json_object_foreach(sub, key, v) {
		size_t saved = cfg_path_push(c, emu->name);
		cfg_fail_at(c, key, "not allowed with attach: the emulator "
			    "runs already (emufs starts nothing)");
		cfg_path_pop(c, saved);
		return -1;
	}
	return 0;
}

static int parse_target(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	const char *keys[16] = { "emulator" };
	size_t nkeys = 1;
	const struct emulator *emu;
	char want[128], e[96];
	json_t *v, *sub;

	/* emulator, each emulator's section, serial, gpio */
	for (const struct emulator *const *a = emulator_all(); *a; a++)
		if (nkeys + 5 < sizeof keys / sizeof keys[0])
			keys[nkeys++] = (*a)->name;
	keys[nkeys++] = "serial";
	keys[nkeys++] = "gpio";
	keys[nkeys++] = "launcher";
	keys[nkeys++] = "attach";
	keys[nkeys] = NULL;
	if (cfg_check_keys(c, obj, keys))
		return -1;
	emulator_choices(want, sizeof want);
	v = json_object_get(obj, "emulator");
	if (!v)
		return cfg_fail_at(c, "emulator", "expected %s (required key "
			       "missing)", want);
	if (!json_is_string(v))
		return cfg_fail_at(c, "emulator", "expected %s, got %s", want,
			       cfg_type_name(v));
	emu = emulator_find(json_string_value(v));
	if (!emu)
		return cfg_fail_at(c, "emulator", "expected %s, got \"%s\"", want,
			       cfg_esc(json_string_value(v), e, sizeof e));
	t->emulator = emu;
	for (const struct emulator *const *a = emulator_all(); *a; a++)
		if (*a != emu && json_object_get(obj, (*a)->name))
			return cfg_fail_at(c, (*a)->name, "not allowed: the "
				       "target's emulator is \"%s\"", emu->name);
	if (json_object_get(obj, "attach")) { /* channels, then shim pins */
		if (parse_attached(c, obj, t) || cfg_parse_attach(c, obj, t))
			return -1;
		size_t saved = cfg_path_push(c, "attach");
		if (parse_serial(c, json_object_get(obj, "attach"), t,
				 cfg_attach_channel))
			return -1;
		cfg_path_pop(c, saved);
		return parse_gpio(c, obj, t);
	}
	if (cfg_field(c, obj, emu->name, JSON_OBJECT, "an object", true, &sub) ||
	    parse_launcher(c, obj, t))
		return -1;

	size_t saved = cfg_path_push(c, emu->name);
	if (emu->parse(c, sub, t))
		return -1;
	cfg_path_pop(c, saved);
	/* Channels first: a shim pin names one of them. */
	return parse_serial(c, obj, t, emu->parse_channel) ||
	       parse_gpio(c, obj, t) ? -1 : 0;
}

int config_parse_targets(struct cfg_ctx *c, json_t *root,
			 struct emufs_config *cfg)
{
	json_t *targets, *v;
	const char *name;
	size_t i = 0, saved;

	if (cfg_field(c, root, "targets", JSON_OBJECT, "an object", true, &targets))
		return -1;
	if (!json_object_size(targets))
		return 0;
	cfg->targets = calloc(json_object_size(targets), sizeof *cfg->targets);
	if (!cfg->targets)
		return cfg_fail_at(c, "targets", "out of memory");
	cfg->ntargets = json_object_size(targets);
	saved = cfg_path_push(c, "targets");
	json_object_foreach(targets, name, v) {
		struct cfg_target *t = &cfg->targets[i++];
		size_t s2;

		if (cfg_check_name(c, name, false) || cfg_dup_str(c, name, &t->name))
			return -1;
		if (!json_is_object(v))
			return cfg_fail_at(c, name, "expected an object, got %s",
				       cfg_type_name(v));
		s2 = cfg_path_push(c, name);
		if (parse_target(c, v, t))
			return -1;
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}

