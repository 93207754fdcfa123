/* handlers.h - the handlers the kind table (kinds.c) points at, one
 * block per file that defines them. Only kinds.c and those files
 * include this. */
#ifndef EMUFS_FS_HANDLERS_H
#define EMUFS_FS_HANDLERS_H

#include <sys/types.h>

#include "kinds.h"

/* dir.c: the root and instance directories. */
int root_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child);
int root_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out);
int inst_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child);
int inst_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out);

/* control.c: ctl, state, target, gdb, firmware. A `text` handler gives the text
 * of a small file now, at most TEXT_MAX bytes with its NUL. */
int state_text(struct fh *fh, char *text, size_t len);
int state_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
ssize_t ctl_write(struct fh *fh, const char *buf, size_t size);
int target_text(struct fh *fh, char *text, size_t len);
int target_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
ssize_t target_write(struct fh *fh, const char *buf, size_t size);
int gdb_text(struct fh *fh, char *text, size_t len);
int gdb_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int firmware_file_text(struct fh *fh, char *text, size_t len);
/* The open of a file emufs keeps of the emulator's own (firmware,
 * trace/log): ENOTSUP on an attached emulator. */
int owned_file_open(struct fh *fh, int flags);
int firmware_file_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
ssize_t firmware_file_write(struct fh *fh, const char *buf, size_t size);

/* logs.c: growing logs (log, events, channels) and channel ptys. */
int log_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
ssize_t log_read(struct fh *fh, char *buf, size_t size, off_t off);
int log_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
	     unsigned *revents);
int channel_refresh(struct node *n);
ssize_t channel_file_write(struct fh *fh, const char *buf, size_t size);
int pty_refresh(struct node *n);
int pty_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int pty_readlink(struct node *n, char *buf, size_t len);

/* props.c: the emulator's properties. */
int props_lookup(struct emufs_fs *fs, const struct node *dir,
		 const char *name, struct node *child);
int props_readdir(struct emufs_fs *fs, const struct node *dir,
		  struct dirlist *out);
int props_refresh(struct node *n);
int prop_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int prop_open(struct fh *fh, int flags);
ssize_t prop_write(struct fh *fh, const char *buf, size_t size);
int prop_link_readlink(struct node *n, char *buf, size_t len);

/* gpio.c: gpio/ and its pins. */
int gpio_lookup(struct emufs_fs *fs, const struct node *dir,
		const char *name, struct node *child);
int gpio_readdir(struct emufs_fs *fs, const struct node *dir,
		 struct dirlist *out);
int pin_refresh(struct node *n);
int pin_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int pin_open(struct fh *fh, int flags);
void pin_release(struct fh *fh);
int pin_text(struct fh *fh, char *text, size_t len);
ssize_t pin_file_write(struct fh *fh, const char *buf, size_t size);
int pin_poll(struct emufs_fs *fs, struct fh *fh, struct fuse_pollhandle *ph,
	     unsigned *revents);

/* snapshots.c: snapshots/ and a snapshot in it. */
int snapshots_lookup(struct emufs_fs *fs, const struct node *dir,
		     const char *name, struct node *out);
int snapshots_readdir(struct emufs_fs *fs, const struct node *dir,
		      struct dirlist *out);
int snapshots_mkdir(struct emufs_fs *fs, const struct node *dir,
		    const char *name);
int snapshots_rmdir(struct emufs_fs *fs, const struct node *dir,
		    const char *name);
int snapshot_refresh(struct node *n);
int snapshot_node_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int snapshot_lookup(struct emufs_fs *fs, const struct node *dir,
		    const char *name, struct node *out);
int snapshot_readdir(struct emufs_fs *fs, const struct node *dir,
		     struct dirlist *out);

/* trace.c: trace/ (its log: logs.c). */
int trace_lookup(struct emufs_fs *fs, const struct node *dir,
		 const char *name, struct node *out);
int trace_readdir(struct emufs_fs *fs, const struct node *dir,
		  struct dirlist *out);
int trace_events_lookup(struct emufs_fs *fs, const struct node *dir,
			const char *name, struct node *out);
int trace_events_readdir(struct emufs_fs *fs, const struct node *dir,
			 struct dirlist *out);
int trace_event_refresh(struct node *n);
int trace_event_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
int trace_event_text(struct fh *fh, char *text, size_t len);
ssize_t trace_event_write(struct fh *fh, const char *buf, size_t size);
ssize_t trace_enable_write(struct fh *fh, const char *buf, size_t size);
/* follow.c: follow/ (its lines: follow_lines.h). */
int follow_lookup(struct emufs_fs *fs, const struct node *dir,
		  const char *name, struct node *child);
int follow_readdir(struct emufs_fs *fs, const struct node *dir,
		   struct dirlist *out);
int follow_gpio_lookup(struct emufs_fs *fs, const struct node *dir,
		       const char *name, struct node *child);
int follow_log_refresh(struct node *n);
int follow_pin_refresh(struct node *n);
int follow_log_stat(struct emufs_fs *fs, struct node *n, struct stat *st);
/* The size of an open follow/ file: a channel's, of the run it follows. */
void follow_fh_stat(struct fh *fh, struct stat *st);
int follow_open(struct fh *fh, int flags);
void follow_release(struct fh *fh);
ssize_t follow_read(struct fh *fh, char *buf, size_t size, off_t off);
int follow_poll(struct emufs_fs *fs, struct fh *fh,
		struct fuse_pollhandle *ph, unsigned *revents);
/* The mount ends (any thread; opaque: the emufs_fs): every read of a
 * follow/ file gives end of file, parked ones now (waiters_end), and
 * every poll of one is woken to see POLLIN. Again is harmless. */
void follow_end(void *opaque);

/* text.c: reads of small files (one snapshot per read from offset 0)
 * and the qmp/monitor conversations (replies kept for the reads). */
ssize_t read_text(const char *text, char *buf, size_t size, off_t off);
ssize_t text_read(struct fh *fh, char *buf, size_t size, off_t off);
int raw_refresh(struct node *n);
ssize_t raw_read(struct fh *fh, char *buf, size_t size, off_t off);
ssize_t raw_write(struct fh *fh, const char *buf, size_t size);

/* text.c: reads the test hook's variable once (fs_init). */
void fs_text_init(void);

#endif
