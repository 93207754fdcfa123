/* hooks.h - how the core tells its adapter (fs/) that something a reader
 * may wait for changed: a log grew (or a channel's run ended), a pin's
 * level moved (poll wake-ups), the state changed, every level recorded
 * (follow/'s lines). Called from any thread, never from inside a FUSE
 * request of the same file. The core holds one set (core_new); the modules that notice a
 * change (logs, pins) get a pointer to it.
 */
#ifndef EMUFS_HOOKS_H
#define EMUFS_HOOKS_H

struct instance;
struct logfile;
struct pin;

struct core_hooks {
	void (*log_grew)(struct logfile *lf, void *opaque);
	void (*pin_changed)(struct pin *p, void *opaque);
	/* Each state change (st: an enum inst_state), with inst->lock
	 * held, so in order. */
	void (*state_changed)(struct instance *inst, int st, void *opaque);
	/* Each level recorded that differs from the one before, learning
	 * the first included, with the pin's lock held (so in order). */
	void (*pin_level)(struct pin *p, int level, void *opaque);
	/* What props/ shows of inst may have changed (run_props_changed):
	 * forget what the kernel was let keep. Must not block: it comes
	 * from the I/O loop too. */
	void (*props_changed)(struct instance *inst, void *opaque);
	void *opaque;
};

#endif
