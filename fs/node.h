/* node.h - what a file of the mount is (docs/reference.md, "The tree"):
 *
 *   /                      the instances                    N_ROOT
 *   /<instance>            an instance directory            N_INST
 *   /<instance>/<file>     ctl state target log events, a channel, ...
 *   /<instance>/props/...  the emulator's properties (connector.h)
 *   /<instance>/snapshots/<name>  a saved machine state
 *
 * A node is an identity (instance, kind, name or path below props/) plus
 * what was learnt when it was resolved (the mode of a property or pin).
 * The kernel knows it by an inode number (inode.h); the handlers of each
 * kind live in the kind table (kinds.h).
 */
#ifndef EMUFS_FS_NODE_H
#define EMUFS_FS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct emufs_fs;
struct instance;

/* The fixed files come in their listing order, then the kinds named by
 * the configuration or the emulator. kinds.c has a row for each. */
enum node_kind {
	N_ROOT,
	N_INST,
	N_CTL,
	N_STATE,
	N_TARGET,
	N_LOG,
	N_EVENTS,
	N_PROPS,        /* props/ or an object directory below it */
	N_GPIO,         /* gpio/ */
	N_RAW,          /* raw commands: named by the emulator (qmp, monitor) */
	N_GDB,          /* host:port of the gdb stub */
	N_FIRMWARE,     /* reserved names of the contract, not served yet */
	N_FOLLOW,       /* follow/ */
	N_SNAPSHOTS,
	N_TRACE,        /* trace/ */
	N_CHANNEL,
	N_PTY,          /* <channel>.pty, while running */
	N_PROP,         /* a property file */
	N_PROP_LINK,    /* a link property that resolves */
	N_PIN,          /* gpio/<pin> */
	N_FOLLOW_GPIO,  /* follow/gpio/ */
	N_FOLLOW_STATE, /* follow/state */
	N_FOLLOW_LOG,   /* follow/log, follow/events, follow/<channel> */
	N_FOLLOW_PIN,   /* follow/gpio/<pin> */
	N_SNAPSHOT,     /* snapshots/<name> */
	N_TRACE_EVENTS, /* trace/events/ */
	N_TRACE_EVENT,  /* trace/events/<name> */
	N_TRACE_ENABLE, /* trace/enable */
	N_TRACE_LOG,    /* trace/log */
	N_KINDS
};

#define NODE_NAME_MAX 255     /* a path component */

struct node {
	enum node_kind kind;
	struct instance *inst;     /* with a reference; NULL for the root */
	char name[NODE_NAME_MAX + 1];  /* the last component */
	char rel[1024];            /* props: the path below props/ */
	mode_t mode;               /* props, pins: from the emulator */
};

#endif
