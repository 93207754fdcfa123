/* renode_snapshot.h - the Renode connector's snapshots
 * (renode_snapshot.c): the snapshot operations of connector.h. */
#ifndef EMUFS_RENODE_SNAPSHOT_H
#define EMUFS_RENODE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct run;

int renode_snapshot_save(struct run *r, const char *dir, const char *name,
			 int timeout_ms, char *why, size_t whylen);
int renode_snapshot_load(struct run *r, const char *dir, const char *name,
			 bool running, int timeout_ms, char *why,
			 size_t whylen);
int renode_snapshot_key(struct run *r, char **key);

#endif
