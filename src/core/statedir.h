/* statedir.h - the state directory: where sockets, on-disk logs and disk
 * overlays live (docs/reference.md 1, --state-dir).
 *
 * It is private (0700, owned by the user). emufs removes only what it
 * made: each instance has a directory there marked with a file
 * STATEDIR_MARK, and cleaning up at exit removes marked directories and
 * nothing else, so `--state-dir` may point at a directory that holds
 * other files; the directory itself is removed only if emufs made it
 * (marked with STATEDIR_MADE), never a --state-dir that existed before.
 *
 * The logs of an emufs that died (SIGKILL, a crash) are kept for the user
 * (docs/reference.md 1): its janitor, or else the next emufs on the directory,
 * moves each instance's log, events and channel logs into a new folder
 * STATEDIR_CRASHED<UTC time>/<instance>/ and removes the rest (sockets,
 * overlays). Such a folder is not emufs's: it never removes it.
 *
 * One emufs at a time: an flock on STATEDIR_LOCK, held for emufs's life
 * (and inherited by its janitor, which keeps it until the dead mount is
 * unmounted and the logs are salvaged). A new emufs on the same directory,
 * e.g. a remount right after `fusermount3 -u` while the old one still
 * stops its emulators, or right after a SIGKILL, waits for it instead of
 * racing its cleanup.
 */
#ifndef EMUFS_STATEDIR_H
#define EMUFS_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

#define STATEDIR_MARK ".emufs-instance"
#define STATEDIR_LOCK ".emufs-lock"
#define STATEDIR_MADE ".emufs-made"
/* No instance name has '@' (config_name_valid): no clash. */
#define STATEDIR_CRASHED "crashed@"
#define STATEDIR_LOCK_WAIT_MS 20000

/* ${XDG_RUNTIME_DIR:-/tmp}/emufs-$UID/<last component>-<hash of path>. */
char *statedir_default(const char *mountpoint);
/* Create dir with mode 0700 (and its parent too when own_parent: the
 * default's emufs-$UID), refusing one that is not the user's; take its
 * lock (waiting for an emufs or janitor that still has it); salvage the
 * instance directories an earlier emufs left. Returns the lock's fd (keep
 * it open), or -1 with err. */
int statedir_prepare(const char *dir, bool own_parent, char *err,
		     size_t errlen);
/* Remove every marked instance directory and the lock file, then dir if
 * emufs made it and that empties it. */
void statedir_remove(const char *dir);
/* After emufs died: move the logs of every instance directory left in dir
 * into a new STATEDIR_CRASHED folder and remove the rest of them. Only
 * malloc-family calls and syscalls: the janitor runs it after a fork(). */
void statedir_salvage(const char *dir);

/* Make (or empty, if an earlier emufs left it) the marked directory of
 * one instance. -EEXIST when a directory of that name is not emufs's. */
int statedir_make_instance(const char *instdir);
void statedir_remove_instance(const char *instdir);
/* Move an instance directory aside (rmdir while its files are open), to
 * a name no instance can have; returns the new path, or NULL. */
char *statedir_retire_instance(const char *instdir);
/* Whether instdir can be an instance's: absent, or emufs's own (checked
 * before mounting, so a clash is refused before anything is live). */
bool statedir_instance_free(const char *instdir);

#endif
