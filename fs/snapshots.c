/* snapshots.c - snapshots/ of an instance (docs/reference.md 3.9): one
 * empty directory per saved machine state, made and removed with mkdir
 * and rmdir; st_mtime says when it was saved, st_size how many bytes it
 * takes on disk. What a snapshot is and does is the core's
 * (core/snapshot.h); this is the tree's side.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/snapshot.h"
#include "handlers.h"
#include "mount.h"
#include "resolve.h"

int snapshots_lookup(struct emufs_fs *fs, const struct node *dir,
		     const char *name, struct node *out)
{
	return node_named_child(dir, N_SNAPSHOT, name, out);
}

int snapshots_readdir(struct emufs_fs *fs, const struct node *dir,
		      struct dirlist *out)
{
	char **names;
	size_t n;
	int rc = snapshot_list(dir->inst, &names, &n);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = dirlist_add(out, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int snapshots_mkdir(struct emufs_fs *fs, const struct node *dir,
		    const char *name)
{
	return snapshot_save(dir->inst, name);
}

int snapshots_rmdir(struct emufs_fs *fs, const struct node *dir,
		    const char *name)
{
	return snapshot_delete(dir->inst, name);
}

int snapshot_refresh(struct node *n)
{
	struct timespec when;
	off_t size;
	return snapshot_stat(n->inst, n->name, &when, &size);
}

int snapshot_node_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	int rc = snapshot_stat(n->inst, n->name, &st->st_mtim, &st->st_size);
	st->st_atim = st->st_mtim;
	return rc;
}

/* A snapshot directory has nothing in it. */
int snapshot_lookup(struct emufs_fs *fs, const struct node *dir,
		    const char *name, struct node *out)
{
	return -ENOENT;
}

int snapshot_readdir(struct emufs_fs *fs, const struct node *dir,
		     struct dirlist *out)
{
	return 0;
}
