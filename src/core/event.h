/* event.h - one QMP-shaped event line of emufs's own in an instance's
 * `events` file (docs/reference.md 3.1):
 *   {"timestamp": {...}, "event": "EMUFS_STATE", "data": {"instance": ...}}
 */
#ifndef EMUFS_EVENT_H
#define EMUFS_EVENT_H

#include <stdbool.h>

struct logfile;

/* data holds the JSON members that follow "instance" (names need no
 * escaping). notice: a full disk's notice (lognotice.c), which may use
 * all the memory a log holds while its disk is full. */
void event_write(struct logfile *events, const char *instance,
		 const char *event, const char *data, bool notice);

#endif
