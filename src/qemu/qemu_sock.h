/* qemu_sock.h - the unix sockets a QEMU launch listens on: QEMU connects
 * to them as a client (the QMP monitor, every serial channel), so they
 * live in the instance's 0700 state directory, named after what they
 * carry ("qmp", the channel's name).
 */
#ifndef EMUFS_QEMU_SOCK_H
#define EMUFS_QEMU_SOCK_H

#include <stddef.h>

struct run;

/* <instance dir>/<name>.sock into buf; -ENAMETOOLONG. */
int qemu_sock_path(struct run *r, const char *name, char *buf, size_t len);

/* A non-blocking, close-on-exec listening socket at path (an old file
 * there is replaced), or -errno. */
int qemu_sock_listen(const char *path);

/* Accept QEMU's connection on lfd before the deadline (clock_now_ms()
 * time, core/clock.h); -EIO if the process ends first, -ETIMEDOUT. */
int qemu_sock_accept(struct run *r, int lfd, long long deadline);

#endif
