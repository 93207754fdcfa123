/* ctl.h - the `ctl` file's command language (docs/reference.md 3.1).
 *
 * A write holds one command per line; they run in order and the first
 * error stops the rest. Parsing is split from running so that the parser
 * can be tested and fuzzed on its own.
 */
#ifndef EMUFS_CTL_H
#define EMUFS_CTL_H

#include <stddef.h>

struct instance;

#define CTL_MAX_ARGS 8
#define CTL_MAX_LINE 256

enum ctl_op { CTL_START, CTL_STOP, CTL_KILL, CTL_RESET, CTL_PAUSE,
	      CTL_RESUME, CTL_BREAK, CTL_LOAD };

struct ctl_command {
	enum ctl_op op;
	int paused;            /* start paused */
	char name[CTL_MAX_LINE];   /* break: the channel; load: the snapshot */
};

/* Parse one line (no newline). 0, or -EINVAL with the reason in why. */
int ctl_parse_line(const char *line, size_t len, struct ctl_command *cmd,
		   char *why, size_t whylen);

/* Run every line of buf on inst; 0 or the first -errno. Refusals are
 * logged in the instance's `log`. */
int ctl_run(struct instance *inst, const char *buf, size_t len);

#endif
