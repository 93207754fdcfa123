/* kinds.h - the one table of file kinds (kinds.c).
 *
 * Every file of the tree is a row: its fixed name (if it has one), its
 * mode, how long the kernel may cache its
 * name and attributes, and its handlers. fs/ops.c dispatches every FUSE
 * request through this table; the reserved names of an instance
 * directory are the table's names (checked against the core's list,
 * config_reserved_names, by tests/unit/test_fs_kinds.c).
 *
 * Adding a file kind: one enum value (node.h), one row, its handlers.
 */
#ifndef EMUFS_FS_KINDS_H
#define EMUFS_FS_KINDS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "node.h"

struct dirlist;
struct emufs_fs;
struct fh;
struct fuse_pollhandle;

/* The name of the kind whose files are "<channel>.pty". */
#define KIND_PTY_SUFFIX ".pty"
/* A small file's text: a path in `firmware` is the longest. */
#define TEXT_MAX (PATH_MAX + 2)

struct kind {
	/* A fixed file of every instance directory ("*.pty": a suffix);
	 * NULL for names from the configuration or the emulator. */
	const char *name;
	/* Reserved by the contract but not served yet: never listed,
	 * ENOENT on lookup. */
	bool reserved_only;
	mode_t mode;            /* 0: the node's own (props, pins) */
	/* Seconds the kernel may cache the name (entry) and the
	 * attributes: 0 for files that grow or change under it. */
	double entry_timeout, attr_timeout;
	bool nonseekable;       /* a conversation, not a file (qmp) */
	/* A read that finds nothing returns -EAGAIN, and ops.c parks it
	 * (waiters.h) unless the file is O_NONBLOCK: follow/. */
	bool waits;

	/* Directories. */
	int (*lookup)(struct emufs_fs *fs, const struct node *dir,
		      const char *name, struct node *child);
	int (*readdir)(struct emufs_fs *fs, const struct node *dir,
		       struct dirlist *out);
	/* Directories whose entries mkdir and rmdir make and remove
	 * (snapshots/); NULL: EPERM. */
	int (*mkdir)(struct emufs_fs *fs, const struct node *dir,
		     const char *name);
	int (*rmdir)(struct emufs_fs *fs, const struct node *dir,
		     const char *name);
	/* Is the node still there, and its mode (props, pins). NULL: a
	 * fixed file, always there. */
	int (*refresh)(struct node *n);
	/* st_size (and st_mtim) of the file as it is now. */
	int (*stat)(struct emufs_fs *fs, struct node *n, struct stat *st);
	/* Files. open: the fh's node is set, access checked. */
	int (*open)(struct fh *fh, int flags);
	void (*release)(struct fh *fh);
	ssize_t (*read)(struct fh *fh, char *buf, size_t size, off_t off);
	/* A small file's text now (read takes it as one snapshot: text.c,
	 * text_read), at most TEXT_MAX bytes with its NUL. */
	int (*text)(struct fh *fh, char *buf, size_t len);
	ssize_t (*write)(struct fh *fh, const char *buf, size_t size);
	/* NULL: always ready (POLLIN|POLLOUT). Takes ph (may be NULL). */
	int (*poll)(struct emufs_fs *fs, struct fh *fh,
		    struct fuse_pollhandle *ph, unsigned *revents);
	int (*readlink)(struct node *n, char *buf, size_t len);
};

extern const struct kind fs_kinds[N_KINDS];

static inline const struct kind *kind_of(const struct node *n)
{
	return &fs_kinds[n->kind];
}

/* The fixed file or *.pty row a name of an instance directory matches
 * (reserved_only rows included), or NULL. */
const struct kind *kind_by_name(const char *name);
/* Whether a fixed file exists in this instance now. */
bool kind_present(const struct kind *k, struct instance *inst);
/* The name of the instance's raw command file (N_RAW): its target's
 * emulator's ("qmp", "monitor": core/emulator.h), or NULL. */
const char *kind_raw_name(struct instance *inst);

#endif
