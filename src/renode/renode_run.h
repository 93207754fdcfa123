/* renode_run.h - the Renode connector's part of a run (run->priv), and
 * one monitor line on it over the robot port (renode_run.c). What every
 * file of the connector shares. */
#ifndef EMUFS_RENODE_RUN_H
#define EMUFS_RENODE_RUN_H

#include <stdatomic.h>

#include "robot.h"

struct run;
struct renode_cache;

struct renode_run {
	struct robot *rb;          /* set by launch; read-only after */
	int port;                  /* the robot port */
	char *tmpdir;              /* Renode's private TMPDIR */
	int gdb_port;              /* 0: no gdb server */
	atomic_int *in_level;      /* by target pin index: last level
				    * driven on an `in` pin of a port */
	struct renode_cache *cache;
};

/* One monitor line through ExecuteCommand. On 0, *out (if given) is the
 * output with CRs removed; otherwise res tells why (robot.h). */
int renode_exec(struct run *r, const char *line, char **out,
		struct robot_result *res);
/* The same for lifecycle and pin commands: a failure is one line in log
 * ("renode: WHAT (LINE): reason"), and a refusal (FAIL) is -EIO: the
 * emulator failed the operation. */
int renode_exec_logged(struct run *r, const char *what, const char *line,
		       char **out);

/* A copy without '\r' (the monitor ends lines with \r\n or \n\r);
 * malloc'd, NULL when out of memory. */
char *renode_no_cr(const char *s);

#endif
