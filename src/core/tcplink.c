/* tcplink.c - TCP links a launched emulator dials back to (see
 * tcplink.h).
 */
#include "tcplink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

int tcplink_listen(const char *addr, int *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof *s4;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof *s6;
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
			SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Port 0: the kernel's pick. Backlog 1: one emulator dials each. */
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
	return fd;
}

int tcplink_tune(int fd, int timeout_ms)
{
	/* idle + cnt * intvl ~ the request timeout: three probes a quarter
	 * of it apart, after a quarter of it idle. */
	int q = timeout_ms / 4000 > 1 ? timeout_ms / 4000 : 1;
	int on = 1, cnt = 3;
	unsigned int user = timeout_ms > 0 ? (unsigned int)timeout_ms : 0;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &q, sizeof q) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &q, sizeof q) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user,
		       sizeof user) < 0)
		return -errno;
	return 0;
}

/* One non-blocking connect to ai, waited for until end (clock_now_ms()
 * time): the fd or -errno. */
static int connect_one(const struct addrinfo *ai, long long end)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	int e = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		e = errno;
		while (e == EINPROGRESS || e == EINTR) {
			int left = clock_ms_left(end);
			if (left == 0) {
				e = ETIMEDOUT;
				break;
			}
			struct pollfd p = { fd, POLLOUT, 0 };
			if (poll(&p, 1, left) <= 0)
				continue;
			socklen_t len = sizeof e;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
				e = errno;
		}
	}
	if (e) {
		close(fd);
		return -e;
	}
	return fd;
}

int tcplink_connect(const char *host, const char *port, int timeout_ms,
		    char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	long long end = clock_now_ms() + timeout_ms;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(why, whylen, "%s:%s: %s", host, port,
			 gai_strerror(rc));
		return -EIO;
	}
	int fd = -ENOENT;
	for (ai = res; ai && fd < 0 && fd != -ETIMEDOUT; ai = ai->ai_next)
		fd = connect_one(ai, end);
	freeaddrinfo(res);
	if (fd >= 0 && (rc = tcplink_tune(fd, timeout_ms))) {
		close(fd);
		fd = rc;
	}
	if (fd < 0)
		snprintf(why, whylen, "connect to %s:%s: %s", host, port,
			 fd == -ETIMEDOUT ? "no answer (timed out)"
					  : strerror(-fd));
	return fd;
}
