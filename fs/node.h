/* node.h - from a path in the mount to what it names (interface.md 3).
 *
 *   /                      the instances
 *   /<instance>            an instance directory
 *   /<instance>/<file>     ctl state target log events, a channel, ...
 *   /<instance>/props/...  the emulator's properties (connector.h)
 */
#ifndef EMUFS_FS_NODE_H
#define EMUFS_FS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct core;
struct instance;

enum node_kind {
	N_ROOT,
	N_INST,
	N_CTL,
	N_STATE,
	N_TARGET,
	N_LOG,
	N_EVENTS,
	N_CHANNEL,
	N_PTY,          /* <channel>.pty, while running */
	N_PROPS,        /* props/ or an object directory below it */
	N_PROP,         /* a property file */
	N_PROP_LINK,    /* a link property that resolves */
	N_GPIO,         /* gpio/ */
	N_PIN,          /* gpio/<pin> */
	N_QMP,          /* raw QMP (QEMU) */
	N_MONITOR,      /* raw monitor lines (Renode) */
	N_GDB,          /* host:port of the gdb stub */
};

struct node {
	enum node_kind kind;
	struct instance *inst;     /* with a reference; NULL for the root */
	char name[256];            /* the last component */
	char rel[1024];            /* props: the path below props/ */
	mode_t mode;               /* props: from the emulator */
};

/* The fixed files of every instance directory, in listing order. */
struct fixed_file {
	const char *name;
	enum node_kind kind;
	mode_t mode;
	const char *emulator;  /* only for the emulator of this name, or
			       * NULL for all */
};
extern const struct fixed_file node_fixed_files[];

int node_resolve(struct core *core, const char *path, struct node *n);
void node_release(struct node *n);
mode_t node_mode(const struct node *n);
/* Whether a fixed file exists in this instance (qmp: QEMU targets only). */
bool node_fixed_present(const struct fixed_file *f, struct instance *inst);
bool node_writable(const struct node *n);
/* The pty path of an N_PTY node: 0, or -ENOENT while not running. */
int node_pty_path(const struct node *n, char *buf, size_t len);

#endif
