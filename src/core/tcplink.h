/* tcplink.h - the TCP links to emulators on other machines
 * (interface.md 6): for a launched emulator, which dials back, one
 * listening socket per link, on a port the kernel picks before the
 * emulator starts (so no two links, and no other program, can race for
 * it); for an attached one, emufs's connection to the endpoint it
 * serves; and the dead-peer detection every link gets.
 */
#ifndef EMUFS_TCPLINK_H
#define EMUFS_TCPLINK_H

#include <stddef.h>

/* A non-blocking, close-on-exec socket listening on addr (an IPv4 or
 * IPv6 literal, config.h's settings.listen), port chosen by the kernel
 * into *port. The fd, or -errno. */
int tcplink_listen(const char *addr, int *port);

/* Make a dead peer an error on fd within about timeout_ms (the request
 * timeout): keepalive probes while the link is idle, TCP_USER_TIMEOUT
 * while data waits unacknowledged. Keepalive counts whole seconds, so
 * at least ~4 s. 0 or -errno. */
int tcplink_tune(int fd, int timeout_ms);

/* Connect to host:port (a name or an address; getaddrinfo) within
 * timeout_ms: a non-blocking, close-on-exec socket, tuned as
 * tcplink_tune does, or -errno with one line in why ("connect to
 * 10.0.0.2:4444: Connection refused"). */
int tcplink_connect(const char *host, const char *port, int timeout_ms,
		    char *why, size_t whylen);

#endif
