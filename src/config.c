/* config.c - load and validate the emufs JSON configuration
 * (interface.md section 2) into the structs of config.h.
 *
 * The whole file is checked before anything is built on it: any problem
 * refuses the config with one line "<file>: <json.path>: <expected>".
 * Unknown keys are refused everywhere, so that a typo ("autostrat") is an
 * error rather than a silently ignored setting; duplicate keys are refused
 * too (jansson would otherwise keep the last one without a word).
 *
 * Files named by the config are NOT required to exist here: a missing
 * kernel or drive is the business of the `start` that needs it, which
 * fails with EIO and a line in the instance's log. That keeps a mount
 * usable while firmware is still being built, and avoids checking files
 * now that may change before they are used.
 */
#include "config.h"
#include "config_read.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_BYTES 64
#define CONFIG_FILE_MAX (16 * 1024 * 1024)
#define QEMU_SERIAL_MAX 16      /* UART indexes 0..15 */
#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 600000
#define LOG_CAP_MIN 4096

static int check_name(struct cfg_ctx *c, const char *name, bool child)
{
	char e[96];

	if (!config_name_valid(name))
		return cfg_fail_at(c, NULL, "invalid name \"%s\": expected "
			       "[A-Za-z0-9][A-Za-z0-9_.-]*, at most %d bytes",
			       cfg_esc(name, e, sizeof e), NAME_MAX_BYTES);
	if (child && config_name_reserved(name)) {
		char list[256] = "";
		size_t o = 0;
		for (size_t i = 0; config_reserved_names[i] && o < sizeof list;
		     i++)
			o += snprintf(list + o, sizeof list - o, "%s%s",
				      i ? ", " : "", config_reserved_names[i]);
		return cfg_fail_at(c, NULL, "reserved name \"%s\": expected a name "
			       "other than %s or *%s", cfg_esc(name, e, sizeof e),
			       list, CONFIG_RESERVED_SUFFIX);
	}
	return 0;
}

static int parse_drives(struct cfg_ctx *c, json_t *q, struct cfg_qemu *qm)
{
	static const char *const keys[] = { "file", "format", "if", "overlay", NULL };
	json_t *arr, *d, *ov;
	size_t i, saved;

	if (cfg_field(c, q, "drives", JSON_ARRAY, "an array of objects", false, &arr))
		return -1;
	if (!arr || !json_array_size(arr))
		return 0;
	qm->drives = calloc(json_array_size(arr), sizeof *qm->drives);
	if (!qm->drives)
		return cfg_fail_at(c, "drives", "out of memory");
	qm->ndrives = json_array_size(arr);
	saved = cfg_path_push(c, "drives");
	json_array_foreach(arr, i, d) {
		struct cfg_drive *dr = &qm->drives[i];
		size_t s2 = cfg_path_push_index(c, i);

		if (!json_is_object(d))
			return cfg_fail_at(c, NULL, "expected an object, got %s",
				       cfg_type_name(d));
		if (cfg_check_keys(c, d, keys) ||
		    cfg_get_path(c, d, "file", true, &dr->file) ||
		    cfg_get_str(c, d, "format", false, &dr->format) ||
		    cfg_get_str(c, d, "if", false, &dr->iface) ||
		    cfg_field(c, d, "overlay", JSON_TRUE, "a boolean", false, &ov))
			return -1;
		if (!dr->format && cfg_dup_str(c, "raw", &dr->format))
			return -1;
		dr->overlay = ov && json_is_true(ov);
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}

/* A binary with a '/' in it is a path (relative to the config like every
 * other path); without one it is looked up in PATH at start. */
static int get_binary(struct cfg_ctx *c, json_t *obj, char **out)
{
	if (cfg_get_str(c, obj, "binary", true, out))
		return -1;
	if (!strchr(*out, '/'))
		return 0;
	free(*out);
	*out = NULL;
	return cfg_get_path(c, obj, "binary", true, out);
}

static int parse_qemu(struct cfg_ctx *c, json_t *q, struct cfg_qemu *qm)
{
	static const char *const keys[] = { "binary", "machine", "kernel", "args",
					    "preconfig", "drives", NULL };

	return cfg_check_keys(c, q, keys) ||
	       get_binary(c, q, &qm->binary) ||
	       cfg_get_str(c, q, "machine", true, &qm->machine) ||
	       cfg_get_path(c, q, "kernel", false, &qm->kernel) ||
	       cfg_get_strv(c, q, "args", &qm->args, &qm->nargs) ||
	       cfg_get_path(c, q, "preconfig", false, &qm->preconfig) ||
	       parse_drives(c, q, qm) ? -1 : 0;
}

static int parse_renode(struct cfg_ctx *c, json_t *r, struct cfg_renode *rn)
{
	static const char *const keys[] = { "binary", "platform", "script",
					    "firmware", "commands", NULL };

	if (cfg_check_keys(c, r, keys) ||
	    get_binary(c, r, &rn->binary) ||
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

static int parse_serial(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
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

		if (check_name(c, name, true) || cfg_dup_str(c, name, &ch->name))
			return -1;
		ch->qemu_index = -1;
		if (t->emulator == EMU_RENODE) {
			if (!json_is_string(v) || !*json_string_value(v))
				return cfg_fail_at(c, name, "expected a peripheral path "
					       "string, got %s", json_is_string(v) ?
					       "an empty string" : cfg_type_name(v));
			if (cfg_dup_str(c, json_string_value(v), &ch->renode_uart))
				return -1;
			continue;
		}
		if (!json_is_integer(v))
			return cfg_fail_at(c, name, "expected a UART index (an integer "
				       "from 0 to %d), got %s", QEMU_SERIAL_MAX - 1,
				       cfg_type_name(v));
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) >= QEMU_SERIAL_MAX)
			return cfg_fail_at(c, name, "expected a UART index from 0 to %d, "
				       "got %" JSON_INTEGER_FORMAT,
				       QEMU_SERIAL_MAX - 1, json_integer_value(v));
		ch->qemu_index = (int)json_integer_value(v);
		for (size_t j = 0; j + 1 < i; j++)
			if (t->channels[j].qemu_index == ch->qemu_index)
				return cfg_fail_at(c, name, "expected a UART index not "
					       "used by another channel, got %d "
					       "(already channel \"%s\")",
					       ch->qemu_index, t->channels[j].name);
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

static int parse_pin(struct cfg_ctx *c, json_t *p, const struct cfg_target *t,
		     struct cfg_pin *pin)
{
	static const char *const all[] = { "qom", "property", "shim", "renode",
					   "pin", "direction", NULL };
	static const char *const k_qom[] = { "qom", "property", "direction", NULL };
	static const char *const k_shim[] = { "shim", "pin", "direction", NULL };
	static const char *const k_renode[] = { "renode", "pin", "direction", NULL };
	bool qemu = t->emulator == EMU_QEMU;
	bool has_qom = json_object_get(p, "qom"), has_shim = json_object_get(p, "shim");
	bool has_renode = json_object_get(p, "renode");
	const char *want = qemu ? "\"qom\" or \"shim\"" : "\"renode\"";
	char *dir = NULL;
	long long num = -1;
	char e[96];

	if (cfg_check_keys(c, p, all))
		return -1;
	if (qemu && has_renode)
		return cfg_fail_at(c, "renode", "not for a qemu target; expected %s", want);
	if (!qemu && (has_qom || has_shim))
		return cfg_fail_at(c, has_qom ? "qom" : "shim",
			       "not for a renode target; expected %s", want);
	if (has_qom + has_shim + has_renode == 0)
		return cfg_fail_at(c, NULL, "expected %s (required key missing)", want);
	if (has_qom && has_shim)
		return cfg_fail_at(c, NULL, "expected only one of \"qom\" or \"shim\"");

	pin->pin = -1;
	if (has_qom) {
		pin->backend = PIN_QOM;
		if (cfg_check_keys(c, p, k_qom) ||
		    cfg_get_str(c, p, "qom", true, &pin->object) ||
		    cfg_get_str(c, p, "property", true, &pin->property))
			return -1;
	} else {
		pin->backend = has_shim ? PIN_SHIM : PIN_RENODE;
		if (cfg_check_keys(c, p, has_shim ? k_shim : k_renode) ||
		    cfg_get_str(c, p, has_shim ? "shim" : "renode", true,
			    has_shim ? &pin->channel : &pin->object) ||
		    cfg_get_int(c, p, "pin", true, 0, INT_MAX,
			    "a pin number (an integer >= 0)", &num))
			return -1;
		pin->pin = (int)num;
		if (has_shim && !find_channel(t, pin->channel))
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

		if (check_name(c, name, true) || cfg_dup_str(c, name, &pin->name))
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

static int parse_target(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	static const char *const keys[] = { "emulator", "qemu", "renode",
					    "serial", "gpio", NULL };
	static const char *const kind[] = { [EMU_QEMU] = "qemu",
					    [EMU_RENODE] = "renode" };
	const char *emu;
	json_t *v, *sub;
	char e[96];

	if (cfg_check_keys(c, obj, keys))
		return -1;
	v = json_object_get(obj, "emulator");
	if (!v)
		return cfg_fail_at(c, "emulator", "expected \"qemu\" or \"renode\" "
			       "(required key missing)");
	if (!json_is_string(v))
		return cfg_fail_at(c, "emulator", "expected \"qemu\" or \"renode\", "
			       "got %s", cfg_type_name(v));
	emu = json_string_value(v);
	if (!strcmp(emu, "qemu"))
		t->emulator = EMU_QEMU;
	else if (!strcmp(emu, "renode"))
		t->emulator = EMU_RENODE;
	else
		return cfg_fail_at(c, "emulator", "expected \"qemu\" or \"renode\", "
			       "got \"%s\"", cfg_esc(emu, e, sizeof e));
	emu = kind[t->emulator];
	if (json_object_get(obj, kind[!t->emulator]))
		return cfg_fail_at(c, kind[!t->emulator], "not allowed: the target's "
			       "emulator is \"%s\"", emu);
	if (cfg_field(c, obj, emu, JSON_OBJECT, "an object", true, &sub))
		return -1;

	size_t saved = cfg_path_push(c, emu);
	if (t->emulator == EMU_QEMU ? parse_qemu(c, sub, &t->qemu)
				    : parse_renode(c, sub, &t->renode))
		return -1;
	cfg_path_pop(c, saved);
	/* Channels first: a shim pin names one of them. */
	return parse_serial(c, obj, t) || parse_gpio(c, obj, t) ? -1 : 0;
}

static int parse_targets(struct cfg_ctx *c, json_t *root, struct emufs_config *cfg)
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

		if (check_name(c, name, false) || cfg_dup_str(c, name, &t->name))
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

static int parse_instances(struct cfg_ctx *c, json_t *root, struct emufs_config *cfg)
{
	static const char *const keys[] = { "target", "autostart", NULL };
	json_t *insts, *v, *as;
	const char *name;
	size_t i = 0, saved;
	char e[96];

	if (cfg_field(c, root, "instances", JSON_OBJECT, "an object", false, &insts))
		return -1;
	if (!insts) {
		/* One stopped instance per target, named as the target. */
		if (!cfg->ntargets)
			return 0;
		cfg->instances = calloc(cfg->ntargets, sizeof *cfg->instances);
		if (!cfg->instances)
			return cfg_fail_at(c, NULL, "out of memory");
		cfg->ninstances = cfg->ntargets;
		for (i = 0; i < cfg->ntargets; i++)
			if (cfg_dup_str(c, cfg->targets[i].name, &cfg->instances[i].name) ||
			    cfg_dup_str(c, cfg->targets[i].name, &cfg->instances[i].target))
				return -1;
		return 0;
	}
	if (!json_object_size(insts))
		return 0;
	cfg->instances = calloc(json_object_size(insts), sizeof *cfg->instances);
	if (!cfg->instances)
		return cfg_fail_at(c, "instances", "out of memory");
	cfg->ninstances = json_object_size(insts);
	saved = cfg_path_push(c, "instances");
	json_object_foreach(insts, name, v) {
		struct cfg_instance *in = &cfg->instances[i++];
		size_t s2;

		if (check_name(c, name, false) || cfg_dup_str(c, name, &in->name))
			return -1;
		if (!json_is_object(v))
			return cfg_fail_at(c, name, "expected an object, got %s",
				       cfg_type_name(v));
		s2 = cfg_path_push(c, name);
		if (cfg_check_keys(c, v, keys) ||
		    cfg_get_str(c, v, "target", true, &in->target) ||
		    cfg_field(c, v, "autostart", JSON_TRUE, "a boolean", false, &as))
			return -1;
		if (!config_find_target(cfg, in->target))
			return cfg_fail_at(c, "target", "unknown target \"%s\"",
				       cfg_esc(in->target, e, sizeof e));
		in->autostart = as && json_is_true(as);
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}

static int parse_settings(struct cfg_ctx *c, json_t *root, struct emufs_config *cfg)
{
	static const char *const keys[] = { "request_timeout_ms", "log_cap_bytes",
					    NULL };
	json_t *s;
	long long timeout = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	size_t saved;

	if (cfg_field(c, root, "settings", JSON_OBJECT, "an object", false, &s))
		return -1;
	if (!s)
		return 0;
	saved = cfg_path_push(c, "settings");
	if (cfg_check_keys(c, s, keys) ||
	    cfg_get_int(c, s, "request_timeout_ms", false, TIMEOUT_MIN_MS,
		    TIMEOUT_MAX_MS, "an integer from 100 to 600000", &timeout) ||
	    cfg_get_int(c, s, "log_cap_bytes", false, LOG_CAP_MIN, LLONG_MAX,
		    "an integer >= 4096", &cfg->log_cap))
		return -1;
	cfg->request_timeout_ms = (int)timeout;
	cfg_path_pop(c, saved);
	return 0;
}

static int parse_root(struct cfg_ctx *c, json_t *root, struct emufs_config *cfg)
{
	static const char *const keys[] = { "targets", "instances", "settings", NULL };

	if (!json_is_object(root))
		return cfg_fail_at(c, NULL, "expected an object at the top level, got %s",
			       cfg_type_name(root));
	return cfg_check_keys(c, root, keys) || parse_settings(c, root, cfg) ||
	       parse_targets(c, root, cfg) || parse_instances(c, root, cfg) ? -1 : 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The absolute directory of PATH: realpath'd when RESOLVE and it exists,
 * else lexically against the current directory. NULL on failure. */
static char *dir_of(const char *path, bool resolve)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	char *d, *cwd, *abs;
	const char *rel;

	if (!slash)
		d = strdup(".");
	else
		d = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!d)
		return NULL;
	for (size_t l = strlen(d); l > 1 && d[l - 1] == '/'; l--)
		d[l - 1] = '\0';
	if (resolve && (abs = realpath(d, NULL))) {
		free(d);
		return abs;
	}
	if (d[0] == '/')
		return d;
	cwd = getcwd(NULL, 0);
	rel = d;
	while (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0'))
		for (rel++; *rel == '/'; rel++)
			;
	abs = !cwd ? NULL : !*rel ? strdup(cwd) : cfg_join_dir(cwd, rel);
	free(cwd);
	free(d);
	return abs;
}

static int parse_text(const char *text, size_t len, const char *file,
		      const char *dir, struct emufs_config **out,
		      char *err, size_t errlen)
{
	struct cfg_ctx c = { .file = file, .dir = dir, .err = err, .errlen = errlen };
	struct emufs_config *cfg;
	json_error_t je;
	json_t *root;
	int rc;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		/* jansson quotes the bad token raw, control bytes and all. */
		char t[4 * JSON_ERROR_TEXT_LENGTH];
		cfg_esc(je.text, t, sizeof t);
		if (je.line > 0)
			set_err(err, errlen, "%s: line %d column %d: %s", file,
				je.line, je.column, t);
		else
			set_err(err, errlen, "%s: %s", file, t);
		return -1;
	}
	cfg = calloc(1, sizeof *cfg);
	rc = !cfg ? cfg_fail_at(&c, NULL, "out of memory") :
	     cfg_dup_str(&c, file, &cfg->path) || cfg_dup_str(&c, dir, &cfg->dir) ? -1 : 0;
	if (!rc) {
		cfg->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
		cfg->log_cap = CONFIG_DEFAULT_LOG_CAP;
		rc = parse_root(&c, root, cfg);
	}
	json_decref(root);
	if (rc) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_parse(const char *text, size_t len, const char *path,
		 struct emufs_config **out, char *err, size_t errlen)
{
	const char *file = path ? path : "config";
	char *dir = dir_of(path, false);
	int rc;

	*out = NULL;
	if (!dir) {
		set_err(err, errlen, "%s: cannot make its directory absolute: %s",
			file, strerror(errno));
		return -1;
	}
	rc = parse_text(text ? text : "", text ? len : 0, file, dir, out,
			err, errlen);
	free(dir);
	return rc;
}

int config_load(const char *path, struct emufs_config **out,
		char *err, size_t errlen)
{
	char *buf = NULL, *dir;
	size_t len = 0, cap = 0;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "re");
	if (!f) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb) {
				set_err(err, errlen, "%s: %s", path, strerror(ENOMEM));
				goto fail;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > CONFIG_FILE_MAX) {
			set_err(err, errlen, "%s: file too large (over 16 MiB)", path);
			goto fail;
		}
		if (n == 0) {
			if (ferror(f)) {
				set_err(err, errlen, "%s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	dir = dir_of(path, true);
	if (!dir) {
		set_err(err, errlen, "%s: cannot make its directory absolute: %s",
			path, strerror(errno));
		free(buf);
		return -1;
	}
	rc = parse_text(buf, len, path, dir, out, err, errlen);
	free(dir);
	free(buf);
	return rc;
fail:
	fclose(f);
	free(buf);
	return -1;
}

struct emufs_config *config_empty(void)
{
	struct emufs_config *cfg = calloc(1, sizeof *cfg);

	if (!cfg)
		return NULL;
	cfg->dir = getcwd(NULL, 0);
	if (!cfg->dir)
		cfg->dir = strdup("/");
	if (!cfg->dir) {
		free(cfg);
		return NULL;
	}
	cfg->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	cfg->log_cap = CONFIG_DEFAULT_LOG_CAP;
	return cfg;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_target(struct cfg_target *t)
{
	free(t->name);
	free(t->qemu.binary);
	free(t->qemu.machine);
	free(t->qemu.kernel);
	free(t->qemu.preconfig);
	free_strv(t->qemu.args, t->qemu.nargs);
	for (size_t i = 0; t->qemu.drives && i < t->qemu.ndrives; i++) {
		free(t->qemu.drives[i].file);
		free(t->qemu.drives[i].format);
		free(t->qemu.drives[i].iface);
	}
	free(t->qemu.drives);
	free(t->renode.binary);
	free(t->renode.platform);
	free(t->renode.script);
	free(t->renode.firmware);
	free_strv(t->renode.commands, t->renode.ncommands);
	for (size_t i = 0; t->channels && i < t->nchannels; i++) {
		free(t->channels[i].name);
		free(t->channels[i].renode_uart);
	}
	free(t->channels);
	for (size_t i = 0; t->pins && i < t->npins; i++) {
		free(t->pins[i].name);
		free(t->pins[i].object);
		free(t->pins[i].property);
		free(t->pins[i].channel);
	}
	free(t->pins);
}

void config_free(struct emufs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->targets && i < cfg->ntargets; i++)
		free_target(&cfg->targets[i]);
	free(cfg->targets);
	for (size_t i = 0; cfg->instances && i < cfg->ninstances; i++) {
		free(cfg->instances[i].name);
		free(cfg->instances[i].target);
	}
	free(cfg->instances);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const struct cfg_target *config_find_target(const struct emufs_config *cfg,
					    const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->ntargets; i++)
		if (cfg->targets[i].name && !strcmp(cfg->targets[i].name, name))
			return &cfg->targets[i];
	return NULL;
}

bool config_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return false;
	for (i = 0; name[i]; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');
		if (i == 0 ? !alnum : !alnum && ch != '_' && ch != '.' && ch != '-')
			return false;
		if (i >= NAME_MAX_BYTES)
			return false;
	}
	return true;
}

/* The fixed names of an instance directory (docs/reference.md, "The
 * tree"). fs/kinds.c serves them; tests/unit/test_fs_kinds.c checks that
 * its table and this list name the same files. */
const char *const config_reserved_names[] = { "ctl", "state", "target", "log",
					      "events", "props", "gpio", "qmp",
					      "monitor", "gdb", "firmware",
					      "follow", "snapshots", "trace",
					      NULL };

bool config_name_reserved(const char *name)
{
	size_t l, sl = strlen(CONFIG_RESERVED_SUFFIX);

	if (!name)
		return false;
	for (size_t i = 0; config_reserved_names[i]; i++)
		if (!strcmp(name, config_reserved_names[i]))
			return true;
	l = strlen(name);
	return l >= sl && !strcmp(name + l - sl, CONFIG_RESERVED_SUFFIX);
}
