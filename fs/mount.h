/* mount.h - the mount's state (struct emufs_fs, fs.h) before and after
 * the session, its open files, and directory listings (mount.c). */
#ifndef EMUFS_FS_MOUNT_H
#define EMUFS_FS_MOUNT_H

#include "fs.h"

int fs_init(struct emufs_fs *fs);
/* Free what the kernel did not release or forget (after the loop). */
void fs_free_open_files(struct emufs_fs *fs);
void fs_destroy(struct emufs_fs *fs);
/* An open file: made at open, linked on fs->files; and its end. */
void fs_file_link(struct emufs_fs *fs, struct fh *fh);
void fs_file_free(struct emufs_fs *fs, struct fh *fh);
/* Whether a file is still open; how many of follow/ (opaque: the
 * emufs_fs). */
bool fs_files_open(void *opaque);
size_t fs_follow_files_open(void *opaque);

/* A name at the end of a listing; -ENOMEM. */
int dirlist_add(struct dirlist *d, const char *name);
/* The same; plus: a READDIRPLUS may look the name up (struct dirlist). */
int dirlist_add_plus(struct dirlist *d, const char *name, bool plus);

#endif
