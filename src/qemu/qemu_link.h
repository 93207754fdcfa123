/* qemu_link.h - a run's QMP link to its QEMU: the connection watched by
 * the core's I/O loop, events batched into the instance's `events` file,
 * a link lost while QEMU still runs ending that QEMU.
 */
#ifndef EMUFS_QEMU_LINK_H
#define EMUFS_QEMU_LINK_H

struct run;
struct qemu_run;

/* Make the run's QMP client on fd (QEMU's accepted connection) and its
 * watches. 0; -ENOMEM when the client could not be made (fd closed);
 * -EIO when a watch could not (the client is the run's, freed with it). */
int qemu_link_open(struct run *r, int fd);

/* Stop watching the QMP socket (the write hook first). */
void qemu_link_unwatch(struct qemu_run *q);

#endif
