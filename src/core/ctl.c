/* ctl.c - parsing and running `ctl` commands (see ctl.h). */
#include "ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "instance.h"
#include "lifecycle.h"
#include "snapshot.h"

static const struct ctl_def {
	const char *name;
	enum ctl_op op;
	const char *const *args;   /* allowed argument words, or NULL */
	const char *names;         /* takes exactly one word, a name of
				    * this (for messages); NULL: none */
} ctl_table[] = {
	{ "start", CTL_START, (const char *const[]){ "paused", NULL }, NULL },
	{ "stop", CTL_STOP, NULL, NULL },
	{ "kill", CTL_KILL, NULL, NULL },
	{ "reset", CTL_RESET, NULL, NULL },
	{ "pause", CTL_PAUSE, NULL, NULL },
	{ "resume", CTL_RESUME, NULL, NULL },
	{ "break", CTL_BREAK, NULL, "channel" },
	{ "load", CTL_LOAD, NULL, "snapshot" },
};

/* word with control bytes as \\xNN, at most 32 bytes of it. */
static const char *printable(const char *w, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; w[i] && i < 32 && o + 5 < len; i++) {
		unsigned char c = w[i];
		if (c < 0x20 || c == 0x7f)
			o += snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split line into words (copies into store). Returns the count or -1. */
static int tokenize(const char *line, size_t len, char *store,
		    char **argv, int max)
{
	int argc = 0;
	size_t i = 0, o = 0;
	while (i < len) {
		while (i < len && is_space(line[i]))
			i++;
		if (i == len)
			break;
		if (argc == max)
			return -1;
		argv[argc++] = store + o;
		while (i < len && !is_space(line[i]))
			store[o++] = line[i++];
		store[o++] = '\0';
	}
	return argc;
}

int ctl_parse_line(const char *line, size_t len, struct ctl_command *cmd,
		   char *why, size_t whylen)
{
	char store[CTL_MAX_LINE * 2];
	char *argv[CTL_MAX_ARGS];

	if (len >= CTL_MAX_LINE) {
		snprintf(why, whylen, "command too long (%zu bytes)", len);
		return -EINVAL;
	}
	if (memchr(line, '\0', len)) {
		snprintf(why, whylen, "NUL byte in command");
		return -EINVAL;
	}
	int argc = tokenize(line, len, store, argv, CTL_MAX_ARGS);
	if (argc == 0) {
		snprintf(why, whylen, "empty command");
		return -EINVAL;
	}
	if (argc < 0) {
		snprintf(why, whylen, "too many arguments");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof ctl_table / sizeof *ctl_table; i++) {
		const struct ctl_def *d = &ctl_table[i];
		if (strcmp(argv[0], d->name))
			continue;
		memset(cmd, 0, sizeof *cmd);
		cmd->op = d->op;
		if (d->names) {
			if (argc != 2) {
				snprintf(why, whylen, "%s: expected one "
					 "%s name", d->name, d->names);
				return -EINVAL;
			}
			/* The name's own checks are its command's. */
			snprintf(cmd->name, sizeof cmd->name, "%s", argv[1]);
			return 0;
		}
		if (argc > 2 || (argc == 2 && !d->args)) {
			snprintf(why, whylen, "%s: wrong number of arguments",
				 d->name);
			return -EINVAL;
		}
		if (argc == 2) {
			char pb[160];
			int ok = 0;
			for (const char *const *a = d->args; *a; a++)
				ok |= !strcmp(argv[1], *a);
			if (!ok) {
				snprintf(why, whylen,
					 "%s: unknown argument \"%.32s\"",
					 d->name, printable(argv[1], pb, sizeof pb));
				return -EINVAL;
			}
			cmd->paused = 1;
		}
		return 0;
	}
	char pb[160];
	snprintf(why, whylen, "unknown command \"%s\"", printable(argv[0], pb, sizeof pb));
	return -EINVAL;
}

static int run_one(struct instance *inst, const struct ctl_command *c)
{
	switch (c->op) {
	case CTL_START:  return instance_start(inst, c->paused);
	case CTL_STOP:   return instance_stop(inst);
	case CTL_KILL:   return instance_kill(inst);
	case CTL_RESET:  return instance_reset(inst);
	case CTL_PAUSE:  return instance_pause(inst);
	case CTL_RESUME: return instance_resume(inst);
	case CTL_BREAK:  return instance_break(inst, c->name);
	case CTL_LOAD:   return snapshot_load(inst, c->name);
	}
	return -EINVAL;
}

int ctl_run(struct instance *inst, const char *buf, size_t len)
{
	/* One trailing newline ends the last command; it is not a line. */
	if (len && buf[len - 1] == '\n')
		len--;
	const char *p = buf, *end = buf + len;
	for (;;) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;
		struct ctl_command cmd;
		char why[128];
		int rc = ctl_parse_line(p, eol - p, &cmd, why, sizeof why);
		if (rc) {
			instance_log(inst, "ctl refused: %s", why);
			return rc;
		}
		if ((rc = run_one(inst, &cmd)))
			return rc;
		if (!nl)
			return 0;
		p = nl + 1;
	}
}
