/* qemu_sock.h - the unix sockets a QEMU launch listens on, and the pipes
 * of its serial channels: QEMU connects to the socket of its QMP monitor
 * as a client and opens the FIFOs of every serial channel, so they live
 * in the instance's 0700 state directory, named after what they carry
 * ("qmp", the channel's name).
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

/* The FIFOs of a serial channel, for QEMU's `-chardev pipe,path=P`:
 * P is <instance dir>/<name>.pipe into buf, QEMU opens P.in (guest
 * input) and P.out (guest output). -ENAMETOOLONG. */
int qemu_fifo_path(struct run *r, const char *name, char *buf, size_t len);

/* Make P.in and P.out (old files there are replaced) and open both,
 * non-blocking and close-on-exec: *out to read guest output from, *in to
 * write its input to. Both are opened read-write, so neither open waits
 * for QEMU, a read never sees end of file before QEMU opened its end and
 * a write never raises SIGPIPE. 0 or -errno (nothing left open). */
int qemu_fifo_open(const char *path, int *out, int *in);
/* Remove P.in and P.out (once QEMU has them open, or on failure). */
void qemu_fifo_unlink(const char *path);

#endif
