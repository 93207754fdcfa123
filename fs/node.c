/* node.c - path resolution (see node.h). */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/channel.h"
#include "core/connector.h"
#include "core/core.h"
#include "core/emulator.h"
#include "core/instance.h"

const struct fixed_file node_fixed_files[] = {
	{ "ctl", N_CTL, S_IFREG | 0644, NULL },
	{ "state", N_STATE, S_IFREG | 0444, NULL },
	{ "target", N_TARGET, S_IFREG | 0644, NULL },
	{ "log", N_LOG, S_IFREG | 0444, NULL },
	{ "events", N_EVENTS, S_IFREG | 0444, NULL },
	{ "props", N_PROPS, S_IFDIR | 0755, NULL },
	{ "gpio", N_GPIO, S_IFDIR | 0755, NULL },
	{ "qmp", N_QMP, S_IFREG | 0644, "qemu" },
	{ "monitor", N_MONITOR, S_IFREG | 0644, "renode" },
	{ "gdb", N_GDB, S_IFREG | 0444, NULL },
	{ NULL, 0, 0, NULL },
};

bool node_fixed_present(const struct fixed_file *f, struct instance *inst)
{
	if (!f->emulator)
		return true;
	pthread_rwlock_rdlock(&inst->tlock);
	bool yes = inst->target &&
		   !strcmp(inst->target->emulator->name, f->emulator);
	pthread_rwlock_unlock(&inst->tlock);
	return yes;
}

static const struct fixed_file *fixed_by_kind(enum node_kind k)
{
	for (const struct fixed_file *f = node_fixed_files; f->name; f++)
		if (f->kind == k)
			return f;
	return NULL;
}

mode_t node_mode(const struct node *n)
{
	switch (n->kind) {
	case N_ROOT:
	case N_INST:
		return S_IFDIR | 0755;
	case N_CHANNEL:
		return S_IFREG | 0644;
	case N_PTY:
	case N_PROP_LINK:
		return S_IFLNK | 0777;
	case N_PROPS:
		return S_IFDIR | 0755;
	case N_PROP:
	case N_PIN:
		return n->mode;
	default:
		return fixed_by_kind(n->kind)->mode;
	}
}

bool node_writable(const struct node *n)
{
	if (n->kind == N_PIN)
		return true;    /* an `out` pin answers EPERM to the write */
	return (node_mode(n) & S_IFMT) == S_IFREG && (node_mode(n) & 0200);
}

/* Copy the next component of *p into buf; advance *p. */
static int component(const char **p, char *buf, size_t len)
{
	while (**p == '/')
		(*p)++;
	const char *end = strchrnul(*p, '/');
	size_t n = end - *p;
	if (n == 0)
		return 0;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = end;
	return 1;
}

/* The rest of a path below props/: ask the emulator what it names. */
static int resolve_props(struct node *n, const char *rest)
{
	size_t o = 0;
	char comp[256];
	int rc;
	while ((rc = component(&rest, comp, sizeof comp)) > 0) {
		size_t l = strlen(comp);
		if (o + l + 2 > sizeof n->rel)
			return -ENAMETOOLONG;
		if (o)
			n->rel[o++] = '/';
		memcpy(n->rel + o, comp, l + 1);
		o += l;
		snprintf(n->name, sizeof n->name, "%s", comp);
	}
	if (rc < 0)
		return rc;
	if (o == 0)
		return 0;             /* props/ itself, also while stopped */
	struct run *r = instance_get_run(n->inst);
	if (!r)
		return -ENOENT;       /* props/ is empty while not running */
	struct prop_info info;
	rc = r->conn->prop_lookup ? r->conn->prop_lookup(r, n->rel, &info)
				  : -ENOENT;
	run_put(r);
	if (rc)
		return rc;
	free(info.link);
	n->kind = info.kind == PROP_DIR ? N_PROPS
		  : info.kind == PROP_LINK ? N_PROP_LINK : N_PROP;
	n->mode = S_IFREG | (info.readonly ? 0444 : 0644);
	return 0;
}

/* gpio/ or gpio/<pin>. */
static int resolve_gpio(struct node *n, const char *rest)
{
	int rc = component(&rest, n->name, sizeof n->name);
	if (rc <= 0)
		return rc;
	if (*rest && strspn(rest, "/") != strlen(rest))
		return -ENOTDIR;
	struct pin *p = instance_lock_pin(n->inst, n->name);
	if (!p)
		return -ENOENT;
	n->kind = N_PIN;
	n->mode = S_IFREG | (p->cfg->dir == PIN_IN ? 0644 : 0444);
	instance_unlock_target(n->inst);
	return 0;
}

int node_resolve(struct core *core, const char *path, struct node *n)
{
	char first[256];
	memset(n, 0, sizeof *n);
	n->kind = N_ROOT;

	int rc = component(&path, first, sizeof first);
	if (rc <= 0)
		return rc;
	n->inst = core_get(core, first);
	if (!n->inst)
		return -ENOENT;
	n->kind = N_INST;
	snprintf(n->name, sizeof n->name, "%s", first);

	rc = component(&path, n->name, sizeof n->name);
	if (rc <= 0)
		goto done;
	rc = -ENOENT;
	for (const struct fixed_file *f = node_fixed_files; f->name; f++)
		if (!strcmp(f->name, n->name) &&
		    node_fixed_present(f, n->inst)) {
			n->kind = f->kind;
			rc = 0;
		}
	if (rc) {
		struct channel *ch = instance_lock_channel(n->inst, n->name);
		if (ch) {
			n->kind = N_CHANNEL;
			instance_unlock_target(n->inst);
			rc = 0;
		}
	}
	if (rc) {
		char pty[64];
		n->kind = N_PTY;
		rc = node_pty_path(n, pty, sizeof pty);
	}
	if (rc == 0 && n->kind == N_PROPS)
		rc = resolve_props(n, path);
	else if (rc == 0 && n->kind == N_GPIO)
		rc = resolve_gpio(n, path);
	else if (rc == 0 && *path && strspn(path, "/") != strlen(path))
		rc = -ENOTDIR;     /* nothing lies below a file */
done:
	if (rc) {
		node_release(n);
		return rc;
	}
	return 0;
}

int node_pty_path(const struct node *n, char *buf, size_t len)
{
	size_t l = strlen(n->name);
	if (l <= 4 || strcmp(n->name + l - 4, ".pty"))
		return -ENOENT;
	char chname[128];
	snprintf(chname, sizeof chname, "%.*s", (int)(l - 4), n->name);
	struct channel *ch = instance_lock_channel(n->inst, chname);
	if (!ch)
		return -ENOENT;
	int rc = channel_pty_path(ch, buf, len);
	instance_unlock_target(n->inst);
	return rc;
}

void node_release(struct node *n)
{
	instance_put(n->inst);
	n->inst = NULL;
}
