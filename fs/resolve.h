/* resolve.h - from an inode number or a directory entry to the node it
 * names (node.h), checked against the instance as it is now
 * (resolve.c). */
#ifndef EMUFS_FS_RESOLVE_H
#define EMUFS_FS_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "node.h"

struct emufs_fs;
struct instance;

/* The node an inode number names, checked against the instance as it is
 * now (kind table's refresh): -ENOENT if it is gone, -ESTALE if its
 * instance was removed. node_release() it. */
int node_of_ino(struct emufs_fs *fs, uint64_t ino, struct node *n);
/* The child name of directory dir, checked to exist: -ENOENT,
 * -ENAMETOOLONG, -ENOTDIR. */
int node_child(struct emufs_fs *fs, const struct node *dir,
	       const char *name, struct node *child);
/* out: the child of dir's instance of this kind and name, checked to
 * exist (node_refresh); with an instance reference either way. */
int node_named_child(const struct node *dir, enum node_kind kind,
		     const char *name, struct node *out);
/* Is n still there as the kind it was (and its mode now)? Fixed files
 * depend on the target's emulator; the rest ask their kind's refresh. */
int node_refresh(struct node *n);
/* Count one kernel lookup of n: its inode number (0: no memory). */
uint64_t node_ino(struct emufs_fs *fs, const struct node *n);
void node_release(struct node *n);

mode_t node_mode(const struct node *n);
/* The attributes of n (st_ino: ino) as they are now. 0 or -errno. */
int node_stat(struct emufs_fs *fs, struct node *n, uint64_t ino,
	      struct stat *st);
bool node_writable(const struct node *n);
/* Whether the instance was removed by rmdir (its files give ESTALE). */
bool node_instance_removed(struct instance *inst);

#endif
