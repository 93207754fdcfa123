/* qemu_snapshot.h - the QEMU connector's snapshots (qemu_snapshot.c):
 * the snapshot operations of connector.h. */
#ifndef EMUFS_QEMU_SNAPSHOT_H
#define EMUFS_QEMU_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct run;

int qemu_snapshot_save(struct run *r, const char *dir, const char *name,
		       int timeout_ms, char *why, size_t whylen);
/* QEMU's snapshot-load keeps the run state itself: running unused. */
int qemu_snapshot_load(struct run *r, const char *dir, const char *name,
		       bool running, int timeout_ms, char *why, size_t whylen);
int qemu_snapshot_key(struct run *r, char **key);
/* A run that starts from a snapshot (r->snapshot): drive i's overlay is
 * the snapshot's own disk, linked at path. 0, or -errno with why. */
int qemu_snapshot_disk(struct run *r, size_t i, const char *path, char *why,
		       size_t whylen);

#endif
