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
	struct binding *b = instance_binding(dir->inst);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < b->npins; i++)
		rc = dirlist_add(out, b->pins[i].cfg->name);
	binding_put(b);
	return rc;
}

int pin_refresh(struct node *n)
{
	struct binding *b = instance_binding(n->inst);
	struct pin *p = binding_pin(b, n->name);
	if (p)
		n->mode = S_IFREG | (p->cfg->dir == PIN_IN ? 0644 : 0444);
	binding_put(b);
	return p ? 0 : -ENOENT;
}

int pin_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	st->st_size = 2;        /* "0\n" or "1\n" */
	return 0;
}

/* An open pin file counts as a watcher of its pin, and holds the
 * binding of that pin until released: the count it added is taken off
 * that same pin, whatever the target is by then. */
int pin_open(struct fh *fh, int flags)
{
	struct instance *inst = fh->node.inst;
	struct binding *b = instance_binding(inst);
	struct pin *p = binding_pin(b, fh->node.name);
	if (!p) {
		binding_put(b);
		return 0;
	}
	fh->binding = b;
	fh->seen_gen = atomic_load(&p->gen);
	pin_watch(inst, p, 1);
	return 0;
}

void pin_release(struct fh *fh)
{
	struct binding *b = fh->binding;
	if (!b)
		return;
	pin_watch(fh->node.inst, binding_pin(b, fh->node.name), -1);
	fh->binding = NULL;
	binding_put(b);
}

/* A pin's level now, as its file reads ("1\n"); the open file has now
 * seen every change up to this level (pin_poll). Taken by the read at
 * offset 0 only: the reads that follow (cat's, up to EOF) serve that
 * same line (text.c). */
int pin_text(struct fh *fh, char *text, size_t len)
{
	struct node *n = &fh->node;
	struct binding *b = instance_binding(n->inst);
	struct pin *p = binding_pin(b, n->name);
	unsigned gen;
	int level = p ? pin_read(n->inst, p, &gen) : -ENOENT;
	if (level >= 0)      /* the changes that level includes */
		fh->seen_gen = gen;
	binding_put(b);
	if (level < 0)
		return level;
	snprintf(text, len, "%d\n", level);
	return 0;
}

ssize_t pin_file_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct binding *b = instance_binding(n->inst);
	struct pin *p = binding_pin(b, n->name);
	int rc = p ? pin_write(n->inst, p, buf, size) : -ENOENT;
	binding_put(b);
	return rc ? rc : (ssize_t)size;
}

int pin_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
	     unsigned *revents)
{
	struct binding *b = instance_binding(fh->node.inst);
	struct pin *p = binding_pin(b, fh->node.name);
	*revents = 0;
	if (!p) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		*revents = POLLERR;
	} else {
		if (ph)
			fs_poll_arm(fs, fh, p, ph);
		if (atomic_load(&p->gen) != fh->seen_gen)
			*revents = POLLPRI | POLLERR;
	}
	binding_put(b);
	return 0;
}
