/* hooks.h - how the core tells its adapter (fs/) that something a reader
 * may wait for changed: a log grew, a pin's level moved (poll wake-ups).
 * Called from any thread, never from inside a FUSE request of the same
 * file. The core holds one set (core_new); the modules that notice a
 * change (logs, pins) get a pointer to it.
 */
#ifndef EMUFS_HOOKS_H
#define EMUFS_HOOKS_H

struct logfile;
struct pin;

struct core_hooks {
	void (*log_grew)(struct logfile *lf, void *opaque);
	void (*pin_changed)(struct pin *p, void *opaque);
	void *opaque;
};

#endif
