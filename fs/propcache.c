/* propcache.c - telling the kernel to forget what it keeps of props/
 * (see propcache.h).
 *
 * Why a thread: the hook comes from the core's I/O loop (a QMP event)
 * and from FUSE workers (a qom-set). A notification takes the directory's
 * lock in the kernel, which a LOOKUP in that directory may hold while it
 * waits for a qom-list reply that only the I/O loop can read: sending it
 * from the loop could deadlock, so the loop only queues.
 */
#include "propcache.h"

#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "fs.h"
#include "inode.h"
#include "node.h"

/* How long a write waits for its notifications: they take microseconds;
 * a kernel that does not take them in this time is not waited for. */
#define PROPCACHE_FLUSH_MS 1000

struct propcache {
	pthread_mutex_t lock;      /* protects queue, n, cap, stop */
	pthread_cond_t work;       /* the thread: queued, or stop */
	pthread_cond_t sent;       /* flushers: done moved */
	struct instance **queue;   /* each with a reference, no twice */
	size_t n, cap;
	bool stop;
	/* Tickets: queued counts what was queued, done what was sent
	 * (written under lock, read without it by the fast path). */
	atomic_ulong queued, done;
	struct emufs_fs *fs;
	struct fuse_session *se;
	pthread_t thread;
	bool started;
};

static bool is_props_kind(int k)
{
	return k == N_PROPS || k == N_PROP || k == N_PROP_LINK;
}

/* Every name below inst's props/ that the kernel holds: forget it. The
 * kernel answers ENOENT for a name it no longer has (a directory above
 * it went first): nothing to do then. */
static void forget_props(struct propcache *pc, struct instance *inst)
{
	struct inode_ref *refs;
	size_t n;
	if (inode_owned(pc->fs->inodes, inst, is_props_kind, &refs, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		char *path = refs[i].path, *slash = strrchr(path, '/');
		if (!*path)
			continue;               /* props/ itself stays */
		const char *name = slash ? slash + 1 : path;
		if (slash)
			*slash = '\0';
		struct inode_id dir = { inst, N_PROPS, slash ? path : "" };
		uint64_t parent = inode_find(pc->fs->inodes, &dir);
		if (parent)
			fuse_lowlevel_notify_inval_entry(pc->se, parent, name,
							 strlen(name));
	}
	inode_refs_free(refs, n);
}

static void *propcache_main(void *arg)
{
	struct propcache *pc = arg;
	pthread_mutex_lock(&pc->lock);
	for (;;) {
		while (!pc->stop && !pc->n)
			pthread_cond_wait(&pc->work, &pc->lock);
		if (pc->stop)
			break;
		struct instance **batch = pc->queue;
		size_t n = pc->n;
		unsigned long ticket = atomic_load(&pc->queued);
		pc->queue = NULL;
		pc->n = pc->cap = 0;
		pthread_mutex_unlock(&pc->lock);
		for (size_t i = 0; i < n; i++) {
			forget_props(pc, batch[i]);
			instance_put(batch[i]);
		}
		free(batch);
		pthread_mutex_lock(&pc->lock);
		atomic_store(&pc->done, ticket);
		pthread_cond_broadcast(&pc->sent);
	}
	pthread_mutex_unlock(&pc->lock);
	return NULL;
}

int propcache_start(struct emufs_fs *fs, struct fuse_session *se)
{
	struct propcache *pc = calloc(1, sizeof *pc);
	if (!pc)
		return -ENOMEM;
	pthread_mutex_init(&pc->lock, NULL);
	pthread_cond_init(&pc->work, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pc->sent, &ca);
	pthread_condattr_destroy(&ca);
	pc->fs = fs;
	pc->se = se;
	int rc = pthread_create(&pc->thread, NULL, propcache_main, pc);
	pc->started = rc == 0;
	if (rc)
		pc->stop = true;       /* queue nothing: the kernel's timeouts */
	atomic_store(&fs->propcache, pc);
	return -rc;
}

/* Drop what is queued; pc->lock held. */
static void drain_locked(struct propcache *pc)
{
	for (size_t i = 0; i < pc->n; i++)
		instance_put(pc->queue[i]);
	free(pc->queue);
	pc->queue = NULL;
	pc->n = pc->cap = 0;
	atomic_store(&pc->done, atomic_load(&pc->queued));
	pthread_cond_broadcast(&pc->sent);
}

void propcache_stop(struct emufs_fs *fs)
{
	struct propcache *pc = atomic_load(&fs->propcache);
	if (!pc)
		return;
	pthread_mutex_lock(&pc->lock);
	pc->stop = true;
	pthread_cond_signal(&pc->work);
	pthread_mutex_unlock(&pc->lock);
	if (pc->started)
		pthread_join(pc->thread, NULL);
	pc->started = false;
	pthread_mutex_lock(&pc->lock);
	drain_locked(pc);
	pthread_mutex_unlock(&pc->lock);
}

void propcache_free(struct emufs_fs *fs)
{
	struct propcache *pc = atomic_exchange(&fs->propcache, NULL);
	if (!pc)
		return;
	propcache_stop(fs);
	pthread_mutex_destroy(&pc->lock);
	pthread_cond_destroy(&pc->work);
	pthread_cond_destroy(&pc->sent);
	free(pc);
}

unsigned long propcache_gen(struct emufs_fs *fs)
{
	return atomic_load(&fs->props_gen);
}

void propcache_settle(struct emufs_fs *fs, unsigned long gen,
		      struct fuse_entry_param *e)
{
	/* Either this sees the change, or the change's notifications come
	 * after it (the bump is first) and find the inode: the kernel then
	 * waits for this reply (it holds the directory) and forgets it. */
	if (atomic_load(&fs->props_gen) != gen)
		e->entry_timeout = e->attr_timeout = 0;
}

void fs_props_changed(struct instance *inst, void *opaque)
{
	struct emufs_fs *fs = opaque;
	atomic_fetch_add(&fs->props_gen, 1);   /* before the snapshot */
	struct propcache *pc = atomic_load(&fs->propcache);
	if (!pc)
		return;          /* not mounted yet: the kernel holds nothing */
	pthread_mutex_lock(&pc->lock);
	bool known = pc->stop;
	for (size_t i = 0; !known && i < pc->n; i++)
		known = pc->queue[i] == inst;
	if (!known && pc->n == pc->cap) {
		size_t cap = pc->cap ? 2 * pc->cap : 8;
		struct instance **q = realloc(pc->queue, cap * sizeof *q);
		if (q) {
			pc->queue = q;
			pc->cap = cap;
		}
	}
	/* Out of memory: not queued; the kernel forgets within its
	 * timeout. */
	if (!known && pc->n < pc->cap) {
		instance_get(inst);
		pc->queue[pc->n++] = inst;
	}
	if (!pc->stop)
		atomic_fetch_add(&pc->queued, 1);
	pthread_cond_signal(&pc->work);
	pthread_mutex_unlock(&pc->lock);
}

void propcache_flush(struct emufs_fs *fs)
{
	struct propcache *pc = atomic_load(&fs->propcache);
	if (!pc)
		return;
	unsigned long want = atomic_load(&pc->queued);
	if (atomic_load(&pc->done) >= want)
		return;                  /* the usual case: nothing queued */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += PROPCACHE_FLUSH_MS / 1000;
	dl.tv_nsec += (PROPCACHE_FLUSH_MS % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pc->lock);
	while (atomic_load(&pc->done) < want &&
	       pthread_cond_timedwait(&pc->sent, &pc->lock, &dl) == 0)
		;
	pthread_mutex_unlock(&pc->lock);
}
