/* config_attach.c - targets.*.attach (see config_attach.h):
 *
 *   "attach": {"qmp": "HOST:PORT", "serial": {"serial0": "HOST:PORT"},
 *              "gdb": "HOST:PORT"}
 *
 * HOST is an IP address ("[::1]" for IPv6) or a name; with settings.tls
 * it is the name QEMU's server certificate must carry. The serial object
 * names the target's channels, as targets.*.serial does for a target
 * emufs starts (which attach does not take: no UART index to give);
 * config_target.c reads it as it reads that one, each value through
 * cfg_attach_channel. Freed with the target (config.c).
 */
#include "config_attach.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

/* "HOST:PORT" into e; -1 with the message at key. */
static int parse_endpoint(struct cfg_ctx *c, const char *key, const char *s,
			  struct cfg_endpoint *e)
{
	char esc[96];
	const char *hs = s, *he, *port;

	if (s[0] == '[') {                       /* [v6]:port */
		hs = s + 1;
		he = strchr(hs, ']');
		port = he && he[1] == ':' ? he + 2 : NULL;
	} else {
		he = strrchr(s, ':');
		port = he ? he + 1 : NULL;
		if (he && memchr(s, ':', he - s))
			port = NULL;             /* a bare IPv6 literal */
	}
	size_t plen = port ? strlen(port) : 0;
	bool ok = port && he > hs && plen && plen <= 5 &&
		  strspn(port, "0123456789") == plen &&
		  strtol(port, NULL, 10) > 0 && strtol(port, NULL, 10) < 65536 &&
		  !memchr(hs, ' ', he - hs);
	if (!ok)
		return cfg_fail_at(c, key, "expected \"HOST:PORT\" (an "
				   "address or name, a port from 1 to 65535; "
				   "\"[::1]:PORT\" for IPv6), got \"%s\"",
				   cfg_esc(s, esc, sizeof esc));
	e->host = strndup(hs, he - hs);
	e->port = strdup(port);
	e->text = strdup(s);
	if (!e->host || !e->port || !e->text)
		return cfg_fail_at(c, key, "out of memory");
	return 0;
}

static int get_endpoint(struct cfg_ctx *c, json_t *obj, const char *key,
			bool required, struct cfg_endpoint *e)
{
	json_t *v;
	if (cfg_field(c, obj, key, JSON_STRING, "a string \"HOST:PORT\"",
		      required, &v))
		return -1;
	return v ? parse_endpoint(c, key, json_string_value(v), e) : 0;
}

int cfg_attach_channel(struct cfg_ctx *c, json_t *v,
		       const struct cfg_target *t, struct cfg_channel *ch)
{
	if (!json_is_string(v))
		return cfg_fail_at(c, ch->name, "expected a string "
				   "\"HOST:PORT\", got %s", cfg_type_name(v));
	return parse_endpoint(c, ch->name, json_string_value(v),
			      &t->attach->serial[ch - t->channels]);
}

int cfg_parse_attach(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
	static const char *const keys[] = { "qmp", "serial", "gdb", NULL };
	json_t *a;

	if (cfg_field(c, obj, "attach", JSON_OBJECT, "an object", true, &a))
		return -1;
	if (!(t->attach = calloc(1, sizeof *t->attach)))
		return cfg_fail_at(c, "attach", "out of memory");
	size_t saved = cfg_path_push(c, "attach");
	json_t *ser;
	if (cfg_check_keys(c, a, keys) ||
	    get_endpoint(c, a, "qmp", true, &t->attach->qmp) ||
	    get_endpoint(c, a, "gdb", false, &t->attach->gdb) ||
	    cfg_field(c, a, "serial", JSON_OBJECT, "an object", false, &ser))
		return -1;
	/* One endpoint per channel; the channels themselves are read as a
	 * launched target's are (config_target.c, cfg_attach_channel). */
	if (ser && json_object_size(ser) &&
	    !(t->attach->serial = calloc(json_object_size(ser),
					 sizeof *t->attach->serial)))
		return cfg_fail_at(c, "serial", "out of memory");
	cfg_path_pop(c, saved);
	return 0;
}

static bool endpoint_local(const struct cfg_endpoint *e)
{
	return !e->host || config_addr_loopback(e->host) ||
	       !strcmp(e->host, "localhost");
}

int cfg_check_attach_local(struct cfg_ctx *c, const struct cfg_target *t)
{
	const struct cfg_attach *a = t->attach;
	const struct cfg_endpoint *bad = NULL;
	const char *key = NULL;
	char esc[96];

	if (!endpoint_local(&a->qmp))
		bad = &a->qmp, key = "qmp";
	else if (!endpoint_local(&a->gdb))
		bad = &a->gdb, key = "gdb";
	for (size_t i = 0; !bad && i < t->nchannels; i++)
		if (!endpoint_local(&a->serial[i]))
			bad = &a->serial[i], key = t->channels[i].name;
	if (!bad)
		return 0;
	size_t saved = cfg_path_push(c, "targets");
	cfg_path_push(c, t->name);
	cfg_path_push(c, "attach");
	if (bad != &a->qmp && bad != &a->gdb)
		cfg_path_push(c, "serial");
	cfg_fail_at(c, key, "\"%s\" is not a loopback address: links off "
		    "this machine need settings.tls",
		    cfg_esc(bad->text, esc, sizeof esc));
	cfg_path_pop(c, saved);
	return -1;
}
