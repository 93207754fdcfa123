/* tcplink.h - the TCP links a launched emulator dials back to
 * (interface.md 6): one listening socket per link, on a port the kernel
 * picks before the emulator starts (so no two links, and no other
 * program, can race for it), and the dead-peer detection every accepted
 * link gets.
 */
#ifndef EMUFS_TCPLINK_H
#define EMUFS_TCPLINK_H

/* A non-blocking, close-on-exec socket listening on addr (an IPv4 or
 * IPv6 literal, config.h's settings.listen), port chosen by the kernel
 * into *port. The fd, or -errno. */
int tcplink_listen(const char *addr, int *port);

/* Make a dead peer an error on fd within about timeout_ms (the request
 * timeout): keepalive probes while the link is idle, TCP_USER_TIMEOUT
 * while data waits unacknowledged. Keepalive counts whole seconds, so
 * at least ~4 s. 0 or -errno. */
int tcplink_tune(int fd, int timeout_ms);

#endif
