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

#endif
