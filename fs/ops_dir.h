/* ops_dir.h - the directory operations of the low-level FUSE API and the
 * entry of a LOOKUP reply (ops_dir.c), for ops.c's table. */
#ifndef EMUFS_FS_OPS_DIR_H
#define EMUFS_FS_OPS_DIR_H

#include <fuse_lowlevel.h>

struct emufs_fs;
struct node;

/* The entry a LOOKUP (or a READDIRPLUS) gives for n, with its timeouts:
 * counts one kernel lookup of its inode (the caller forgets it when the
 * reply is not delivered). gen: propcache_gen() from before n was
 * resolved. 0 or -errno. */
int ops_entry(struct emufs_fs *fs, struct node *n, unsigned long gen,
	      struct fuse_entry_param *e);

void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void ops_releasedir(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi);

#endif
