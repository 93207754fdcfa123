/* tcplink.c - TCP links a launched emulator dials back to (see
 * tcplink.h).
 */
#include "tcplink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
