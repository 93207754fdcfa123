/* renode_props.c - Renode's peripherals as props/ (docs/reference.md 3.4).
 *
 * props/sysbus/usart2/ is the peripheral sysbus.usart2: its child
 * peripherals (from `peripherals`) are directories, its properties and
 * value fields (from the help text a bare peripheral path prints) are
 * files, 0444 when "available for 'get'" only, 0644 when settable. Read
 * runs `sysbus.usart2 BaudRate`, write `sysbus.usart2 BaudRate 9600`.
 *
 * Why emufs refuses writes to get-only properties itself: Renode's monitor
 * answers `path Property value` for a property it cannot set by printing
 * the property's value, without an error (Monitor.ExecuteDeviceAction).
 *
 * Caching: the peripheral tree for TREE_TTL_MS and each peripheral's
 * property list for HELP_TTL_MS, per run, so a directory listing and the
 * kernel's lookups that follow cost one round trip each; values are never
 * cached. A new run starts with an empty cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "core/clock.h"
#include "core/run.h"
#include "renode_props.h"
#include "renode_run.h"
#include "renode_parse.h"

#define TREE_TTL_MS 1000
#define HELP_TTL_MS 5000
#define HELP_CACHE_MAX 128

struct help_entry {
	char *path;                /* peripheral path */
	struct renode_prop *props;
	size_t n;
	long long fetched_ms;
	struct help_entry *next;
};

struct renode_cache {
	pthread_mutex_t lock;      /* protects everything below */
	struct renode_periph *tree;
	size_t ntree;
	long long tree_ms;         /* 0: none */
	struct help_entry *help;   /* most recent first */
	size_t nhelp;
};

struct renode_cache *renode_cache_new(void)
{
	struct renode_cache *c = calloc(1, sizeof *c);
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void help_free(struct help_entry *h)
{
	renode_props_free(h->props, h->n);
	free(h->path);
	free(h);
}

void renode_cache_free(struct renode_cache *c)
{
	if (!c)
		return;
	renode_periphs_free(c->tree, c->ntree);
	while (c->help) {
		struct help_entry *h = c->help;
		c->help = h->next;
		help_free(h);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct renode_cache *cache_of(struct run *r)
{
	struct renode_run *rr = r->priv;
	return rr ? rr->cache : NULL;
}

/* ---- the peripheral tree ------------------------------------------- */

static struct renode_periph *copy_tree(const struct renode_periph *src,
				       size_t n)
{
	struct renode_periph *v = calloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		v[i].path = strdup(src[i].path);
		v[i].type = strdup(src[i].type);
		v[i].mapped = src[i].mapped;
		if (!v[i].path || !v[i].type) {
			renode_periphs_free(v, i + 1);
			return NULL;
		}
	}
	return v;
}

int renode_peripherals(struct run *r, struct renode_periph **out, size_t *n)
{
	struct renode_cache *c = cache_of(r);
	if (!c)
		return -ESRCH;
	long long now = clock_now_ms();
	pthread_mutex_lock(&c->lock);
	if (c->tree_ms && now - c->tree_ms < TREE_TTL_MS) {
		*out = copy_tree(c->tree, c->ntree);
		*n = c->ntree;
		pthread_mutex_unlock(&c->lock);
		return *out ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&c->lock);

	/* No lock across the round trip: two lookups may both fetch. */
	struct robot_result res;
	char *text = NULL;
	int rc = renode_exec(r, "peripherals", &text, &res);
	if (rc) {
		char line[200];
		run_log(r, "renode: peripherals: %s",
			     robot_error_line(&res, line, sizeof line));
		robot_result_clear(&res);
		return robot_errno_as(rc, ROBOT_ASK_QUERY);
	}
	robot_result_clear(&res);
	rc = renode_parse_peripherals(text, out, n);
	free(text);
	if (rc)
		return rc;
	struct renode_periph *keep = copy_tree(*out, *n);
	if (keep) {
		pthread_mutex_lock(&c->lock);
		renode_periphs_free(c->tree, c->ntree);
		c->tree = keep;
		c->ntree = *n;
		c->tree_ms = now;
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
}

static ssize_t find_periph(const struct renode_periph *t, size_t n,
			   const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].path, path))
			return (ssize_t)i;
	return -1;
}

int renode_peripheral_type(struct run *r, const char *path, char **type)
{
	struct renode_periph *t;
	size_t n;
	int rc = renode_peripherals(r, &t, &n);
	if (rc)
		return rc;
	ssize_t i = find_periph(t, n, path);
	rc = i < 0 ? -ENOENT : (*type = strdup(t[i].type)) ? 0 : -ENOMEM;
	renode_periphs_free(t, n);
	return rc;
}

/* ---- properties of one peripheral ---------------------------------- */

static struct renode_prop *copy_props(const struct renode_prop *src,
				      size_t n)
{
	struct renode_prop *v = calloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		v[i] = src[i];
		v[i].name = strdup(src[i].name);
		v[i].type = strdup(src[i].type);
		if (!v[i].name || !v[i].type) {
			renode_props_free(v, i + 1);
			return NULL;
		}
	}
	return v;
}

/* The properties of a peripheral (path known to exist): a private copy. */
static int get_props(struct run *r, const char *path,
		     struct renode_prop **out, size_t *n)
{
	struct renode_cache *c = cache_of(r);
	long long now = clock_now_ms();
	pthread_mutex_lock(&c->lock);
	for (struct help_entry **pp = &c->help, *h; (h = *pp);
	     pp = &h->next) {
		if (strcmp(h->path, path))
			continue;
		if (now - h->fetched_ms < HELP_TTL_MS) {
			*out = copy_props(h->props, h->n);
			*n = h->n;
			pthread_mutex_unlock(&c->lock);
			return *out ? 0 : -ENOMEM;
		}
		*pp = h->next;          /* stale */
		c->nhelp--;
		help_free(h);
		break;
	}
	pthread_mutex_unlock(&c->lock);

	if (!renode_path_ok(path))
		return -ENOENT;
	struct robot_result res;
	char *text = NULL;
	int rc = renode_exec(r, path, &text, &res);
	if (rc) {
		char line[200];
		run_log(r, "renode: %s: %s", path,
			     robot_error_line(&res, line, sizeof line));
		robot_result_clear(&res);
		return robot_errno_as(rc, ROBOT_ASK_NAME);
	}
	robot_result_clear(&res);
	rc = renode_parse_help(text, out, n);
	free(text);
	if (rc)
		return rc;
	struct help_entry *h = calloc(1, sizeof *h);
	if (!h)
		return 0;
	h->path = strdup(path);
	h->props = copy_props(*out, *n);
	h->n = *n;
	h->fetched_ms = now;
	if (!h->path || !h->props) {
		renode_props_free(h->props, h->props ? h->n : 0);
		free(h->path);
		free(h);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	h->next = c->help;
	c->help = h;
	if (++c->nhelp > HELP_CACHE_MAX) {      /* drop the oldest */
		struct help_entry **pp = &c->help;
		while ((*pp)->next)
			pp = &(*pp)->next;
		help_free(*pp);
		*pp = NULL;
		c->nhelp--;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- props/ paths -------------------------------------------------- */

/* "sysbus/usart2" -> "sysbus.usart2" */
static char *dotted(const char *rel, size_t len)
{
	char *p = strndup(rel, len);
	for (char *q = p; q && *q; q++)
		if (*q == '/')
			*q = '.';
	return p;
}

/* A property file: its peripheral, name and what the help text says. */
struct prop_ref {
	char *periph;
	const char *name;
	struct renode_prop prop;   /* name/type owned here */
};

static void prop_ref_free(struct prop_ref *p)
{
	free(p->periph);
	free(p->prop.name);
	free(p->prop.type);
}

static int find_prop(struct run *r, const char *rel, struct prop_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	const char *slash = strrchr(rel, '/');
	if (!slash)
		return -ENOENT;         /* only peripherals at the top */
	ref->name = slash + 1;
	if (!(ref->periph = dotted(rel, slash - rel)))
		return -ENOMEM;
	if (!renode_path_ok(ref->periph)) {
		prop_ref_free(ref);
		return -ENOENT;
	}
	struct renode_periph *t;
	size_t nt;
	int rc = renode_peripherals(r, &t, &nt);
	if (rc)
		goto fail;
	bool known = find_periph(t, nt, ref->periph) >= 0;
	renode_periphs_free(t, nt);
	if (!known) {
		rc = -ENOENT;
		goto fail;
	}
	struct renode_prop *p;
	size_t np;
	if ((rc = get_props(r, ref->periph, &p, &np)))
		goto fail;
	rc = -ENOENT;
	for (size_t i = 0; i < np; i++) {
		if (strcmp(p[i].name, ref->name))
			continue;
		ref->prop = p[i];
		p[i].name = p[i].type = NULL;
		rc = 0;
		break;
	}
	renode_props_free(p, np);
	if (rc == 0)
		return 0;
fail:
	prop_ref_free(ref);
	return rc;
}

int renode_prop_lookup(struct run *r, const char *rel, struct prop_info *info)
{
	memset(info, 0, sizeof *info);
	info->kind = PROP_DIR;
	if (!*rel)
		return 0;
	char *path = dotted(rel, strlen(rel));
	if (!path)
		return -ENOMEM;
	struct renode_periph *t;
	size_t nt;
	int rc = renode_peripherals(r, &t, &nt);
	if (rc == 0) {
		bool dir = find_periph(t, nt, path) >= 0;
		renode_periphs_free(t, nt);
		if (!dir) {
			struct prop_ref ref;
			if ((rc = find_prop(r, rel, &ref)) == 0) {
				info->kind = PROP_FILE;
				info->readonly = !ref.prop.set;
				prop_ref_free(&ref);
			}
		}
	}
	free(path);
	return rc;
}

static int add_entry(struct prop_entry **v, size_t *n, size_t *cap,
		     const char *name, const char *type, enum prop_kind kind,
		     bool readonly)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return 0;       /* a child peripheral hides a property */
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct prop_entry *nv = realloc(*v, nc * sizeof **v);
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	struct prop_entry *e = &(*v)[*n];
	*e = (struct prop_entry){ 0 };
	e->name = strdup(name);
	e->type = strdup(type);
	e->kind = kind;
	e->readonly = readonly;
	if (!e->name || !e->type) {
		free(e->name);
		free(e->type);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

int renode_prop_list(struct run *r, const char *rel, struct prop_entry **ents,
		     size_t *n)
{
	struct prop_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	char *path = dotted(rel, strlen(rel));
	struct renode_periph *t = NULL;
	size_t nt = 0;
	int rc = path ? renode_peripherals(r, &t, &nt) : -ENOMEM;
	if (rc)
		goto out;
	size_t pl = strlen(path);
	if (pl && find_periph(t, nt, path) < 0) {
		rc = -ENOENT;
		goto out;
	}
	/* Child peripherals: one more component below path. */
	for (size_t i = 0; i < nt && rc == 0; i++) {
		const char *p = t[i].path, *rest;
		if (pl == 0)
			rest = p;
		else if (!strncmp(p, path, pl) && p[pl] == '.')
			rest = p + pl + 1;
		else
			continue;
		if (!strchr(rest, '.'))
			rc = add_entry(&v, &cnt, &cap, rest, t[i].type,
				       PROP_DIR, false);
	}
	if (rc == 0 && pl) {
		struct renode_prop *p;
		size_t np;
		if ((rc = get_props(r, path, &p, &np)) == 0) {
			for (size_t i = 0; i < np && rc == 0; i++)
				rc = add_entry(&v, &cnt, &cap, p[i].name,
					       p[i].type, PROP_FILE,
					       !p[i].set);
			renode_props_free(p, np);
		}
	}
out:
	renode_periphs_free(t, nt);
	free(path);
	if (rc) {
		prop_entries_free(v, cnt);
		return rc;
	}
	*ents = v ? v : calloc(1, sizeof *v);
	*n = cnt;
	return *ents ? 0 : -ENOMEM;
}

int renode_prop_get(struct run *r, const char *rel, char **text)
{
	struct prop_ref ref;
	int rc = find_prop(r, rel, &ref);
	if (rc)
		return rc;
	if (!ref.prop.get) {
		run_log(r, "read of props/%s refused: Renode "
			     "offers %s.%s for 'set' only", rel, ref.periph,
			     ref.name);
		prop_ref_free(&ref);
		return -EACCES;
	}
	char *line = NULL, *out = NULL;
	struct robot_result res = { 0 };
	if (asprintf(&line, "%s %s", ref.periph, ref.name) < 0) {
		line = NULL;
		rc = -ENOMEM;
	} else if ((rc = renode_exec(r, line, &out, &res))) {
		char why[200];
		run_log(r, "read of props/%s failed: %s", rel,
			     robot_error_line(&res, why, sizeof why));
		rc = robot_errno_as(rc, ROBOT_ASK_QUERY);
	} else if (!(*text = renode_format_value(ref.prop.type, out))) {
		rc = -ENOMEM;
	}
	robot_result_clear(&res);
	free(out);
	free(line);
	prop_ref_free(&ref);
	return rc;
}

int renode_prop_set(struct run *r, const char *rel, const char *text,
		    size_t len)
{
	struct prop_ref ref;
	char why[200];
	int rc = find_prop(r, rel, &ref);
	if (rc)
		return rc;
	if (!ref.prop.set) {
		run_log(r, "write to props/%s refused: not "
			     "writable (Renode offers it for 'get' only)",
			     rel);
		prop_ref_free(&ref);
		return -EACCES;
	}
	char *tok = renode_value_token(ref.prop.type, text, len, why,
				       sizeof why);
	if (!tok) {
		run_log(r, "write to props/%s refused: %s (type "
			     "%s)", rel, why, ref.prop.type);
		prop_ref_free(&ref);
		return -EINVAL;
	}
	char *line = NULL, *out = NULL;
	struct robot_result res = { 0 };
	if (asprintf(&line, "%s %s %s", ref.periph, ref.name, tok) < 0) {
		line = NULL;
		rc = -ENOMEM;
	} else if ((rc = renode_exec(r, line, &out, &res))) {
		run_log(r, "write to props/%s %s: %s", rel,
			     rc == -EINVAL ? "refused" : "failed",
			     robot_error_line(&res, why, sizeof why));
	} else if (out[strspn(out, " \t\n")]) {
		/* A set prints nothing; the monitor printed the value
		 * instead: it did not consider the property settable. */
		run_log(r, "write to props/%s refused: Renode "
			     "read the property instead of setting it",
			     rel);
		rc = -EACCES;
	}
	robot_result_clear(&res);
	free(out);
	free(line);
	free(tok);
	prop_ref_free(&ref);
	return rc;
}
