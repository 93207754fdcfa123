/* qemu_qom_cache.c - what a run knows of QEMU's QOM tree (see
 * qemu_qom_cache.h): listings and link targets until QEMU says the tree
 * changed, and the properties QEMU refused.
 *
 * Why no time limit: QOM objects appear and go only through commands
 * (device_add, object-add, their *-del) and resets; emufs sees those that
 * pass through it (its own qom-set, the raw qmp file) and QEMU announces
 * devices with events. A timed cache made every `cat` after a second of
 * idleness re-list each directory on the way (the 463-entry gpio object:
 * 20 KB of JSON) and every `ls -l` ask for each link again.
 */
#include "qemu_qom_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Far more than the directories a user walks; past it the oldest goes. */
#define QOM_CACHE_MAX 256

/* A property QEMU refused to read or write this run. */
struct qom_denied {
	char *key;                 /* "QOM path\0name", keylen bytes */
	size_t keylen;
	unsigned bits;             /* QOM_NOREAD | QOM_NOWRITE */
	struct qom_denied *next;
};

struct qom_cache {
	pthread_mutex_t lock;      /* protects head, count, gen, each
				    * listing's next and links, denied and
				    * its entries */
	struct qom_listing *head;  /* most recent first */
	size_t count;
	unsigned long gen;         /* bumped by every invalidation */
	struct qom_denied *denied;
};

struct qom_cache *qom_cache_new(void)
{
	struct qom_cache *c = calloc(1, sizeof *c);
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void qom_listing_put(struct qom_listing *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; l->links && i < l->n; i++)
		free(l->links[i]);
	free(l->links);
	prop_entries_free(l->ents, l->n);
	free(l->path);
	free(l);
}

/* Drop every listing; c->lock held. */
static void drop_all_locked(struct qom_cache *c)
{
	while (c->head) {
		struct qom_listing *l = c->head;
		c->head = l->next;
		qom_listing_put(l);
	}
	c->count = 0;
}

void qom_cache_free(struct qom_cache *c)
{
	if (!c)
		return;
	drop_all_locked(c);
	while (c->denied) {
		struct qom_denied *d = c->denied;
		c->denied = d->next;
		free(d->key);
		free(d);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

unsigned long qom_cache_gen(struct qom_cache *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned long g = c->gen;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void qom_cache_invalidate(struct qom_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->gen++;
	drop_all_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* The cached listing of path, or NULL; c->lock held. */
static struct qom_listing *find_locked(struct qom_cache *c, const char *path)
{
	for (struct qom_listing *l = c->head; l; l = l->next)
		if (!strcmp(l->path, path))
			return l;
	return NULL;
}

void qom_cache_forget_link(struct qom_cache *c, const char *path,
			   const char *name)
{
	pthread_mutex_lock(&c->lock);
	c->gen++;          /* a qom-get of it in flight may be older */
	struct qom_listing *l = find_locked(c, path);
	long i = l ? qom_listing_find(l, name) : -1;
	if (i >= 0) {
		free(l->links[i]);
		l->links[i] = NULL;
	}
	pthread_mutex_unlock(&c->lock);
}

long qom_listing_find(const struct qom_listing *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ents[i].name, name))
			return (long)i;
	return -1;
}

/* A new listing of path fetched now, with one reference; NULL: rc. */
static struct qom_listing *listing_fetch(const char *path, qom_fetch_fn fetch,
					 void *ctx, int *rc)
{
	struct qom_listing *l = calloc(1, sizeof *l);
	if (!l || !(l->path = strdup(path))) {
		free(l);
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = fetch(ctx, path, &l->ents, &l->n);
	if (*rc == 0 && !(l->links = calloc(l->n + 1, sizeof *l->links))) {
		prop_entries_free(l->ents, l->n);
		*rc = -ENOMEM;
	}
	if (*rc) {
		free(l->path);
		free(l);
		return NULL;
	}
	atomic_init(&l->refs, 1);
	return l;
}

int qom_cache_listing(struct qom_cache *c, const char *path,
		      qom_fetch_fn fetch, void *ctx, struct qom_listing **out)
{
	pthread_mutex_lock(&c->lock);
	struct qom_listing *l = find_locked(c, path);
	unsigned long gen = c->gen;
	if (l)
		atomic_fetch_add(&l->refs, 1);
	pthread_mutex_unlock(&c->lock);
	if (l) {
		*out = l;
		return 0;
	}

	/* No lock across the round trip: two lookups may both fetch; the
	 * later one's listing replaces the earlier's. */
	int rc;
	if (!(l = listing_fetch(path, fetch, ctx, &rc)))
		return rc;
	pthread_mutex_lock(&c->lock);
	if (c->gen == gen) {       /* else answered before a change */
		struct qom_listing **pp = &c->head;
		for (; *pp; pp = &(*pp)->next)
			if (!strcmp((*pp)->path, path)) {
				struct qom_listing *old = *pp;
				*pp = old->next;
				qom_listing_put(old);
				c->count--;
				break;
			}
		atomic_fetch_add(&l->refs, 1);      /* the cache's */
		l->next = c->head;
		c->head = l;
		if (++c->count > QOM_CACHE_MAX) {   /* drop the oldest */
			pp = &c->head;
			while ((*pp)->next)
				pp = &(*pp)->next;
			qom_listing_put(*pp);
			*pp = NULL;
			c->count--;
		}
	}
	pthread_mutex_unlock(&c->lock);
	*out = l;
	return 0;
}

char *qom_listing_link(struct qom_cache *c, struct qom_listing *l, size_t i)
{
	pthread_mutex_lock(&c->lock);
	char *known = l->links[i] ? strdup(l->links[i]) : NULL;
	pthread_mutex_unlock(&c->lock);
	return known;
}

void qom_listing_set_link(struct qom_cache *c, struct qom_listing *l,
			  size_t i, const char *target, unsigned long gen)
{
	pthread_mutex_lock(&c->lock);
	if (c->gen == gen && !l->links[i])
		l->links[i] = strdup(target);  /* NULL: asked again later */
	pthread_mutex_unlock(&c->lock);
}

bool qom_event_changes_tree(const char *event)
{
	static const char *const names[] = {
		"DEVICE_ADDED",         /* QEMU 8.2 and later */
		"DEVICE_DELETED",
		"RESET",
	};
	for (size_t i = 0; event && i < sizeof names / sizeof *names; i++)
		if (!strcmp(event, names[i]))
			return true;
	return false;
}

bool qom_command_may_change_tree(const char *execute)
{
	/* Commands that only read; anything else (device_add, object-add,
	 * qom-set, human-monitor-command, ...) may change the tree. */
	static const char *const readers[] = {
		"qom-get", "qom-list", "qom-list-properties", "qom-list-types",
		"device-list-properties", "qmp_capabilities", "stop", "cont",
	};
	if (!execute)
		return false;
	if (!strncmp(execute, "query-", 6))
		return false;
	for (size_t i = 0; i < sizeof readers / sizeof *readers; i++)
		if (!strcmp(execute, readers[i]))
			return false;
	return true;
}

/* ---- refused properties ------------------------------------------------ */

/* The denied entry of (path, name), or NULL; c->lock held. */
static struct qom_denied *denied_find_locked(struct qom_cache *c,
					     const char *path,
					     const char *name)
{
	size_t pl = strlen(path), nl = strlen(name);
	for (struct qom_denied *d = c->denied; d; d = d->next)
		if (d->keylen == pl + 1 + nl && !memcmp(d->key, path, pl + 1) &&
		    !memcmp(d->key + pl + 1, name, nl))
			return d;
	return NULL;
}

unsigned qom_denied_bits(struct qom_cache *c, const char *path,
			 const char *name)
{
	pthread_mutex_lock(&c->lock);
	struct qom_denied *d = denied_find_locked(c, path, name);
	unsigned bits = d ? d->bits : 0;
	pthread_mutex_unlock(&c->lock);
	return bits;
}

void qom_denied_add(struct qom_cache *c, const char *path, const char *name,
		    unsigned bit)
{
	size_t pl = strlen(path), nl = strlen(name);
	pthread_mutex_lock(&c->lock);
	struct qom_denied *d = denied_find_locked(c, path, name);
	if (!d) {
		d = calloc(1, sizeof *d);
		char *key = d ? malloc(pl + 1 + nl) : NULL;
		if (key) {
			memcpy(key, path, pl + 1);
			memcpy(key + pl + 1, name, nl);
			d->key = key;
			d->keylen = pl + 1 + nl;
			d->next = c->denied;
			c->denied = d;
		} else {
			free(d);
			d = NULL;
		}
	}
	if (d)
		d->bits |= bit;
	pthread_mutex_unlock(&c->lock);
}
