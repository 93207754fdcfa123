/* config_read.h - reading JSON with the path of every value at hand, for
 * messages that say exactly where a config went wrong. The schema itself
 * (which keys, which types) is config.c's, config_target.c's and each
 * emulator's (emulator.h); this is the reading they share. */
#ifndef EMUFS_CONFIG_READ_H
#define EMUFS_CONFIG_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* State of one parse: where we are in the JSON (for messages) and where
 * the message goes. */
struct cfg_ctx {
	const char *file;    /* the config file, as given, for messages */
	const char *dir;     /* absolute; anchors relative paths */
	char *err;
	size_t errlen;
	char path[512];      /* JSON path of the object being read */
	size_t plen;
};

const char *cfg_esc(const char *s, char *buf, size_t n);
size_t cfg_path_push(struct cfg_ctx *c, const char *key);
size_t cfg_path_push_index(struct cfg_ctx *c, size_t i);
void cfg_path_pop(struct cfg_ctx *c, size_t saved);
int cfg_fail_at(struct cfg_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *cfg_type_name(const json_t *v);
bool cfg_is_type(const json_t *v, json_type t);
int cfg_field(struct cfg_ctx *c, json_t *obj, const char *key, json_type t,
	      const char *what, bool required, json_t **v);
int cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *const *allowed);
int cfg_dup_str(struct cfg_ctx *c, const char *s, char **out);
int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		char **out);
char *cfg_join_dir(const char *dir, const char *p);
int cfg_get_path(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		 char **out);
/* cfg_get_path, and the file must be a readable regular file now. */
int cfg_get_file(struct cfg_ctx *c, json_t *obj, const char *key,
		 bool required, char **out);
int cfg_get_strv(struct cfg_ctx *c, json_t *obj, const char *key,
		 char ***out, size_t *n);
int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *key, bool required,
		long long lo, long long hi, const char *what, long long *out);
/* "binary": a name looked up in PATH at start, or a path (with a '/')
 * made absolute like every other. */
int cfg_get_binary(struct cfg_ctx *c, json_t *obj, char **out);

#endif
