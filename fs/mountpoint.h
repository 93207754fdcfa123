/* mountpoint.h - whether emufs may mount on a directory (mountpoint.c).
 *
 * Checked before the state directory is touched, so that a refusal is
 * immediate and changes nothing: a mount point that is missing, already
 * holds a live FUSE file system, or holds a dead one (ENOTCONN) is refused
 * with one line saying which and what to do (docs/mounting.md). A
 * directory that is an ordinary mount point (a bind mount, a container's
 * volume) is a fine place for emufs.
 */
#ifndef EMUFS_FS_MOUNTPOINT_H
#define EMUFS_FS_MOUNTPOINT_H

#include <stdbool.h>
#include <stddef.h>

enum mountpoint_state {
	MOUNTPOINT_FREE,
	MOUNTPOINT_MISSING,     /* ENOENT, ENOTDIR */
	MOUNTPOINT_MOUNTED,     /* a live FUSE file system is mounted there */
	MOUNTPOINT_STALE,       /* a dead FUSE mount: ENOTCONN */
	MOUNTPOINT_ERROR,       /* whatever else stat(2) says */
};

struct mountpoint {
	char *path;                     /* absolute, symlinks resolved; or
					 * NULL. The caller's to free. */
	enum mountpoint_state state;
	int err;                        /* the errno behind the state */
	char type[64];                  /* of the mount on path, or "" */
	char source[256];               /* of the mount on path, or "" */
};

/* Look at the mount point given (as the user wrote it). May block on a
 * live FUSE file system that does not answer (stat). */
void mountpoint_probe(const char *given, struct mountpoint *mp);
/* The one-line refusal of a mount point that is not free. */
void mountpoint_refuse(const char *given, const struct mountpoint *mp);
/* Type and source of the file system mounted on path (absolute), the
 * last one mounted there; false if none is. */
bool mountpoint_mounted(const char *path, char *type, size_t typelen,
			char *source, size_t sourcelen);

#endif
