/* mount.c - the mount's state (fs.h, mount.h): made before the session, freed after
 * it; the list of open files; directory listings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "fs.h"
#include "inode.h"
#include "kinds.h"
#include "resolve.h"
#include "pollers.h"
#include "propcache.h"
#include "handlers.h"
#include "waiters.h"

static void owner_get(void *inst)
{
	instance_get(inst);
}

static void owner_put(void *inst)
{
	instance_put(inst);
}

/* The inode table holds a reference of the instance each inode names. */
static const struct inode_owner_ops instance_owner = { owner_get,
						       owner_put };

int fs_init(struct emufs_fs *fs)
{
	memset(fs, 0, sizeof *fs);
	fs->inodes = inode_table_new(&instance_owner);
	if (!fs->inodes)
		return -ENOMEM;
	pthread_mutex_init(&fs->poll_lock, NULL);
	pthread_mutex_init(&fs->files_lock, NULL);
	pthread_mutex_init(&fs->follow_lock, NULL);
	fs->kickfd = -1;
	clock_gettime(CLOCK_REALTIME, &fs->mounted_at);
	fs_text_init();
	return 0;
}

void fs_file_link(struct emufs_fs *fs, struct fh *fh)
{
	pthread_mutex_lock(&fs->files_lock);
	fh->file_next = fs->files;
	if (fs->files)
		fs->files->file_prev = &fh->file_next;
	fs->files = fh;
	fh->file_prev = &fs->files;
	pthread_mutex_unlock(&fs->files_lock);
}

void fs_file_free(struct emufs_fs *fs, struct fh *fh)
{
	/* file_prev is a link of the list: its neighbour's unlinking
	 * rewrites it, so even the test of whether fh is linked at all is
	 * made under files_lock. */
	pthread_mutex_lock(&fs->files_lock);
	if (fh->file_prev) {
		*fh->file_prev = fh->file_next;
		if (fh->file_next)
			fh->file_next->file_prev = fh->file_prev;
	}
	pthread_mutex_unlock(&fs->files_lock);
	fs_poll_forget(fs, fh);
	if (kind_of(&fh->node)->release)
		kind_of(&fh->node)->release(fh);
	node_release(&fh->node);
	free(fh->text);
	pthread_mutex_destroy(&fh->text_lock);
	free(fh);
}

size_t fs_follow_files_open(void *opaque)
{
	struct emufs_fs *fs = opaque;
	size_t n = 0;
	pthread_mutex_lock(&fs->files_lock);
	for (struct fh *fh = fs->files; fh; fh = fh->file_next)
		n += fh->follow != NULL;
	pthread_mutex_unlock(&fs->files_lock);
	return n;
}

bool fs_files_open(void *opaque)
{
	struct emufs_fs *fs = opaque;
	pthread_mutex_lock(&fs->files_lock);
	bool any = fs->files != NULL;
	pthread_mutex_unlock(&fs->files_lock);
	return any;
}

/* After the session: what the kernel did not release or forget holds
 * instance references, which must go before core_free(). */
void fs_free_open_files(struct emufs_fs *fs)
{
	while (fs->files)
		fs_file_free(fs, fs->files);
	inode_table_free(fs->inodes);
	fs->inodes = NULL;
}

void fs_destroy(struct emufs_fs *fs)
{
	propcache_free(fs);
	inode_table_free(fs->inodes);
	fs->inodes = NULL;
	pthread_mutex_destroy(&fs->poll_lock);
	pthread_mutex_destroy(&fs->files_lock);
	waiters_free(fs);
	pthread_mutex_destroy(&fs->follow_lock);
}

int dirlist_add_plus(struct dirlist *d, const char *name, bool plus)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		char **v = realloc(d->names, cap * sizeof *v);
		if (v)
			d->names = v;
		bool *p = v ? realloc(d->plus, cap * sizeof *p) : NULL;
		if (!p)
			return -ENOMEM;
		d->plus = p;
		d->cap = cap;
	}
	if (!(d->names[d->n] = strdup(name)))
		return -ENOMEM;
	d->plus[d->n++] = plus;
	return 0;
}

int dirlist_add(struct dirlist *d, const char *name)
{
	return dirlist_add_plus(d, name, false);
}
