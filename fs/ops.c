/* ops.c - the low-level FUSE operations: inode number to node
 * (node.c), node to its kind's handler (kinds.c), the reply or -errno
 * back to the kernel. Every request is answered before its handler
 * returns; none waits on an emulator without the core's request timeout
 * bounding it. (Replies that wait, for follow/, are designed in
 * docs/design.md, "Deferred replies".)
 *
 * Every file is opened with direct_io: reads return what the handler
 * returns (files whose content is computed have no meaningful size), and
 * growing logs never hit stale page-cache data. Entry and attribute
 * timeouts come from the kind table (attr 0 but for props/, so `tail -f`
 * sees st_size grow; props/'s are dropped when QEMU's tree changes,
 * propcache.c); failed lookups are not cached (instances come and go).
 * Directories: ops_dir.c.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "fs.h"
#include "inode.h"
#include "core/instance.h"
#include "handlers.h"
#include "kinds.h"
#include "resolve.h"
#include "mount.h"
#include "ops_dir.h"
#include "propcache.h"
#include "waiters.h"

#define READLINK_MAX 4096

static struct emufs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Answer a LOOKUP or MKDIR with n, resolved from what was known at gen
 * (propcache_gen): the kernel now holds one lookup of its inode
 * (released by FORGET). */
static void reply_entry(fuse_req_t req, struct node *n, unsigned long gen)
{
	struct emufs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	int rc = ops_entry(fs, n, gen, &e);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Not delivered (the request was interrupted): not held either. */
	if (fuse_reply_entry(req, &e))
		inode_forget(fs->inodes, e.ino, 1);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct emufs_fs *fs = fs_of(req);
	struct node dir, child;
	unsigned long gen = propcache_gen(fs);
	int rc = node_of_ino(fs, parent, &dir);
	if (rc == 0) {
		rc = node_child(fs, &dir, name, &child);
		node_release(&dir);
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(req, &child, gen);
	node_release(&child);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(fs_of(req)->inodes, forgets[i].ino,
			     forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The attributes of n, or (fh not NULL) of the open file fh: a follow/
 * channel's size is that of the run it follows (lseek SEEK_END asks). */
static void reply_attr(fuse_req_t req, fuse_ino_t ino, struct node *n,
		       struct fh *fh)
{
	struct stat st;
	int rc = node_stat(fs_of(req), n, ino, &st);
	if (rc == 0 && fh && fh->follow)
		follow_fh_stat(fh, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, kind_of(n)->attr_timeout);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct node n;
	/* fstat() of an open file: what was opened, even if the name now
	 * means something else; only a removed instance makes it stale. */
	if (fi && fi->fh) {
		struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
		if (fh->node.inst && node_instance_removed(fh->node.inst))
			fuse_reply_err(req, ESTALE);
		else
			reply_attr(req, ino, &fh->node, fh);
		return;
	}
	int rc = node_of_ino(fs_of(req), ino, &n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_attr(req, ino, &n, NULL);
	node_release(&n);
}

/* Only a size, and only as O_TRUNC or truncate(): on a control file or
 * a channel it means nothing, and is accepted. chmod, chown and utimes
 * are not implemented (ENOSYS), checked in the order libfuse's
 * high-level API did. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct node n;
	int rc = node_of_ino(fs_of(req), ino, &n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID))
		rc = -ENOSYS;
	else if ((to_set & FUSE_SET_ATTR_SIZE) && !node_writable(&n))
		rc = -EACCES;
	else if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
		rc = -ENOSYS;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_attr(req, ino, &n, NULL);
	node_release(&n);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node n;
	char buf[READLINK_MAX];
	int rc = node_of_ino(fs_of(req), ino, &n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	const struct kind *k = kind_of(&n);
	rc = k->readlink ? k->readlink(&n, buf, sizeof buf) : -EINVAL;
	node_release(&n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, buf);
}

/* mkdir and rmdir: instances at the root (the core's registry), else
 * what the directory's kind makes (snapshots/). */
static int dir_entry_op(struct emufs_fs *fs, fuse_ino_t parent,
			const char *name, bool make, struct node *dir)
{
	int rc = node_of_ino(fs, parent, dir);
	if (rc)
		return rc;
	const struct kind *k = kind_of(dir);
	if (make)
		rc = k->mkdir ? k->mkdir(fs, dir, name) : -EPERM;
	else
		rc = k->rmdir ? k->rmdir(fs, dir, name) : -EPERM;
	return rc;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct emufs_fs *fs = fs_of(req);
	unsigned long gen = propcache_gen(fs);
	struct node dir = { .kind = N_ROOT }, child;
	int rc = parent == INODE_ROOT ? core_mkdir(fs->core, name)
				      : dir_entry_op(fs, parent, name, true,
						     &dir);
	if (rc == 0)
		rc = node_child(fs, &dir, name, &child);
	node_release(&dir);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(req, &child, gen);
	node_release(&child);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct emufs_fs *fs = fs_of(req);
	if (parent != INODE_ROOT) {
		struct node dir;
		int rc = dir_entry_op(fs, parent, name, false, &dir);
		node_release(&dir);     /* cleared when not resolved */
		fuse_reply_err(req, -rc);
		return;
	}
	/* The kernel holds the root locked across mkdir and rmdir: the
	 * instance named here is the one core_rmdir() removes. */
	struct instance *inst = core_get(fs->core, name);
	int rc = core_rmdir(fs->core, name);
	if (rc == 0 && inst)
		inode_detach_owner(fs->inodes, inst);
	instance_put(inst);
	fuse_reply_err(req, -rc);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, ENOENT);   /* the tree is fixed by the config */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct emufs_fs *fs = fs_of(req);
	struct fh *fh = calloc(1, sizeof *fh);
	int rc = fh ? node_of_ino(fs, ino, &fh->node) : -ENOMEM;
	if (rc) {
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_init(&fh->text_lock, NULL);
	fh->fs = fs;
	const struct kind *k = kind_of(&fh->node);
	if (S_ISDIR(node_mode(&fh->node))) {
		rc = -EISDIR;
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY &&
		   !node_writable(&fh->node)) {
		instance_log(fh->node.inst, "open of %s for writing refused:"
			     " the file is read-only", fh->node.name);
		rc = -EACCES;
	} else if (k->open) {
		rc = k->open(fh, fi->flags);
		/* A read QEMU refused changed the file's mode: the kernel
		 * forgets the old one before the open returns. */
		propcache_flush(fs);
	}
	if (rc) {                         /* a failed open undid itself */
		node_release(&fh->node);
		free(fh->text);
		pthread_mutex_destroy(&fh->text_lock);
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->direct_io = 1;
	fi->nonseekable = k->nonseekable;
	fs_file_link(fs, fh);
	fi->fh = (uintptr_t)fh;
	if (fuse_reply_open(req, fi))
		fs_file_free(fs, fh);     /* interrupted: never opened */
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fs_file_free(fs_of(req), (struct fh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
	const struct kind *k = kind_of(&fh->node);
	char *buf = malloc(size ? size : 1);
	unsigned long seq = k->waits ? waiters_seq(fs_of(req)) : 0;
	ssize_t r = !buf ? -ENOMEM : k->read ? k->read(fh, buf, size, off)
					     : -EISDIR;
	if (r == -EAGAIN && k->waits && !(fi->flags & O_NONBLOCK))
		waiters_park(fs_of(req), req, fh, seq, size, off);
	else if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_buf(req, buf, r);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
	const struct kind *k = kind_of(&fh->node);
	ssize_t w = k->write ? k->write(fh, buf, size) : -EACCES;
	/* A write that changed props/ (a link set, device_add through
	 * qmp) returns once the kernel forgot the names it changed. */
	propcache_flush(fs_of(req));
	if (w < 0)
		fuse_reply_err(req, (int)-w);
	else
		fuse_reply_write(req, w);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
	const struct kind *k = kind_of(&fh->node);
	unsigned revents = POLLIN | POLLOUT;
	if (k->poll)
		k->poll(fs_of(req), fh, ph, &revents);
	else if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, revents);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* READDIRPLUS gives props/'s names with their attributes
	 * (ops_dir.c); the kernel uses it when a listing is followed by
	 * lookups (`ls -l`), plain READDIR otherwise. */
	conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
}

const struct fuse_lowlevel_ops emufs_ll_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.create = op_create,
	.open = op_open,
	.release = op_release,
	.read = op_read,
	.write = op_write,
	.poll = op_poll,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
};
