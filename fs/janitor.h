/* janitor.h - the janitor: a child process that cleans up after an emufs
 * that was killed (SIGKILL, a crash), when emufs itself cannot.
 *
 * The janitor waits on a socket from emufs. When emufs's end closes
 * without the "clean" byte, emufs died: the janitor lazily unmounts the
 * dead mount (`fusermount3 -u -z`), moves the instances' logs aside
 * (statedir_salvage) and removes the rest of the state directory. It
 * inherits the state directory's lock and holds it until all that is
 * done, so a new emufs on the same directory (a remount right after the
 * SIGKILL) waits for it instead of racing it. Emulators die by themselves
 * (parent-death signal).
 *
 * A janitor that dies while emufs lives (someone killed it) is restarted
 * at once by a keeper thread of emufs, so emufs always has one. If both
 * die before the keeper could act (or at once, e.g. a SIGKILL of the
 * whole process group), the next emufs on the same state directory does
 * the janitor's work: statedir_prepare() salvages the logs, and
 * janitor_clear_dead_mount() removes the dead mount.
 */
#ifndef EMUFS_JANITOR_H
#define EMUFS_JANITOR_H

/* Start the janitor (after fuse_daemonize(): it is emufs's child) and its
 * keeper. state_dir and mountpoint absolute; lock_fd the state directory's
 * lock. Without a janitor emufs still runs, without the cleanup. */
void janitor_start(const char *state_dir, const char *mountpoint,
		   int lock_fd);

/* Holding the state directory's lock, before mounting: if mountpoint is
 * the dead mount of an emufs (ENOTCONN, type fuse.emufs), unmount it
 * lazily. A live mount, or anything else, is left alone. */
void janitor_clear_dead_mount(const char *mountpoint);

/* emufs cleaned up itself: stop the keeper and let the janitor go. Never
 * raises SIGPIPE, whether the janitor lives or not. */
void janitor_dismiss(void);

#endif
