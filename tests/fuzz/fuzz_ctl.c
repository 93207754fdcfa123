/* fuzz_ctl.c - libFuzzer target for the `ctl` command language (ctl.c).
 *
 * Feeds: the input as one line to ctl_parse_line(), and as the bytes of
 * one write(2) to ctl_run(), against stub instance_* functions that record
 * which command ran (ctl.c is linked alone; the stubs stand in for
 * instance.c).
 *
 * Beyond "no crash, no UB" it checks:
 *  - ctl_parse_line() returns 0 or -EINVAL; a refusal comes with a reason
 *    for the log: one line, no control bytes (the line's are escaped),
 *    NUL-terminated inside the caller's buffer (a small one, too);
 *  - it accepts exactly what an independent model accepts: under
 *    CTL_MAX_LINE bytes, no NUL, words split at blanks (space, tab, CR)
 *    equal to one of "start", "start paused", "stop", "kill", "reset",
 *    "pause", "resume";
 *  - an accepted line re-parses, from its canonical spelling, to the same
 *    command;
 *  - ctl_run() runs the lines (one trailing newline dropped) in order and
 *    stops at the first refused one: the stubs see exactly the commands the
 *    line-by-line model predicts, the refusal is logged once, and its
 *    return value is 0 or -EINVAL accordingly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctl.h"
#include "core/instance.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_ctl: invariant failed: %s "  \
				"(%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                           \
		}                                                          \
	} while (0)

#define MAX_RUN 4096

/* What the stub instance saw during one ctl_run(). */
static struct {
	struct ctl_command ran[MAX_RUN];
	size_t nran;
	size_t nlogged;
} seen;

static int record(enum ctl_op op, int paused)
{
	CHECK(seen.nran < MAX_RUN);
	seen.ran[seen.nran].op = op;
	seen.ran[seen.nran].paused = paused;
	seen.nran++;
	return 0;
}

int instance_start(struct instance *inst, bool paused)
{
	return record(CTL_START, paused);
}
int instance_stop(struct instance *inst) { return record(CTL_STOP, 0); }
int instance_kill(struct instance *inst) { return record(CTL_KILL, 0); }
int instance_reset(struct instance *inst) { return record(CTL_RESET, 0); }
int instance_pause(struct instance *inst) { return record(CTL_PAUSE, 0); }
int instance_resume(struct instance *inst) { return record(CTL_RESUME, 0); }
int instance_break(struct instance *inst, const char *name)
{
	return record(CTL_BREAK, 0);
}
int snapshot_load(struct instance *inst, const char *name)
{
	return record(CTL_LOAD, 0);
}

void instance_log(struct instance *inst, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	seen.nlogged++;
}

static const char *const canon[] = {
	[CTL_START] = "start", [CTL_STOP] = "stop", [CTL_KILL] = "kill",
	[CTL_RESET] = "reset", [CTL_PAUSE] = "pause", [CTL_RESUME] = "resume",
	[CTL_BREAK] = "break", [CTL_LOAD] = "load",
};

/* Commands whose one argument is a name (a channel, a snapshot). */
static bool named(enum ctl_op op)
{
	return op == CTL_LOAD || op == CTL_BREAK;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The model: 0 and *cmd when the line is a valid command, else -1. */
static int model(const char *line, size_t len, struct ctl_command *cmd)
{
	char words[3][CTL_MAX_LINE];
	size_t nw = 0, i = 0;

	if (len >= CTL_MAX_LINE || memchr(line, '\0', len))
		return -1;
	while (i < len) {
		size_t o = 0;

		while (i < len && blank(line[i]))
			i++;
		if (i == len)
			break;
		if (nw == 3)
			return -1;
		while (i < len && !blank(line[i]))
			words[nw][o++] = line[i++];
		words[nw++][o] = '\0';
	}
	if (nw == 0 || nw > 2)
		return -1;
	for (size_t op = 0; op < sizeof canon / sizeof *canon; op++) {
		if (strcmp(words[0], canon[op]))
			continue;
		if (op == CTL_LOAD || op == CTL_BREAK) {  /* one name */
			if (nw != 2)
				return -1;
			cmd->op = (enum ctl_op)op;
			cmd->paused = 0;
			return 0;
		}
		if (nw == 2 && (op != CTL_START || strcmp(words[1], "paused")))
			return -1;
		cmd->op = (enum ctl_op)op;
		cmd->paused = nw == 2;
		return 0;
	}
	return -1;
}

/* Parses with a heap reason buffer of exactly whylen bytes, so that ASan
 * sees any write past it. */
static int parse(const char *line, size_t len, struct ctl_command *cmd,
		 size_t whylen)
{
	char *why = malloc(whylen);
	int rc;

	CHECK(why);
	memset(why, 'X', whylen);
	rc = ctl_parse_line(line, len, cmd, why, whylen);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(memchr(why, '\0', whylen) && (whylen == 1 || why[0]));
		for (const char *c = why; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	free(why);
	return rc;
}

static void check_line(const char *line, size_t len)
{
	struct ctl_command cmd, want, again;
	char text[32 + CTL_MAX_LINE];
	int rc = parse(line, len, &cmd, 128);

	CHECK(parse(line, len, &again, 1 + len % 16) == rc);
	CHECK((rc == 0) == (model(line, len, &want) == 0));
	if (rc)
		return;
	CHECK(cmd.op == want.op && cmd.paused == want.paused);
	snprintf(text, sizeof text, "%s%s%s", canon[cmd.op],
		 cmd.paused ? " paused" : named(cmd.op) ? " " : "",
		 named(cmd.op) ? cmd.name : "");
	CHECK(parse(text, strlen(text), &again, 128) == 0);
	CHECK(again.op == cmd.op && again.paused == cmd.paused);
	CHECK(!named(cmd.op) || !strcmp(again.name, cmd.name));
}

static void check_run(const char *buf, size_t len)
{
	struct ctl_command want[MAX_RUN];
	size_t nwant = 0, n = len;
	const char *p = buf, *end;
	int want_rc = 0, rc;

	if (n && buf[n - 1] == '\n')
		n--;
	end = buf + n;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		CHECK(nwant < MAX_RUN);
		if (model(p, (size_t)(eol - p), &want[nwant])) {
			want_rc = -EINVAL;
			break;
		}
		nwant++;
		if (!nl)
			break;
		p = nl + 1;
	}

	memset(&seen, 0, sizeof seen);
	rc = ctl_run(NULL, buf, len);
	CHECK(rc == want_rc);
	CHECK(seen.nlogged == (rc ? 1u : 0u));
	CHECK(seen.nran == nwant);
	for (size_t i = 0; i < nwant; i++)
		CHECK(seen.ran[i].op == want[i].op &&
		      seen.ran[i].paused == want[i].paused);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: reads past the line are ASan's. */
	char *buf = malloc(size ? size : 1);

	CHECK(buf);
	memcpy(buf, data, size);
	check_line(buf, size);
	check_run(buf, size);
	free(buf);
	return 0;
}
