/* ops.h - the low-level FUSE operations (ops.c), for the session. */
#ifndef EMUFS_FS_OPS_H
#define EMUFS_FS_OPS_H

struct fuse_lowlevel_ops;

extern const struct fuse_lowlevel_ops emufs_ll_ops;

#endif
