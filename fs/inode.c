/* inode.c - the inode table (see inode.h): two chained hash tables over
 * the same entries, one by identity (LOOKUP) and one by number (every
 * other request). */
#include "inode.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct inode {
	uint64_t ino;
	uint64_t nlookup;          /* lookups the kernel holds */
	void *owner;               /* with a reference */
	int kind;
	char *path;
	size_t id_hash;
	bool detached;             /* owner gone (inode_detach_owner): only
				    * in the by-number chain, owner NULL */
	struct inode *by_id_next;
	struct inode *by_ino_next;
};

struct inode_table {
	const struct inode_owner_ops *ops;
	pthread_mutex_t lock;      /* protects everything below and every
				    * inode's nlookup and chain links */
	struct inode **by_id;
	struct inode **by_ino;
	size_t nbuckets;           /* of each; a power of two */
	size_t count;
	uint64_t next_ino;
};

#define INITIAL_BUCKETS 64

static size_t hash_id(const struct inode_id *id)
{
	/* FNV-1a over the path, mixed with the owner and kind. */
	size_t h = 14695981039346656037ULL;
	for (const char *p = id->path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h ^= (size_t)(uintptr_t)id->owner * 0x9E3779B97F4A7C15ULL;
	h ^= (size_t)id->kind * 0xC2B2AE3D27D4EB4FULL;
	return h ^ (h >> 29);
}

static size_t hash_ino(uint64_t ino)
{
	return (size_t)(ino * 0x9E3779B97F4A7C15ULL >> 17);
}

struct inode_table *inode_table_new(const struct inode_owner_ops *ops)
{
	struct inode_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->nbuckets = INITIAL_BUCKETS;
	t->by_id = calloc(t->nbuckets, sizeof *t->by_id);
	t->by_ino = calloc(t->nbuckets, sizeof *t->by_ino);
	if (!t->by_id || !t->by_ino)
		goto fail;
	t->ops = ops;
	t->next_ino = INODE_ROOT + 1;
	pthread_mutex_init(&t->lock, NULL);
	return t;
fail:
	free(t->by_id);
	free(t->by_ino);
	free(t);
	return NULL;
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (struct inode *in = t->by_ino[b], *next; in; in = next) {
			next = in->by_ino_next;
			if (in->owner)
				t->ops->put(in->owner);
			free(in->path);
			free(in);
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t->by_id);
	free(t->by_ino);
	free(t);
}

/* Double both tables when they fill up; on failure keep the old ones
 * (longer chains, still correct). Called with t->lock held. */
static void grow_locked(struct inode_table *t)
{
	size_t n = t->nbuckets * 2;
	struct inode **by_id = calloc(n, sizeof *by_id);
	struct inode **by_ino = calloc(n, sizeof *by_ino);
	if (!by_id || !by_ino) {
		free(by_id);
		free(by_ino);
		return;
	}
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (struct inode *in = t->by_ino[b], *next; in; in = next) {
			next = in->by_ino_next;
			size_t i = hash_ino(in->ino) & (n - 1);
			in->by_ino_next = by_ino[i];
			by_ino[i] = in;
			if (in->detached)
				continue;
			i = in->id_hash & (n - 1);
			in->by_id_next = by_id[i];
			by_id[i] = in;
		}
	}
	free(t->by_id);
	free(t->by_ino);
	t->by_id = by_id;
	t->by_ino = by_ino;
	t->nbuckets = n;
}

static struct inode *find_ino_locked(struct inode_table *t, uint64_t ino)
{
	struct inode *in = t->by_ino[hash_ino(ino) & (t->nbuckets - 1)];
	while (in && in->ino != ino)
		in = in->by_ino_next;
	return in;
}

/* The inode of id (hashed h), or NULL. Called with t->lock held. */
static struct inode *find_id_locked(struct inode_table *t,
				    const struct inode_id *id, size_t h)
{
	struct inode *in = t->by_id[h & (t->nbuckets - 1)];
	while (in && !(in->id_hash == h && in->owner == id->owner &&
		       in->kind == id->kind && !strcmp(in->path, id->path)))
		in = in->by_id_next;
	return in;
}

uint64_t inode_find(struct inode_table *t, const struct inode_id *id)
{
	size_t h = hash_id(id);
	pthread_mutex_lock(&t->lock);
	struct inode *in = find_id_locked(t, id, h);
	uint64_t ino = in ? in->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

int inode_owned(struct inode_table *t, void *owner, bool (*want)(int kind),
		struct inode_ref **out, size_t *n)
{
	struct inode_ref *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; rc == 0 && b < t->nbuckets; b++) {
		for (struct inode *in = t->by_ino[b]; in; in = in->by_ino_next) {
			if (in->detached || in->owner != owner ||
			    !want(in->kind))
				continue;
			if (cnt == cap) {
				size_t c = cap ? 2 * cap : 16;
				struct inode_ref *nv = realloc(v, c * sizeof *nv);
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
				cap = c;
			}
			v[cnt] = (struct inode_ref){ in->ino, in->kind,
						     strdup(in->path) };
			if (!v[cnt++].path) {
				rc = -ENOMEM;
				break;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (rc) {
		inode_refs_free(v, cnt);
		v = NULL;
		cnt = 0;
	}
	*out = v;
	*n = cnt;
	return rc;
}

void inode_refs_free(struct inode_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i].path);
	free(refs);
}

uint64_t inode_lookup(struct inode_table *t, const struct inode_id *id)
{
	size_t h = hash_id(id);
	uint64_t ino = 0;

	pthread_mutex_lock(&t->lock);
	struct inode *in = find_id_locked(t, id, h);
	if (in) {
		in->nlookup++;
		ino = in->ino;
		goto out;
	}
	in = calloc(1, sizeof *in);
	if (!in || !(in->path = strdup(id->path))) {
		free(in);
		goto out;
	}
	if (t->count >= t->nbuckets)
		grow_locked(t);
	in->ino = ino = t->next_ino++;
	in->nlookup = 1;
	in->owner = id->owner;
	in->kind = id->kind;
	in->id_hash = h;
	t->ops->get(in->owner);
	size_t b = h & (t->nbuckets - 1);
	in->by_id_next = t->by_id[b];
	t->by_id[b] = in;
	b = hash_ino(ino) & (t->nbuckets - 1);
	in->by_ino_next = t->by_ino[b];
	t->by_ino[b] = in;
	t->count++;
out:
	pthread_mutex_unlock(&t->lock);
	return ino;
}

int inode_get(struct inode_table *t, uint64_t ino, struct inode_id *out)
{
	int rc = -ENOENT;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&t->lock);
	struct inode *in = find_ino_locked(t, ino);
	if (!in)
		goto out;
	rc = -ESTALE;
	if (in->detached)
		goto out;
	char *path = strdup(in->path);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	/* The reference is taken under the lock: a FORGET right after
	 * cannot drop the owner under the caller. */
	t->ops->get(in->owner);
	out->owner = in->owner;
	out->kind = in->kind;
	out->path = path;
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void inode_id_release(struct inode_table *t, struct inode_id *id)
{
	if (id->owner)
		t->ops->put(id->owner);
	free((char *)id->path);
	memset(id, 0, sizeof *id);
}

static void unlink_id_locked(struct inode_table *t, struct inode *in)
{
	struct inode **pp = &t->by_id[in->id_hash & (t->nbuckets - 1)];
	while (*pp != in)
		pp = &(*pp)->by_id_next;
	*pp = in->by_id_next;
}

/* Unlink in from both chains. Called with t->lock held. */
static void unlink_locked(struct inode_table *t, struct inode *in)
{
	struct inode **pp = &t->by_ino[hash_ino(in->ino) & (t->nbuckets - 1)];
	while (*pp != in)
		pp = &(*pp)->by_ino_next;
	*pp = in->by_ino_next;
	if (!in->detached)
		unlink_id_locked(t, in);
	t->count--;
}

void inode_forget(struct inode_table *t, uint64_t ino, uint64_t nlookup)
{
	struct inode *gone = NULL;

	pthread_mutex_lock(&t->lock);
	struct inode *in = find_ino_locked(t, ino);
	if (in) {
		/* The kernel never forgets more than it looked up. */
		assert(in->nlookup >= nlookup);
		in->nlookup -= nlookup < in->nlookup ? nlookup : in->nlookup;
		if (in->nlookup == 0) {
			unlink_locked(t, in);
			gone = in;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (gone) {
		/* Outside the lock: the last instance reference may free
		 * the instance, which takes the core's locks. */
		if (gone->owner)
			t->ops->put(gone->owner);
		free(gone->path);
		free(gone);
	}
}

void inode_detach_owner(struct inode_table *t, void *owner)
{
	size_t refs = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (struct inode *in = t->by_ino[b]; in; in = in->by_ino_next) {
			if (in->detached || in->owner != owner)
				continue;
			unlink_id_locked(t, in);
			in->detached = true;
			in->owner = NULL;
			refs++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	/* The caller holds a reference of its own: none of these is the
	 * last, but put them outside the lock all the same. */
	while (refs--)
		t->ops->put(owner);
}

size_t inode_count(struct inode_table *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
