/* resolve.c - nodes: from an inode number or a directory entry to the node
 * it names, checked against the instance as it is now (see node.h). */
#include "resolve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "fs.h"
#include "inode.h"
#include "core/instance.h"
#include "kinds.h"

static bool is_props_kind(enum node_kind k)
{
	return k == N_PROPS || k == N_PROP || k == N_PROP_LINK;
}

mode_t node_mode(const struct node *n)
{
	mode_t m = kind_of(n)->mode;
	return m ? m : n->mode;
}

int node_stat(struct emufs_fs *fs, struct node *n, uint64_t ino,
	      struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = node_mode(n);
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtim = st->st_ctim = st->st_atim = fs->mounted_at;
	const struct kind *k = kind_of(n);
	int rc = k->stat ? k->stat(fs, n, st) : 0;
	st->st_ctim = st->st_mtim;
	return rc;
}

bool node_writable(const struct node *n)
{
	if (n->kind == N_PIN)
		return true;    /* an `out` pin answers EPERM to the write */
	mode_t m = node_mode(n);
	return S_ISREG(m) && (m & 0200);
}

bool node_instance_removed(struct instance *inst)
{
	/* inst->lock protects retired (instance.h). */
	pthread_mutex_lock(&inst->lock);
	bool gone = inst->retired;
	pthread_mutex_unlock(&inst->lock);
	return gone;
}

int node_refresh(struct node *n)
{
	const struct kind *k = kind_of(n);
	if (n->kind == N_ROOT || n->kind == N_INST)
		return 0;
	if (k->refresh)
		return k->refresh(n);
	return kind_present(k, n->inst) ? 0 : -ENOENT;
}

int node_child(struct emufs_fs *fs, const struct node *dir,
	       const char *name, struct node *child)
{
	const struct kind *k = kind_of(dir);
	memset(child, 0, sizeof *child);
	if (!k->lookup)
		return -ENOTDIR;
	if (strlen(name) > NODE_NAME_MAX)
		return -ENAMETOOLONG;
	int rc = k->lookup(fs, dir, name, child);
	if (rc)
		node_release(child);
	return rc;
}

int node_named_child(const struct node *dir, enum node_kind kind,
		     const char *name, struct node *out)
{
	instance_get(dir->inst);
	out->inst = dir->inst;
	out->kind = kind;
	snprintf(out->name, sizeof out->name, "%s", name);
	return node_refresh(out);
}

/* The path that tells nodes of one kind and instance apart. */
static const char *id_path(const struct node *n)
{
	return is_props_kind(n->kind) ? n->rel : n->name;
}

uint64_t node_ino(struct emufs_fs *fs, const struct node *n)
{
	if (n->kind == N_ROOT)
		return INODE_ROOT;
	struct inode_id id = { n->inst, n->kind, id_path(n) };
	return inode_lookup(fs->inodes, &id);
}

int node_of_ino(struct emufs_fs *fs, uint64_t ino, struct node *n)
{
	struct inode_id id;
	memset(n, 0, sizeof *n);
	if (ino == INODE_ROOT)
		return 0;                     /* N_ROOT */
	int rc = inode_get(fs->inodes, ino, &id);
	if (rc)
		return rc;
	n->inst = id.owner;                   /* its reference is ours */
	id.owner = NULL;
	n->kind = id.kind;
	if (is_props_kind(n->kind)) {
		snprintf(n->rel, sizeof n->rel, "%s", id.path);
		const char *last = strrchr(id.path, '/');
		snprintf(n->name, sizeof n->name, "%s", !id.path[0] ? "props"
			 : last ? last + 1 : id.path);
	} else {
		snprintf(n->name, sizeof n->name, "%s", id.path);
	}
	inode_id_release(fs->inodes, &id);
	rc = node_instance_removed(n->inst) ? -ESTALE : node_refresh(n);
	if (rc)
		node_release(n);
	return rc;
}

void node_release(struct node *n)
{
	instance_put(n->inst);
	n->inst = NULL;
}
