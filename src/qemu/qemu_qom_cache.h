/* qemu_qom_cache.h - what a run knows of QEMU's QOM tree between requests:
 * qom-list results, where link properties point, and the properties QEMU
 * refused to read or write (qemu_qom.c uses it; see docs/design.md,
 * "props/ caching").
 *
 * A listing and the link targets learnt for it live until QEMU says the
 * tree changed, not for a fixed time: qom_cache_invalidate() drops them
 * all (a DEVICE_ADDED, DEVICE_DELETED or RESET event, a raw command that
 * may add or remove objects, the end of the run), qom_cache_forget_link()
 * one link's target (a qom-set of that link through emufs). Values are
 * never kept.
 *
 * Every invalidation bumps a generation. What a caller fetched without
 * the lock is stored only if the generation it started from is still the
 * current one, so a qom-list or qom-get answered before a change never
 * lands in the cache after it.
 */
#ifndef EMUFS_QEMU_QOM_CACHE_H
#define EMUFS_QEMU_QOM_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/connector.h"

struct qom_cache;

/* One qom-list result. ents and n are immutable once built; links is
 * the cache's (qom_listing_link()). */
struct qom_listing {
	atomic_int refs;           /* the cache's and each user's */
	char *path;                /* QOM path, "/machine/soc" */
	struct prop_entry *ents;
	size_t n;
	/* Where each link property points, learnt on first lookup: NULL
	 * until known, "" for an unset link. Protected by the cache's
	 * lock. */
	char **links;
	struct qom_listing *next;  /* the cache's list */
};

/* Asks QEMU for the listing of path (qom-list): 0 or -errno. */
typedef int (*qom_fetch_fn)(void *ctx, const char *path,
			    struct prop_entry **ents, size_t *n);

struct qom_cache *qom_cache_new(void);
void qom_cache_free(struct qom_cache *c);

/* The generation now: pass it to the stores below after a fetch. */
unsigned long qom_cache_gen(struct qom_cache *c);

/* The listing of path with a reference (qom_listing_put()): from the
 * cache, else fetched with fetch (no lock held across it) and kept
 * unless the tree changed meanwhile. */
int qom_cache_listing(struct qom_cache *c, const char *path,
		      qom_fetch_fn fetch, void *ctx,
		      struct qom_listing **out);
void qom_listing_put(struct qom_listing *l);
/* The index of name in l, or -1. */
long qom_listing_find(const struct qom_listing *l, const char *name);

/* Where link i of l points as last learnt: malloc'd, or NULL when not
 * known (ask QEMU, then qom_listing_set_link() with the generation read
 * before asking). */
char *qom_listing_link(struct qom_cache *c, struct qom_listing *l,
		       size_t i);
void qom_listing_set_link(struct qom_cache *c, struct qom_listing *l,
			  size_t i, const char *target, unsigned long gen);

/* QEMU says the tree may have changed: drop every listing. */
void qom_cache_invalidate(struct qom_cache *c);
/* The link name of QOM object path was set: forget where it points. */
void qom_cache_forget_link(struct qom_cache *c, const char *path,
			   const char *name);

/* Whether a QMP event says objects came or went (DEVICE_ADDED,
 * DEVICE_DELETED, RESET). */
bool qom_event_changes_tree(const char *event);
/* Whether a command may add or remove objects or retarget links: all but
 * those known to only read (query-*, qom-get, qom-list, ...). */
bool qom_command_may_change_tree(const char *execute);

/* Properties QEMU refused to read or write this run. */
enum { QOM_NOREAD = 1, QOM_NOWRITE = 2 };
unsigned qom_denied_bits(struct qom_cache *c, const char *path,
			 const char *name);
/* QEMU refused (path, name) what bit says; remembered for the run (out
 * of memory: not remembered, the mode stays wider than the truth). */
void qom_denied_add(struct qom_cache *c, const char *path,
		    const char *name, unsigned bit);

#endif
