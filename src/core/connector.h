/* connector.h - the one interface behind which every emulator sits.
 *
 * A connector launches its emulator for a run (argv, sockets, control
 * connection, channels) and then talks to it: lifecycle commands,
 * properties, pins and a raw command channel. An emulator brings one (core/emulator.h):
 * adding an emulator means one new folder and one entry in the table of
 * src/emulators.c.
 *
 * All operations are called from FUSE workers or the lifecycle code with a
 * reference on the run held; each waits at most the instance's request
 * timeout. They return 0 or -errno (docs/reference.md section 4).
 */
#ifndef EMUFS_CONNECTOR_H
#define EMUFS_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct run;
struct trace_event;

/* What a name under props/ is. Paths given to the property operations
 * are relative to props/, '/'-separated ("machine/soc/gpio/gpioA1"); each
 * connector maps them onto its own object paths. */
enum prop_kind { PROP_FILE, PROP_DIR, PROP_LINK };
struct prop_entry {
	char *name;
	enum prop_kind kind;
	char *type;        /* emulator's declared type, e.g. "bool" */
	bool readonly;     /* known not to be writable (mode 0444) */
	/* prop_list: prop_lookup of it would not ask the emulator (a
	 * cache knows all it says), so a listing may give its attributes
	 * too. False when unsure. */
	bool known;
};

struct prop_info {
	enum prop_kind kind;
	bool readonly;     /* known not to be writable: no w bit */
	bool unreadable;   /* known not to be readable: no r bits */
	char *link;        /* PROP_LINK: relative symlink target; malloc'd */
};

struct connector_ops {

	/* Spawn the emulator (through run_spawn()), connect its control
	 * connection and every channel, and let the CPUs run unless paused.
	 * On failure: -EIO (or -ETIMEDOUT) and one line in why. The caller
	 * kills and reaps what is left. */
	int (*launch)(struct run *r, bool paused, char *why, size_t whylen);
	/* Ask the emulator to quit, waiting at most timeout_ms for it to
	 * accept; it need not be gone on return. */
	int (*quit)(struct run *r, int timeout_ms);
	int (*reset)(struct run *r);
	int (*pause)(struct run *r);
	int (*resume)(struct run *r);
	/* The process ended or the run is over: wake every waiter. */
	void (*shutdown)(struct run *r);
	/* Free the connector's part of the run (no caller is inside). */
	void (*release)(struct run *r);

	/* Properties (docs/reference.md 3.4), by path relative to props/. Text
	 * values are formatted for the shell (propval.h). -ENOENT for
	 * names that do not exist. NULL when the emulator has none. */
	int (*prop_lookup)(struct run *r, const char *rel,
			   struct prop_info *info);
	int (*prop_list)(struct run *r, const char *rel,
			 struct prop_entry **ents, size_t *n);
	int (*prop_get)(struct run *r, const char *rel, char **text);
	int (*prop_set)(struct run *r, const char *rel, const char *text,
			size_t len);
	/* Pins of the emulator's own backends (qom, renode). */
	int (*pin_get)(struct run *r, const struct cfg_pin *pin, int *level);
	int (*pin_set)(struct run *r, const struct cfg_pin *pin, int level);
	/* Optional: pin_get in two halves, so that the pin watcher asks
	 * every instance at once and a round costs the slowest reply, not
	 * the sum. pin_get_begin sends the question and returns at once (a
	 * handle, NULL only when out of memory); pin_get_end, called once
	 * for each handle, waits for the answer as pin_get would. */
	void *(*pin_get_begin)(struct run *r, const struct cfg_pin *pin);
	int (*pin_get_end)(struct run *r, const struct cfg_pin *pin,
			   void *call, int *level);
	/* Raw command (a QMP object, a monitor line); reply malloc'd,
	 * newline-terminated. */
	int (*raw)(struct run *r, const char *cmd, size_t len, char **reply);
	/* "127.0.0.1:PORT" of the emulator's gdb stub; -ENOENT if none. */
	int (*gdb_address)(struct run *r, char *buf, size_t len);
	/* Snapshots (docs/reference.md 3.9, core/snapshot.h); NULL when the
	 * emulator has none. dir is the snapshot's own directory: the
	 * emulator keeps all it saves there, so removing dir deletes the
	 * snapshot. Each waits at most timeout_ms (the snapshot deadline,
	 * not the request timeout). On failure one line in why: -EINVAL
	 * (the emulator or a disk cannot be saved), -ENOSPC, -ETIMEDOUT
	 * (the job was cancelled), -EIO. */
	int (*snapshot_save)(struct run *r, const char *dir, const char *name,
			     int timeout_ms, char *why, size_t whylen);
	/* running: the machine runs now; the load leaves it so (the core
	 * then sets the run state the snapshot recorded). -EXDEV, with
	 * nothing changed: the snapshot needs a run started from it
	 * (run->snapshot: its disks), and the core restarts. */
	int (*snapshot_load)(struct run *r, const char *dir, const char *name,
			     bool running, int timeout_ms, char *why,
			     size_t whylen);
	/* What a snapshot of this run is bound to besides the image: lines
	 * "<what> <value>" (command line, emulator version), malloc'd. */
	int (*snapshot_key)(struct run *r, char **key);

	/* Trace events (docs/reference.md 3.10, core/trace.h); NULL when the
	 * emulator has none. trace_list: the events whose names match the
	 * glob pattern ("*": all), with their state, malloc'd
	 * (trace_events_free). trace_set: switch every event matching glob
	 * (the core checked that some do). */
	int (*trace_list)(struct run *r, const char *pattern,
			  struct trace_event **evs, size_t *n);
	int (*trace_set)(struct run *r, const char *glob, bool on);
};

void prop_entries_free(struct prop_entry *ents, size_t n);

#endif
