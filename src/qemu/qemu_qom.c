/* qemu_qom.c - QEMU's QOM tree as props/ (docs/reference.md 3.4).
 *
 * props/<a>/<b> is the QOM object /a/b; its child<> properties are
 * directories, its link<> properties symlinks to the linked object's
 * directory (a file holding the path when the link is unset), every other
 * property a file read with qom-get and written with qom-set.
 *
 * Caching (qemu_qom_cache.h): a qom-list result and the targets of its
 * links are kept until QEMU says the tree changed (an event, a command
 * through emufs that may change it, a qom-set of the link). A path lookup
 * walks one listing (its parent's), so only the first `ls -l` or `cat` of
 * a directory costs round trips beyond the value's own qom-get. Values
 * are never cached. A new run starts with an empty cache; each change
 * tells the adapter (run_props_changed()), which drops what it let the
 * kernel keep.
 *
 * Modes: QOM does not say over QMP whether a property can be read or
 * written (qom-list and qom-list-properties give a name and a type, and
 * read-only is often only "not after realize"), so a property file is
 * 0644 until QEMU refuses: a qom-get refused for an existing property
 * ("not readable": legacy-memory) takes away its r bits, a qom-set found
 * not writable its w bit, for the rest of the run (the denied list).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run.h"
#include "core/propval.h"
#include "qemu_qom.h"
#include "qemu_qom_cache.h"
#include "qemu_run.h"
#include "qmp.h"

/* The run's cache (qemu_qom_cache.h). */
static struct qom_cache *cache_of(struct run *r)
{
	return ((struct qemu_run *)r->priv)->qom;
}

static unsigned denied_bits(struct run *r, const char *path,
			    const char *name)
{
	return qom_denied_bits(cache_of(r), path, name);
}

/* QEMU refused (path, name) what bit says: the file's mode changes, so
 * the adapter forgets the attributes it let the kernel keep. */
static void denied_add(struct run *r, const char *path, const char *name,
		       unsigned bit)
{
	qom_denied_add(cache_of(r), path, name, bit);
	run_props_changed(r);
}

/* "machine/soc" -> "/machine/soc"; "" -> "/". */
static char *qom_path(const char *rel)
{
	char *p;
	return asprintf(&p, "/%s", rel) < 0 ? NULL : p;
}

/* Split rel into its parent's QOM path and the last name. */
static int split(const char *rel, char **parent, const char **name)
{
	const char *slash = strrchr(rel, '/');
	*name = slash ? slash + 1 : rel;
	if (asprintf(parent, "/%.*s", slash ? (int)(slash - rel) : 0,
		     rel) < 0)
		return -ENOMEM;
	return 0;
}

static int fetch_listing(void *ctx, const char *path,
			 struct prop_entry **ents, size_t *n)
{
	struct run *r = ctx;
	struct qmp *q = qemu_run_qmp(r);
	struct qmp_error err;
	json_t *ret = NULL;
	if (!q)
		return -ESRCH;
	json_t *args = json_pack("{s:s}", "path", path);
	/* A path QOM does not know is ENOENT (qmp_errno_for()). */
	int rc = qmp_execute(q, "qom-list", args, r->timeout_ms, &ret, &err);
	json_decref(args);
	if (rc)
		return rc;
	size_t cnt = json_array_size(ret);
	struct prop_entry *e = calloc(cnt ? cnt : 1, sizeof *e);
	if (!e) {
		json_decref(ret);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		json_t *it = json_array_get(ret, i);
		const char *nm = json_string_value(json_object_get(it, "name"));
		const char *ty = json_string_value(json_object_get(it, "type"));
		if (!nm || !ty || !*nm || strchr(nm, '/') ||
		    !strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;       /* not representable as a file name */
		e[k].name = strdup(nm);
		e[k].type = strdup(ty);
		e[k].kind = !strncmp(ty, "child<", 6)  ? PROP_DIR
			    : !strncmp(ty, "link<", 5) ? PROP_LINK
						       : PROP_FILE;
		if (!e[k].name || !e[k].type) {
			prop_entries_free(e, k + 1);
			json_decref(ret);
			return -ENOMEM;
		}
		k++;
	}
	json_decref(ret);
	*ents = e;
	*n = k;
	return 0;
}

/* The listing of a QOM path with a reference (qom_listing_put() it). */
static int listing_get(struct run *r, const char *path,
		       struct qom_listing **out)
{
	return qom_cache_listing(cache_of(r), path, fetch_listing, r, out);
}

/* Find name in the listing of parent: its kind and type (malloc'd). */
static int find_entry(struct run *r, const char *parent, const char *name,
		      enum prop_kind *kind, char **type)
{
	struct qom_listing *l;
	int rc = listing_get(r, parent, &l);
	if (rc)
		return rc;
	long i = qom_listing_find(l, name);
	rc = i < 0 ? -ENOENT : 0;
	if (i >= 0) {
		*kind = l->ents[i].kind;
		if (type && !(*type = strdup(l->ents[i].type)))
			rc = -ENOMEM;
	}
	qom_listing_put(l);
	return rc;
}

static int qom_get(struct run *r, const char *path, const char *name,
		   json_t **value, struct qmp_error *err)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return -ESRCH;
	json_t *args = json_pack("{s:s,s:s}", "path", path, "property",
				 name);
	int rc = qmp_execute(q, "qom-get", args, r->timeout_ms, value, err);
	json_decref(args);
	return rc;
}

static int qom_set(struct run *r, const char *path, const char *name,
		   json_t *value, struct qmp_error *err)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return -ESRCH;
	json_t *args = json_pack("{s:s,s:s,s:O}", "path", path, "property",
				 name, "value", value);
	int rc = qmp_execute(q, "qom-set", args, r->timeout_ms, NULL, err);
	json_decref(args);
	return rc;
}

/* Where a link points, as a symlink target relative to the directory the
 * link lives in (depth components below props/), or NULL when unset. */
static char *link_target(const char *target, int depth)
{
	if (!target || target[0] != '/' || !target[1])
		return NULL;
	size_t len = 3 * depth + strlen(target);
	char *out = malloc(len + 2);
	if (!out)
		return NULL;
	char *o = out;
	for (int i = 0; i < depth; i++)
		o = stpcpy(o, "../");
	strcpy(o, target + 1);
	return out;
}

static int depth_of(const char *rel)
{
	int d = 0;
	for (const char *p = rel; *p; p++)
		d += *p == '/';
	return d;      /* the link's directory is rel less its last name */
}

/* Where link i of listing l (of QOM path parent) points: malloc'd, ""
 * when unset or unreadable. Asked once per listing: an `ls -l` costs one
 * qom-get per link the first time, none after. */
static char *resolve_link(struct run *r, struct qom_listing *l, size_t i,
			  const char *parent)
{
	struct qom_cache *c = cache_of(r);
	char *known = qom_listing_link(c, l, i);
	if (known)
		return known;

	unsigned long gen = qom_cache_gen(c);
	json_t *v = NULL;
	struct qmp_error err;
	const char *s = "";
	if (qom_get(r, parent, l->ents[i].name, &v, &err) == 0 &&
	    json_string_value(v))
		s = json_string_value(v);
	char *target = strdup(s);
	json_decref(v);
	if (target)
		qom_listing_set_link(c, l, i, target, gen);
	return target;
}

int qemu_prop_lookup(struct run *r, const char *rel, struct prop_info *info)
{
	memset(info, 0, sizeof *info);
	if (!*rel) {
		info->kind = PROP_DIR;
		return 0;
	}
	char *parent;
	const char *name;
	struct qom_listing *l;
	if (split(rel, &parent, &name))
		return -ENOMEM;
	int rc = listing_get(r, parent, &l);
	if (rc) {
		free(parent);
		return rc;
	}
	long i = qom_listing_find(l, name);
	rc = i < 0 ? -ENOENT : 0;
	if (i >= 0)
		info->kind = l->ents[i].kind;
	if (i >= 0 && info->kind == PROP_FILE) {
		unsigned bits = denied_bits(r, parent, name);
		info->unreadable = bits & QOM_NOREAD;
		info->readonly = bits & QOM_NOWRITE;
	} else if (i >= 0 && info->kind == PROP_LINK) {
		/* A link that resolves is a symlink; else a file. */
		char *target = resolve_link(r, l, i, parent);
		info->link = link_target(target, depth_of(rel));
		if (!info->link)
			info->kind = PROP_FILE;
		free(target);
	}
	qom_listing_put(l);
	free(parent);
	return rc;
}

int qemu_prop_list(struct run *r, const char *rel, struct prop_entry **ents,
		   size_t *n)
{
	char *path = qom_path(rel);
	struct qom_listing *l;
	if (!path)
		return -ENOMEM;
	int rc = listing_get(r, path, &l);
	free(path);
	if (rc)
		return rc;
	/* The caller owns its copy: names only matter for readdir. */
	struct prop_entry *e = calloc(l->n ? l->n : 1, sizeof *e);
	for (size_t i = 0; e && i < l->n; i++) {
		e[i] = l->ents[i];
		/* A lookup walks this listing; a link's also asks QEMU
		 * where it points, unless that is known. */
		char *target = e[i].kind == PROP_LINK
				       ? qom_listing_link(cache_of(r), l, i)
				       : NULL;
		e[i].known = e[i].kind != PROP_LINK || target;
		free(target);
		e[i].name = strdup(l->ents[i].name);
		e[i].type = strdup(l->ents[i].type);
		if (!e[i].name || !e[i].type) {
			prop_entries_free(e, i + 1);
			e = NULL;
		}
	}
	*ents = e;
	*n = l->n;
	qom_listing_put(l);
	return e ? 0 : -ENOMEM;
}

int qemu_prop_get(struct run *r, const char *rel, char **text)
{
	char *parent;
	const char *name;
	struct qmp_error err;
	json_t *v = NULL;
	if (split(rel, &parent, &name))
		return -ENOMEM;
	int rc = qom_get(r, parent, name, &v, &err);
	if (rc == -EINVAL) {
		/* The property exists (lookup found it) but reading it
		 * failed: no getter, or the getter refused. */
		run_log(r, "read of props/%s refused: %s: %s", rel,
			     err.cls, err.desc);
		denied_add(r, parent, name, QOM_NOREAD);
		rc = -EACCES;
	} else if (rc) {
		run_log(r, "read of props/%s failed: %s: %s", rel,
			     err.cls, err.desc);
	} else if (!(*text = propval_format(v))) {
		rc = -ENOMEM;
	}
	json_decref(v);
	free(parent);
	return rc;
}

int qemu_prop_set(struct run *r, const char *rel, const char *text,
		  size_t len)
{
	char *parent, *type = NULL;
	const char *name;
	char why[160];
	struct qmp_error err;
	enum prop_kind kind;
	json_t *v = NULL;

	if (split(rel, &parent, &name))
		return -ENOMEM;
	int rc = find_entry(r, parent, name, &kind, &type);
	if (rc)
		goto out;
	if (!(v = propval_parse(type, text, len, why, sizeof why))) {
		run_log(r, "write to props/%s refused: %s (type %s)",
			     rel, why, type);
		rc = -EINVAL;
		goto out;
	}
	rc = qom_set(r, parent, name, v, &err);
	if (rc == -EINVAL) {
		/* QEMU says GenericError both for a value it rejects and for
		 * a property without a setter. Tell them apart without
		 * parsing its text: write back the current value; if that
		 * fails too, the property is not writable. */
		json_t *cur = NULL;
		struct qmp_error e2;
		if (qom_get(r, parent, name, &cur, &e2) == 0 &&
		    qom_set(r, parent, name, cur, &e2) == -EINVAL) {
			rc = -EACCES;
			denied_add(r, parent, name, QOM_NOWRITE);
		}
		json_decref(cur);
		run_log(r, "write to props/%s refused%s: %s: %s",
			     rel, rc == -EACCES ? " (not writable)" : "",
			     err.cls, err.desc);
	} else if (rc) {
		run_log(r, "write to props/%s failed: %s: %s", rel,
			     err.cls, err.desc);
	} else if (kind == PROP_LINK) {
		/* Retargeted (or set, or unset): ask where it points anew,
		 * and the file may now be a symlink or the other way. */
		qom_cache_forget_link(cache_of(r), parent, name);
		run_props_changed(r);
	}
out:
	json_decref(v);
	free(type);
	free(parent);
	return rc;
}

/* ---- pins of the qom backend: a bool property ------------------------ */

int qemu_pin_set(struct run *r, const struct cfg_pin *pin, int level)
{
	struct qmp_error err;
	int rc = qom_set(r, pin->object, pin->property, json_boolean(level),
			 &err);
	if (rc)
		run_log(r, "gpio/%s: qom-set %s %s: %s: %s",
			     pin->name, pin->object, pin->property, err.cls,
			     err.desc);
	return rc;
}
