/* config_load.c - load and validate the emufs JSON configuration
 * (docs/reference.md, emufs(1)) into the structs of config.h: the file,
 * its top level, settings and instances (targets: config_target.c).
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
#include "config_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_read.h"
#include "config_target.h"
#include "emulator.h"
#include "tls.h"
#include "config_attach.h"

#define CONFIG_FILE_MAX (16 * 1024 * 1024)
#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 600000
#define LOG_CAP_MIN 4096

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

		if (cfg_check_name(c, name, false) || cfg_dup_str(c, name, &in->name))
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

/* settings.tls: {"dir": DIR}, credentials in the layout of QEMU's
 * tls-creds-x509 (core/tls.h), loaded here once so that a missing or bad
 * file is refused before mounting, the file named. */
static int parse_tls(struct cfg_ctx *c, json_t *s, struct emufs_config *cfg)
{
	static const char *const keys[] = { "dir", NULL };
	json_t *tls = json_object_get(s, "tls");
	if (!tls)
		return 0;
	if (cfg_field(c, s, "tls", JSON_OBJECT, "an object", true, &tls))
		return -1;
	size_t saved = cfg_path_push(c, "tls");
	int rc = cfg_check_keys(c, tls, keys) ||
		 cfg_get_path(c, tls, "dir", true, &cfg->tls_dir);
	if (!rc) {
		struct tls_creds *creds = NULL;
		char why[512];
		if (tls_creds_load(cfg->tls_dir, &creds, why, sizeof why))
			rc = cfg_fail_at(c, "dir", "%s", why);
		tls_creds_free(creds);
	}
	cfg_path_pop(c, saved);
	return rc ? -1 : 0;
}

/* settings.listen: an IP address (a launched emulator's links come back
 * to it, on ports the kernel picks); off loopback only with settings.tls
 * (check_links). */
static int parse_listen(struct cfg_ctx *c, json_t *s, struct emufs_config *cfg)
{
	unsigned char any[sizeof(struct in6_addr)];
	char e[96];

	if (parse_tls(c, s, cfg))
		return -1;
	char *listen = NULL;
	if (cfg_get_str(c, s, "listen", false, &listen))
		return -1;
	if (listen) {
		free(cfg->listen);
		cfg->listen = listen;
	}
	if (inet_pton(AF_INET, cfg->listen, any) != 1 &&
	    inet_pton(AF_INET6, cfg->listen, any) != 1)
		return cfg_fail_at(c, "listen", "expected an IPv4 or IPv6 "
			       "address, got \"%s\"",
			       cfg_esc(cfg->listen, e, sizeof e));
	return 0;
}

/* What may leave this machine: without settings.tls every link is plain
 * TCP, so settings.listen must be loopback; Renode's own ports have no
 * TLS at all, so a Renode target with a launcher needs it whatever TLS
 * does. After the targets: the message names the target that needs it. */
static int check_links(struct cfg_ctx *c, struct emufs_config *cfg)
{
	char e[96];
	bool local = config_addr_loopback(cfg->listen);

	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct cfg_target *t = &cfg->targets[i];
		t->listen = cfg->listen;
		t->tls_dir = cfg->tls_dir;
		if (t->attach && !cfg->tls_dir &&
		    cfg_check_attach_local(c, t))
			return -1;
		if (t->launcher && !local && !t->emulator->tcp_links) {
			size_t saved = cfg_path_push(c, "targets");
			cfg_path_push(c, t->name);
			cfg_fail_at(c, "launcher", "not allowed with "
				    "settings.listen \"%s\" off loopback: %s's "
				    "ports have no TLS; keep the emulator on "
				    "this machine, or tunnel its ports "
				    "(docs/scale-out.md)", cfg_esc(cfg->listen,
				    e, sizeof e), t->emulator->name);
			cfg_path_pop(c, saved);
			return -1;
		}
	}
	if (!local && !cfg->tls_dir) {
		size_t saved = cfg_path_push(c, "settings");
		cfg_fail_at(c, "listen", "\"%s\" is not a loopback address: "
			    "links off this machine need settings.tls",
			    cfg_esc(cfg->listen, e, sizeof e));
		cfg_path_pop(c, saved);
		return -1;
	}
	return 0;
}

static int parse_settings(struct cfg_ctx *c, json_t *root, struct emufs_config *cfg)
{
	static const char *const keys[] = { "request_timeout_ms", "log_cap_bytes",
					    "snapshot_timeout_ms", "listen",
					    "tls", NULL };
	json_t *s;
	long long timeout = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	long long snap = CONFIG_DEFAULT_SNAPSHOT_TIMEOUT_MS;
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
		    "an integer >= 4096", &cfg->log_cap) ||
	    /* From 1 ms: a deadline a save cannot meet is how the tests
	     * see a save cancelled. */
	    cfg_get_int(c, s, "snapshot_timeout_ms", false, 1, TIMEOUT_MAX_MS,
		    "an integer from 1 to 600000", &snap) ||
	    parse_listen(c, s, cfg))
		return -1;
	cfg->request_timeout_ms = (int)timeout;
	cfg->snapshot_timeout_ms = (int)snap;
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
	       config_parse_targets(c, root, cfg) || check_links(c, cfg) ||
	       parse_instances(c, root, cfg) ? -1 : 0;
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
	     cfg_dup_str(&c, file, &cfg->path) || cfg_dup_str(&c, dir, &cfg->dir) ||
	     cfg_dup_str(&c, CONFIG_DEFAULT_LISTEN, &cfg->listen) ? -1 : 0;
	if (!rc) {
		cfg->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
		cfg->log_cap = CONFIG_DEFAULT_LOG_CAP;
		cfg->snapshot_timeout_ms = CONFIG_DEFAULT_SNAPSHOT_TIMEOUT_MS;
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

