/* mountwatch.h - notice the mount leaving the namespace (a lazy unmount
 * with files still open; mountwatch.c). */
#ifndef EMUFS_FS_MOUNTWATCH_H
#define EMUFS_FS_MOUNTWATCH_H

#include <pthread.h>
#include <stdbool.h>

/* Once the mount is live: gone(opaque) is called, from the watcher's
 * thread, once the mount is no longer in the mount table. 0, or -1: not
 * watched. */
int mountwatch_start(const char *mountpoint, void (*gone)(void *),
		     void *opaque);
void mountwatch_stop(void);

#endif
