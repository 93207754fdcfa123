/* propcache.h - what the kernel may keep of props/, and how it is told to
 * forget it (propcache.c).
 *
 * Names and attributes below props/ are stable while QEMU's tree does not
 * change, so the kernel keeps them for PROPCACHE_TIMEOUT_S (kind_table.c)
 * and gets them with the listing (READDIRPLUS, ops_dir.c). When the core
 * says an instance's props/ changed (core_hooks.props_changed: objects came
 * or went, a link was retargeted, the run ended), a thread of this module
 * drops every name the kernel holds below that props/
 * (fuse_lowlevel_notify_inval_entry). Values are never cached by the
 * kernel: every open is direct_io (ops.c).
 */
#ifndef EMUFS_FS_PROPCACHE_H
#define EMUFS_FS_PROPCACHE_H

#include <fuse_lowlevel.h>

struct emufs_fs;
struct fuse_session;
struct instance;

/* Entry and attribute timeout of props/ (seconds): what a read after
 * idleness finds no longer cached. Long enough for `ls -l` and the
 * lookups of a path walked again; changes are notified, not waited out. */
#define PROPCACHE_TIMEOUT_S 5.0

/* Start the thread that sends the notifications on se. 0 or -errno. */
int propcache_start(struct emufs_fs *fs, struct fuse_session *se);
/* Stop it (before the session ends); later changes are not sent. */
void propcache_stop(struct emufs_fs *fs);
void propcache_free(struct emufs_fs *fs);

/* The core's hook (core_hooks.props_changed): queue inst, never block. */
void fs_props_changed(struct instance *inst, void *opaque);
/* How many props/ changes there were so far: taken before a LOOKUP (or
 * READDIRPLUS) resolves a name, and handed to propcache_settle. */
unsigned long propcache_gen(struct emufs_fs *fs);
/* An entry resolved from what was known at gen is about to be answered,
 * its inode already in the table: if props/ changed since, the kernel may
 * not keep it (the change's notifications may have gone before the name
 * had an inode to find), so its timeouts become 0. */
void propcache_settle(struct emufs_fs *fs, unsigned long gen,
		      struct fuse_entry_param *e);
/* Wait (at most PROPCACHE_FLUSH_MS) until what was queued before this
 * call has been sent: a write that changed props/ returns only once the
 * kernel forgot what it changed. Returns at once when nothing is queued.
 * Never called by the notifying thread, nor with a lock held. */
void propcache_flush(struct emufs_fs *fs);

#endif
