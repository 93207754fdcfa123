/* robot.h - a client of Renode's robot port: XML-RPC over HTTP.
 *
 * Renode's Robot Framework remote server answers `run_keyword(name, args)`
 * with a struct: {"status": "PASS", "return": V} or {"status": "FAIL",
 * "error": "ExcType: msg", "traceback": ...}; an unknown keyword or
 * arguments it cannot match are XML-RPC faults (codes 1 and 2). The
 * documents are xmlrpc-c's, the HTTP and its deadline libcurl's; this
 * module turns every outcome into a struct robot_result and maps it to an
 * errno in one table (robot_errno).
 *
 * Thread safety: any number of threads may call into one struct robot at
 * the same time; each call takes an idle curl handle from a small pool,
 * so no lock is held across a call.
 */
#ifndef EMUFS_ROBOT_H
#define EMUFS_ROBOT_H

#include <stddef.h>

struct robot;

enum robot_status {
	ROBOT_PASS,        /* the keyword ran */
	ROBOT_FAIL,        /* the keyword ran and failed ("error") */
	ROBOT_FAULT,       /* an XML-RPC fault: no such keyword, bad args */
	ROBOT_NOREPLY,     /* no usable answer: refused, reset, bad HTTP/XML */
	ROBOT_TIMEOUT,     /* no answer within the deadline */
};

struct robot_result {
	enum robot_status status;
	char *ret;         /* PASS: "return" as text ("" when absent) */
	char *error;       /* otherwise: what went wrong, one or more lines */
	int fault_code;    /* ROBOT_FAULT: the server's code */
};

/* A client of http://HOST:PORT/ whose every call has the deadline
 * timeout_ms. NULL on allocation failure. */
struct robot *robot_new(const char *host, int port, int timeout_ms);
void robot_free(struct robot *rb);

/* run_keyword(keyword, [args...]) with string arguments. Fills res (free
 * with robot_result_clear) and returns robot_errno(res). */
int robot_run_keyword(struct robot *rb, const char *keyword,
		      const char *const *args, size_t nargs,
		      struct robot_result *res);

/* The monitor: ExecuteCommand(line). */
int robot_execute(struct robot *rb, const char *line,
		  struct robot_result *res);

/* stop_remote_server: Renode shuts its server down and exits. A missing
 * answer is not an error (the server may be gone before it replies). */
int robot_stop_server(struct robot *rb);

/* What a request was, for what a failed keyword means (robot_errno_as). */
enum robot_ask {
	ROBOT_ASK_COMMAND,   /* a command or value of the user's: refused */
	ROBOT_ASK_QUERY,     /* emufs's own query of what exists: broken */
	ROBOT_ASK_NAME,      /* whether a name exists: it does not */
	ROBOT_ASK_COUNT
};

/* The one mapping from an outcome to -errno: PASS 0, FAIL -EINVAL (the
 * emulator refused the command or value), FAULT and NOREPLY -EIO,
 * TIMEOUT -ETIMEDOUT. */
int robot_errno(const struct robot_result *res);
/* The same outcome (robot_errno()'s rc) for a request of kind ask: FAIL
 * is -EIO for a QUERY, -ENOENT for a NAME. Any other rc is returned as
 * it is. */
int robot_errno_as(int rc, enum robot_ask ask);

/* The first line of res->error without the exception type
 * ("KeywordException: "), for one-line log messages; into buf. */
const char *robot_error_line(const struct robot_result *res, char *buf,
			     size_t len);

void robot_result_clear(struct robot_result *res);

#endif
