/* snapshot.h - an instance's snapshots/ (docs/reference.md 3.9): saved
 * machine states, by name.
 *
 * Where they live: <state dir>/SNAPSHOT_ROOT/<instance>/<name>/, one
 * directory per snapshot holding what the emulator saved (the connector's
 * files: QEMU's vmstate.qcow2, Renode's state.save) and META_FILE, written
 * last: what it was taken with (the key), the run state it was taken in,
 * the levels of the shim pins. SNAPSHOT_ROOT has no instance mark, so no
 * cleanup of the state directory (exit, start, janitor: statedir.h) ever
 * removes it, and a remount of the same configuration at the same place
 * (the same default state directory) finds them again.
 *
 * A save writes into ".<name>.part" (made with mkdir(2): of two saves of
 * one name, one gets EEXIST) and renames it to <name> when complete; a
 * failed or cancelled save removes it, so nothing half-written is listed.
 *
 * The lifecycle part (save, load) claims the instance like every ctl
 * command (lifecycle.c): QEMU's own STOP and RESUME during a load are not
 * shown in `state`, which ends as the snapshot recorded it.
 */
#ifndef EMUFS_SNAPSHOT_H
#define EMUFS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct instance;

/* No instance name has '@' (config_name_valid): no clash. */
#define SNAPSHOT_ROOT "snapshots@"
#define SNAPSHOT_META "emufs-snapshot.json"

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes. Pure. */
bool snapshot_name_valid(const char *name);

/* The first line of key "<what> <value>\n..." that differs from want's,
 * as its <what> into buf ("argv", "image", ...); false when they are
 * the same. Pure (tests/unit). */
bool snapshot_key_differs(const char *have, const char *want, char *buf,
			  size_t len);

/* The saved snapshots' names, sorted (the caller frees each and the
 * array). 0 or -errno. */
int snapshot_list(struct instance *inst, char ***names, size_t *n);
/* When it was saved and its size on disk: 0 or -ENOENT. */
int snapshot_stat(struct instance *inst, const char *name,
		  struct timespec *when, off_t *size);

/* mkdir snapshots/NAME: save the running or paused machine. */
int snapshot_save(struct instance *inst, const char *name);
/* rmdir snapshots/NAME. */
int snapshot_delete(struct instance *inst, const char *name);
/* ctl `load NAME`: restore in place, or start from it when stopped. */
int snapshot_load(struct instance *inst, const char *name);

#endif
