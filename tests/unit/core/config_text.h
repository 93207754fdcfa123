/* config_text.h - parsing config texts in the unit tests of the
 * configuration (test_config*.c). Texts are written with ' for " to stay
 * readable; dq() turns them back. Include after cmocka.h. */
#ifndef EMUFS_TEST_CONFIG_TEXT_H
#define EMUFS_TEST_CONFIG_TEXT_H

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_load.h"

/* TEXT with every ' turned into ". */
static inline char *dq(const char *text)
{
	char *s = strdup(text);

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static inline struct emufs_config *parse_ok_at(const char *text,
					       const char *path)
{
	struct emufs_config *cfg = NULL;
	char err[512] = "";
	char *s = dq(text);
	int rc = config_parse(s, strlen(s), path, &cfg, err, sizeof err);

	free(s);
	if (rc != 0)
		fail_msg("unexpected refusal: %s", err);
	assert_non_null(cfg);
	return cfg;
}

static inline struct emufs_config *parse_ok(const char *text)
{
	return parse_ok_at(text, "/etc/emufs/demo.json");
}

/* TEXT is refused with exactly MSG. */
static inline void refused(const char *text, const char *msg)
{
	struct emufs_config *cfg = (void *)1;
	char err[512] = "";
	char *s = dq(text);
	int rc = config_parse(s, strlen(s), "demo.json", &cfg, err, sizeof err);

	free(s);
	assert_int_equal(rc, -1);
	assert_null(cfg);
	assert_string_equal(err, msg);
}

#endif
