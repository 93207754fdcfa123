/* gpio.c - gpio/: one file per configured pin (docs/reference.md,
 * gpio/). A read at offset 0 takes the level (text.c serves it); poll() follows the sysfs
 * convention (POLLPRI|POLLERR once the level changed since this open
 * file read it). An open pin file makes the core watch its pin. */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "fs.h"
#include "handlers.h"
#include "mount.h"
#include "pollers.h"
#include "resolve.h"
#include "core/instance.h"
#include "core/pin.h"

int gpio_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child)
{
	return node_named_child(dir, N_PIN, name, child);
}

int gpio_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out)
{
	struct instance *inst = dir->inst;
	int rc = 0;
	pthread_rwlock_rdlock(&inst->tlock);
	for (size_t i = 0; rc == 0 && i < inst->npins; i++)
		rc = dirlist_add(out, inst->pins[i].cfg->name);
	pthread_rwlock_unlock(&inst->tlock);
	return rc;
}

int pin_refresh(struct node *n)
{
	struct pin *p = instance_lock_pin(n->inst, n->name);
	if (!p)
		return -ENOENT;
	n->mode = S_IFREG | (p->cfg->dir == PIN_IN ? 0644 : 0444);
	instance_unlock_target(n->inst);
	return 0;
}

int pin_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	st->st_size = 2;        /* "0\n" or "1\n" */
	return 0;
}

/* Count this open file as a watcher of its pin (delta 1), or stop. */
static void pin_file_watch(struct fh *fh, int delta)
{
	struct instance *inst = fh->node.inst;
	struct pin *p = instance_lock_pin(inst, fh->node.name);
	if (!p)
		return;
	if (delta > 0) {
		fh->watching = true;
		fh->bind_gen = inst->bind_gen;
		fh->seen_gen = atomic_load(&p->gen);
		pin_watch(inst, p, 1);
	} else if (fh->watching && fh->bind_gen == inst->bind_gen) {
		pin_watch(inst, p, -1);
	}
	instance_unlock_target(inst);
}

int pin_open(struct fh *fh, int flags)
{
	pin_file_watch(fh, 1);
	return 0;
}

void pin_release(struct fh *fh)
{
	pin_file_watch(fh, -1);
}

/* A pin's level now, as its file reads ("1\n"); the open file has now
 * seen every change up to this level (pin_poll). Taken by the read at
 * offset 0 only: the reads that follow (cat's, up to EOF) serve that
 * same line (text.c). */
int pin_text(struct fh *fh, char *text, size_t len)
{
	struct node *n = &fh->node;
	struct pin *p = instance_lock_pin(n->inst, n->name);
	if (!p)
		return -ENOENT;
	unsigned gen;
	int level = pin_read(n->inst, p, &gen);
	if (level >= 0)      /* the changes that level includes */
		fh->seen_gen = gen;
	instance_unlock_target(n->inst);
	if (level < 0)
		return level;
	snprintf(text, len, "%d\n", level);
	return 0;
}

ssize_t pin_file_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct pin *p = instance_lock_pin(n->inst, n->name);
	if (!p)
		return -ENOENT;
	int rc = pin_write(n->inst, p, buf, size);
	instance_unlock_target(n->inst);
	return rc ? rc : (ssize_t)size;
}

int pin_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
	     unsigned *revents)
{
	struct pin *p = instance_lock_pin(fh->node.inst, fh->node.name);
	*revents = 0;
	if (!p) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		*revents = POLLERR;
		return 0;
	}
	if (ph)
		fs_poll_arm(fs, fh, p, ph);
	if (atomic_load(&p->gen) != fh->seen_gen)
		*revents = POLLPRI | POLLERR;
	instance_unlock_target(fh->node.inst);
	return 0;
}
