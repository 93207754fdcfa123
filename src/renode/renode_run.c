/* renode_run.c - one monitor line on a Renode run, over the robot port
 * (renode_run.h). */
#include "renode_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/run.h"

/* A copy without '\r': the monitor ends lines with \r\n or \n\r. */
char *renode_no_cr(const char *s)
{
	char *out = strdup(s ? s : ""), *o = out;
	if (!out)
		return NULL;
	for (const char *p = out; *p; p++)
		if (*p != '\r')
			*o++ = *p;
	*o = '\0';
	return out;
}

int renode_exec(struct run *r, const char *line, char **out,
		struct robot_result *res)
{
	struct renode_run *rr = r->priv;
	memset(res, 0, sizeof *res);
	if (!rr || !rr->rb) {
		res->status = ROBOT_NOREPLY;
		res->error = strdup("Renode is not running");
		return -ESRCH;
	}
	int rc = robot_execute(rr->rb, line, res);
	if (rc == 0 && out && !(*out = renode_no_cr(res->ret)))
		rc = -ENOMEM;
	return rc;
}

int renode_exec_logged(struct run *r, const char *what, const char *line,
		       char **out)
{
	struct robot_result res;
	int rc = renode_exec(r, line, out, &res);
	if (rc) {
		char why[300];
		run_log(r, "renode: %s (%s): %s", what, line,
			     robot_error_line(&res, why, sizeof why));
		rc = robot_errno_as(rc, ROBOT_ASK_QUERY);
	}
	robot_result_clear(&res);
	return rc;
}
