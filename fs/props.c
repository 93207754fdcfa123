/* props.c - props/: the emulator's properties (connector.h), asked for
 * on every lookup and listing, empty while the instance is not running.
 * A property file reads its value as it was at open (one consistent
 * value per open file, served by text.c) and says 4096 bytes, like
 * sysfs: reads (direct_io) return the value and then 0. A link property that
 * resolves is a symlink. The kernel keeps names and attributes (never
 * values) until the tree changes (propcache.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/connector.h"
#include "core/core.h"
#include "fs.h"
#include "handlers.h"
#include "mount.h"
#include "core/instance.h"

#define PROP_FILE_SIZE 4096

/* The instance's current run, if it has properties. */
static struct run *prop_run(struct node *n)
{
	struct run *r = instance_get_run(n->inst);
	if (r && !r->conn->prop_get) {
		run_put(r);
		r = NULL;
	}
	return r;
}

/* Ask the emulator what n->rel is: a directory, a link or a file. */
static int props_resolve(struct node *n)
{
	if (!n->rel[0]) {
		n->kind = N_PROPS;    /* props/ itself, also while stopped */
		return 0;
	}
	struct run *r = instance_get_run(n->inst);
	if (!r)
		return -ENOENT;       /* props/ is empty while not running */
	struct prop_info info;
	int rc = r->conn->prop_lookup ? r->conn->prop_lookup(r, n->rel, &info)
				      : -ENOENT;
	run_put(r);
	if (rc)
		return rc;
	free(info.link);
	n->kind = info.kind == PROP_DIR ? N_PROPS
		  : info.kind == PROP_LINK ? N_PROP_LINK : N_PROP;
	/* What the emulator is known to refuse (qemu_qom.c learns it). */
	n->mode = S_IFREG | (info.unreadable ? 0 : 0444) |
		  (info.readonly ? 0 : 0200);
	return 0;
}

int props_lookup(struct emufs_fs *fs, const struct node *dir,
		 const char *name, struct node *child)
{
	int l = snprintf(child->rel, sizeof child->rel, "%s%s%s", dir->rel,
			 dir->rel[0] ? "/" : "", name);
	if (l < 0 || (size_t)l >= sizeof child->rel)
		return -ENAMETOOLONG;
	instance_get(dir->inst);
	child->inst = dir->inst;
	snprintf(child->name, sizeof child->name, "%s", name);
	return props_resolve(child);
}

/* A node that was looked up as one kind and now is another (a link that
 * stopped resolving) is gone: the kernel looks it up again. */
int props_refresh(struct node *n)
{
	enum node_kind was = n->kind;
	int rc = props_resolve(n);
	return rc ? rc : n->kind == was ? 0 : -ENOENT;
}

int props_readdir(struct emufs_fs *fs, const struct node *dir,
		  struct dirlist *out)
{
	struct run *r = prop_run((struct node *)dir);
	if (!r)
		return 0;       /* empty while not running */
	struct prop_entry *e;
	size_t cnt;
	int rc = r->conn->prop_list(r, dir->rel, &e, &cnt);
	run_put(r);
	if (rc)
		return rc;
	for (size_t i = 0; rc == 0 && i < cnt; i++)
		rc = dirlist_add_plus(out, e[i].name, e[i].known);
	prop_entries_free(e, cnt);
	return rc;
}

int prop_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	st->st_size = PROP_FILE_SIZE;
	return 0;
}

int prop_open(struct fh *fh, int flags)
{
	if ((flags & O_ACCMODE) == O_WRONLY)
		return 0;
	struct run *r = prop_run(&fh->node);
	int rc = r ? r->conn->prop_get(r, fh->node.rel, &fh->text) : -ENOENT;
	run_put(r);
	return rc;
}

ssize_t prop_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct run *r = prop_run(n);
	if (!r) {
		instance_log(n->inst, "write to props/%s refused: the instance "
			     "is %s", n->rel,
			     inst_state_name(instance_state(n->inst)));
		return -ESRCH;
	}
	int rc = r->conn->prop_set(r, n->rel, buf, size);
	run_put(r);
	return rc ? rc : (ssize_t)size;
}

int prop_link_readlink(struct node *n, char *buf, size_t len)
{
	struct run *r = prop_run(n);
	struct prop_info info = { 0 };
	int rc = r ? r->conn->prop_lookup(r, n->rel, &info) : -ENOENT;
	run_put(r);
	if (rc == 0 && info.link)
		snprintf(buf, len, "%s", info.link);
	else if (rc == 0)
		rc = -EINVAL;   /* no longer a link */
	free(info.link);
	return rc;
}
