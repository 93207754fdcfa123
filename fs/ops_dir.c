/* ops_dir.c - directories of the low-level FUSE API: a listing taken
 * whole when a reader starts at offset 0, then handed out in pieces; with
 * READDIRPLUS, the attributes of the names whose lookup costs the
 * emulator nothing (dirlist.plus: props/ entries the connector already
 * knows), so `ls -l` of a 463-entry QOM object is a few requests, not a
 * LOOKUP per name. */
#include "ops_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "inode.h"
#include "kinds.h"
#include "mount.h"
#include "propcache.h"
#include "resolve.h"

/* What readdir reports as an entry's inode number (the kernel asks for
 * the real one with a LOOKUP), as libfuse's high-level API did. */
#define DIRENT_UNKNOWN_INO 0xffffffffu

static struct emufs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Test hook (tests/integration/test_props_cache.sh):
 * EMUFS_TEST_LOOKUP_DELAY=NAME:MS makes the entry of NAME linger between
 * its attributes (the emulator asked) and its inode, saying so on
 * stderr. Unset in normal use. */
static void lookup_delay(const char *name)
{
	const char *e = getenv("EMUFS_TEST_LOOKUP_DELAY");
	const char *colon = e ? strrchr(e, ':') : NULL;
	if (!colon || strncmp(e, name, colon - e) || name[colon - e])
		return;
	int ms = atoi(colon + 1);
	fprintf(stderr, "emufs: test: the lookup of %s waits\n", name);
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L },
		  NULL);
}

int ops_entry(struct emufs_fs *fs, struct node *n, unsigned long gen,
	      struct fuse_entry_param *e)
{
	const struct kind *k = kind_of(n);
	memset(e, 0, sizeof *e);
	int rc = node_stat(fs, n, 0, &e->attr);
	if (rc)
		return rc;
	lookup_delay(n->name);
	e->ino = node_ino(fs, n);
	if (!e->ino)
		return -ENOMEM;
	e->attr.st_ino = e->ino;
	e->attr_timeout = k->attr_timeout;
	e->entry_timeout = k->entry_timeout;
	propcache_settle(fs, gen, e);
	return 0;
}

static void dirlist_clear(struct dirlist *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	d->n = 0;
	d->filled = false;
}

void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirlist *d = calloc(1, sizeof *d);
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi))
		free(d);
}

/* The whole listing of ino, "." and ".." first. */
static int dirlist_fill(struct emufs_fs *fs, fuse_ino_t ino,
			struct dirlist *d)
{
	struct node n;
	dirlist_clear(d);
	int rc = node_of_ino(fs, ino, &n);
	if (rc)
		return rc;
	const struct kind *k = kind_of(&n);
	if (!k->readdir)
		rc = -ENOTDIR;
	if (rc == 0)
		rc = dirlist_add(d, ".");
	if (rc == 0)
		rc = dirlist_add(d, "..");
	if (rc == 0)
		rc = k->readdir(fs, &n, d);
	node_release(&n);
	d->filled = rc == 0;
	return rc;
}

/* The listing is taken at offset 0 (a new `ls`, or rewinddir()); the
 * readdirs that follow go on from the offset of the last entry given. */
static struct dirlist *dir_at(fuse_req_t req, fuse_ino_t ino, off_t off,
			      struct fuse_file_info *fi, size_t size,
			      char **buf)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	int rc = off == 0 || !d->filled ? dirlist_fill(fs_of(req), ino, d) : 0;
	*buf = rc ? NULL : malloc(size);
	if (rc || !*buf) {
		fuse_reply_err(req, rc ? -rc : ENOMEM);
		return NULL;
	}
	return d;
}

void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	char *buf;
	struct dirlist *d = dir_at(req, ino, off, fi, size, &buf);
	if (!d)
		return;
	size_t used = 0;
	struct stat st = { .st_ino = DIRENT_UNKNOWN_INO };
	for (size_t i = off; i < d->n; i++) {
		size_t l = fuse_add_direntry(req, buf + used, size - used,
					     d->names[i], &st, i + 1);
		if (l > size - used)
			break;
		used += l;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* The entry of name in dir for a READDIRPLUS: looked up (one kernel
 * lookup counted) when the listing said it may be, else ino 0, which the
 * kernel takes as "no attributes" and looks the name up itself. */
static void plus_entry(struct emufs_fs *fs, struct node *dir, bool have_dir,
		       const char *name, bool plus,
		       struct fuse_entry_param *e)
{
	struct node child;
	unsigned long gen = propcache_gen(fs);
	memset(e, 0, sizeof *e);
	e->attr.st_ino = DIRENT_UNKNOWN_INO;
	if (!plus || !have_dir || node_child(fs, dir, name, &child))
		return;
	if (ops_entry(fs, &child, gen, e)) {
		memset(e, 0, sizeof *e);
		e->attr.st_ino = DIRENT_UNKNOWN_INO;
	}
	node_release(&child);
}

void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct emufs_fs *fs = fs_of(req);
	char *buf;
	struct dirlist *d = dir_at(req, ino, off, fi, size, &buf);
	if (!d)
		return;
	struct node dir;
	bool have_dir = node_of_ino(fs, ino, &dir) == 0;
	/* The lookups counted in this reply: forgotten if not delivered. */
	uint64_t *held = calloc(d->n > (size_t)off ? d->n - off : 1,
				sizeof *held);
	size_t nheld = 0, used = 0;
	for (size_t i = off; held && i < d->n; i++) {
		struct fuse_entry_param e;
		plus_entry(fs, &dir, have_dir, d->names[i], d->plus[i], &e);
		size_t l = fuse_add_direntry_plus(req, buf + used,
						  size - used, d->names[i],
						  &e, i + 1);
		if (l > size - used) {
			if (e.ino)
				inode_forget(fs->inodes, e.ino, 1);
			break;
		}
		used += l;
		if (e.ino)
			held[nheld++] = e.ino;
	}
	if (have_dir)
		node_release(&dir);
	if (!held)
		fuse_reply_err(req, ENOMEM);
	else if (fuse_reply_buf(req, buf, used))
		for (size_t i = 0; i < nheld; i++)
			inode_forget(fs->inodes, held[i], 1);
	free(held);
	free(buf);
}

void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	dirlist_clear(d);
	free(d->names);
	free(d->plus);
	free(d);
	fuse_reply_err(req, 0);
}
