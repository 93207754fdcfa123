/* inode.h - inode numbers for the low-level FUSE API.
 *
 * The kernel names every file by a 64-bit inode number it got from a
 * LOOKUP (or MKDIR) reply, and tells us with FORGET how many of those
 * lookups it dropped. This table hands out one number per identity (an
 * owner such as an instance, a file kind, a path below the owner) and
 * keeps it while the kernel holds a lookup of it: the same identity
 * looked up again while alive gets the same number (`tail -F`, `find`
 * and `ls -i` see stable inodes). Numbers are never reused (a 64-bit
 * counter), so a stale number can only miss, never hit the wrong file.
 *
 * FUSE-free (uint64_t is fuse_ino_t) and unit-tested on its own
 * (tests/unit/test_fs_inode.c). The owner is opaque: the table takes a
 * reference of it (owner_get) for as long as the inode lives and gives
 * one to every inode_get() caller.
 */
#ifndef EMUFS_FS_INODE_H
#define EMUFS_FS_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FUSE_ROOT_ID: the root is not in the table; it always exists. */
#define INODE_ROOT 1

struct inode_table;

/* Who an inode is. path is owned by the caller on input; inode_get()
 * returns a malloc'd copy. */
struct inode_id {
	void *owner;         /* e.g. the instance, with a reference */
	int kind;            /* the caller's kind of file */
	const char *path;    /* the name, or a path below the owner */
};

struct inode_owner_ops {
	void (*get)(void *owner);      /* take one reference */
	void (*put)(void *owner);      /* drop one */
};

struct inode_table *inode_table_new(const struct inode_owner_ops *ops);
/* Drops every inode (and its owner reference): after the session ended
 * the kernel sends no more FORGETs. */
void inode_table_free(struct inode_table *t);

/* Counts one lookup of id and returns its number (0: out of memory). */
uint64_t inode_lookup(struct inode_table *t, const struct inode_id *id);
/* The identity of ino with a reference of its owner and a copy of its
 * path (inode_id_release() both); -ENOENT if the kernel forgot it,
 * -ESTALE if its owner was detached. */
int inode_get(struct inode_table *t, uint64_t ino, struct inode_id *out);
void inode_id_release(struct inode_table *t, struct inode_id *id);
/* The kernel dropped nlookup lookups of ino (FORGET); at zero the inode
 * and its owner reference go. */
void inode_forget(struct inode_table *t, uint64_t ino, uint64_t nlookup);
/* The owner is gone (an instance removed by rmdir): its inodes drop
 * their references now, not when the kernel forgets them (it may keep
 * an inode cached until the unmount), so the owner can be freed once its
 * open files close. They answer -ESTALE from then on, and a new owner at
 * the same address never matches them. */
void inode_detach_owner(struct inode_table *t, void *owner);
/* The number of id while the kernel holds it, without counting a
 * lookup (for a notification about it); 0 when it does not. */
uint64_t inode_find(struct inode_table *t, const struct inode_id *id);

/* An inode as inode_owned() lists it. */
struct inode_ref {
	uint64_t ino;
	int kind;
	char *path;          /* malloc'd */
};
/* The live inodes of owner whose kind want() accepts, in *out (malloc'd,
 * inode_refs_free()), *n of them. 0 or -ENOMEM. */
int inode_owned(struct inode_table *t, void *owner, bool (*want)(int kind),
		struct inode_ref **out, size_t *n);
void inode_refs_free(struct inode_ref *refs, size_t n);

/* How many inodes are alive (for tests and the design's invariants). */
size_t inode_count(struct inode_table *t);

#endif
