/* dir.c - the mount's root (the instances) and an instance directory
 * (its fixed files from the kind table, its channels and their ptys). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/channel.h"
#include "core/core.h"
#include "fs.h"
#include "handlers.h"
#include "resolve.h"
#include "mount.h"
#include "core/instance.h"

int root_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child)
{
	child->inst = core_get(fs->core, name);
	if (!child->inst)
		return -ENOENT;
	child->kind = N_INST;
	snprintf(child->name, sizeof child->name, "%s", name);
	return 0;
}

int root_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out)
{
	char **names = core_names(fs->core);
	int rc = names ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && names[i]; i++)
		rc = dirlist_add(out, names[i]);
	core_names_free(names);
	return rc;
}

/* A fixed file, a *.pty link, the raw command file or a channel, if it
 * exists now. */
int inst_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child)
{
	const struct kind *k = kind_by_name(name);
	instance_get(dir->inst);
	child->inst = dir->inst;
	snprintf(child->name, sizeof child->name, "%s", name);
	const char *raw = k ? NULL : kind_raw_name(dir->inst);
	child->kind = k ? (enum node_kind)(k - fs_kinds)
		      : raw && !strcmp(name, raw) ? N_RAW : N_CHANNEL;
	if (child->kind == N_PROPS)
		child->rel[0] = '\0';         /* props/ itself */
	return node_refresh(child);
}

int inst_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out)
{
	struct instance *inst = dir->inst;
	int rc = 0;
	for (int k = 0; rc == 0 && k < N_KINDS; k++) {
		const struct kind *f = &fs_kinds[k];
		if (f->name && f->name[0] != '*' && kind_present(f, inst))
			rc = dirlist_add(out, f->name);
	}
	const char *raw = kind_raw_name(inst);
	if (rc == 0 && raw)
		rc = dirlist_add(out, raw);
	struct binding *b = instance_binding(inst);
	for (size_t i = 0; rc == 0 && i < b->nchannels; i++) {
		struct channel *ch = &b->channels[i];
		char name[160], pty[64];
		rc = dirlist_add(out, ch->cfg->name);
		snprintf(name, sizeof name, "%s%s", ch->cfg->name,
			 KIND_PTY_SUFFIX);
		if (rc == 0 && channel_pty_path(ch, pty, sizeof pty) == 0)
			rc = dirlist_add(out, name);
	}
	binding_put(b);
	return rc;
}
