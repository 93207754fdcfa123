/* mountwatch.h - end the session when the mount leaves the namespace
 * (a lazy unmount with files still open; mountwatch.c). */
#ifndef EMUFS_FS_MOUNTWATCH_H
#define EMUFS_FS_MOUNTWATCH_H

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>

/* From the thread that runs the session loop (it is woken), after the
 * mount is live and the signal handlers are set. 0, or -1: not
 * watched (a lazy unmount then waits for the last file to close). */
int mountwatch_start(struct fuse_session *se, const char *mountpoint);
void mountwatch_stop(void);

#endif
