/* raw.c - the baseline's I/O: unix sockets to a QEMU, and a minimal QMP
 * client on one of them.
 *
 * Why not the core's QMP client (src/qemu/qmp.h): the baseline must be
 * the cheapest raw way to ask QEMU, or every ratio flatters emufs. The
 * core's client does not read by itself: a requester writes, then sleeps
 * on a condition variable until another thread (the I/O loop) is woken by
 * poll(), reads, parses the line with jansson and wakes it. Used here it
 * would need a reader thread of its own, so each raw round trip would pay
 * two thread hops and a JSON parse that a direct client does not (1.2x to
 * 1.4x the latency and about 2x the CPU of this client per qom-get, see
 * docs/performance.md); and its CPU would count in this process's figures
 * of the serial section (stop and cont of the raw QEMU run inside that
 * window). The client below is one thread doing write(), then blocking
 * read()s until the reply line: no ids (replies come in order on a
 * monitor nobody else uses), no parse (QEMU starts every reply with
 * "return" or "error", events with "event").
 *
 * What it shares with the core is the line framing: the QMP wire module
 * (src/qemu/qmp_wire.c, qmp_lines), which has no thread and no socket of
 * its own, so this stays a direct socket read by the one thread asking.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "qemu/qmp_wire.h"

/* ---- unix sockets ----------------------------------------------------- */

static int raw_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

int raw_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	if (raw_addr(&sa, path))
		bench_fail("socket path too long: %s", path);
	double end = clk_now_us() + timeout_ms * 1000.0;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		close(fd);
		if (clk_now_us() > end)
			bench_fail("connect %s: %s", path, strerror(errno));
		clk_sleep_ms(2);
	}
}

int raw_listen(const char *path)
{
	struct sockaddr_un sa;
	if (raw_addr(&sa, path))
		bench_fail("socket path too long: %s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 4) < 0)
		bench_fail("listen %s: %s", path, strerror(errno));
	return fd;
}

int raw_accept(int lfd, pid_t child, int timeout_ms)
{
	double end = clk_now_us() + timeout_ms * 1000.0;
	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		if (poll(&p, 1, 20) > 0) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
		if (waitpid(child, NULL, WNOHANG) == child) {
			proc_untrack(child);
			bench_fail("QEMU exited before it connected (see "
				   "%s/bench.log)", bench_opt.work);
		}
		if (clk_now_us() > end)
			bench_fail("QEMU did not connect in %d ms", timeout_ms);
	}
}

long raw_read_calls;

ssize_t raw_read_until(int fd, char *buf, size_t cap, const char *needle,
		       int timeout_ms)
{
	size_t got = 0, nl = strlen(needle);
	/* A plain blocking read, the cheapest reader there is; the timeout
	 * rides on the socket rather than on a poll() per read. */
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		raw_read_calls++;
		if (n <= 0)
			return -1;
		size_t from = got > nl ? got - nl : 0;
		got += n;
		if (memmem(buf + from, got - from, needle, nl))
			return got;
	}
	return -1;
}

/* ---- a minimal QMP client --------------------------------------------- */

struct raw_qmp {
	int fd;
	struct qmp_lines in;   /* what came after the last line returned */
};

/* The next line (without CRLF) into out. */
static int raw_qmp_line(struct raw_qmp *q, char *out, size_t cap)
{
	for (;;) {
		char *line, *space;
		size_t l, room;
		enum qmp_line_kind k = qmp_lines_next(&q->in, &line, &l);
		if (k == QMP_LINE) {
			size_t c = l >= cap ? cap - 1 : l;
			memcpy(out, line, c);
			out[c] = '\0';
			return 0;
		}
		if (k == QMP_LINE_DROPPED || !(space = qmp_lines_space(&q->in, &room)))
			return -1;     /* over QMP_MAX_LINE, or out of memory */
		/* Blocking, with the socket's timeout (raw_qmp_open). */
		ssize_t n = read(q->fd, space, room);
		if (n <= 0)
			return -1;
		qmp_lines_add(&q->in, (size_t)n);
	}
}

int raw_qmp_cmd(struct raw_qmp *q, const char *cmd, char *reply, size_t cap)
{
	size_t l = strlen(cmd);
	char line[1024];
	if (l + 1 >= sizeof line)
		return -1;
	memcpy(line, cmd, l);
	line[l++] = '\n';
	if (write(q->fd, line, l) != (ssize_t)l)
		return -1;
	for (;;) {       /* events in between are skipped */
		if (raw_qmp_line(q, reply, cap))
			return -1;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8))
			return 1;
	}
}

int raw_qmp_event(struct raw_qmp *q, const char *name, char *line,
		  size_t cap)
{
	/* QEMU writes the timestamp first: {"timestamp": {...}, "event":
	 * "STOP"}; a reply never holds this text. */
	char want[64];
	snprintf(want, sizeof want, "\"event\": \"%s\"", name);
	for (;;) {       /* replies and other events are skipped */
		if (raw_qmp_line(q, line, cap))
			return -1;
		if (strstr(line, want))
			return 0;
	}
}

struct raw_qmp *raw_qmp_open(int fd)
{
	char line[4096];
	struct timeval tv = { 5, 0 };
	struct raw_qmp *q = calloc(1, sizeof *q);
	if (!q)
		bench_fail("out of memory");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	q->fd = fd;
	if (raw_qmp_line(q, line, sizeof line) || !strstr(line, "\"QMP\""))
		bench_fail("no QMP greeting");
	if (raw_qmp_cmd(q, "{\"execute\":\"qmp_capabilities\"}", line,
			sizeof line))
		bench_fail("qmp_capabilities failed: %s", line);
	return q;
}

void raw_qmp_close(struct raw_qmp *q)
{
	close(q->fd);
	qmp_lines_free(&q->in);
	free(q);
}

void raw_qmp_must(struct raw_qmp *q, const char *cmd)
{
	char line[4096];
	if (raw_qmp_cmd(q, cmd, line, sizeof line))
		bench_fail("QMP %s: %s", cmd, line);
}
