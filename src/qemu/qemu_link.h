/* qemu_link.h - a run's QMP link to its QEMU: the connection watched by
 * the core's I/O loop, events batched into the instance's `events` file,
 * a link lost while QEMU still runs ending that QEMU (the QMP link, or a
 * launched QEMU's serial link over TCP).
 */
#ifndef EMUFS_QEMU_LINK_H
#define EMUFS_QEMU_LINK_H

#include <stdbool.h>
#include <stddef.h>

struct run;
struct qemu_run;

/* Make the run's QMP client on fd (QEMU's accepted connection) and its
 * watches. 0; -ENOMEM when the client could not be made (fd closed);
 * -EIO when a watch could not (the client is the run's, freed with it). */
int qemu_link_open(struct run *r, int fd);

/* Stop watching the QMP socket (the watch hook first). */
void qemu_link_unwatch(struct qemu_run *q);

/* A launched QEMU's serial link i on fd (the channel's): watch a dup of
 * it for a hang-up, which, like a QMP EOF, ends a QEMU still running a
 * request timeout later. 0 or -errno. */
int qemu_link_watch_hup(struct run *r, size_t i, int fd);
/* Stop watching every serial link (idempotent); with close, also close
 * the dups (only once no callback can run: the run's release). */
void qemu_link_unwatch_hups(struct qemu_run *q, bool close_fds);

/* A QEMU's gdb stub link on fd (owned from here; a launched QEMU's, or
 * an attached one's): relayed to a loopback port for the user's gdb
 * (core/gdbrelay.h), whose address `gdb` then gives; its loss, like a
 * serial link's, ends a QEMU still running a request timeout later (an
 * attachment at once). 0 or -errno. */
int qemu_link_gdb(struct run *r, int fd);
/* Stop the relay and free it (idempotent). */
void qemu_link_unwatch_gdb(struct qemu_run *q);

#endif
