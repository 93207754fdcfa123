/* trace.c - trace/ (see trace.h): what its files show and what a write
 * to them means. */
#include "trace.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "instance.h"
#include "run.h"

/* The longest glob or event name taken (QEMU's longest event name is
 * ~50 bytes; Renode's peripheral paths are longer). */
#define TRACE_NAME_MAX 256
void trace_events_free(struct trace_event *evs, size_t n)
{
	for (size_t i = 0; evs && i < n; i++)
		free(evs[i].name);
	free(evs);
}

/* ---- pure ---------------------------------------------------------- */

/* buf without one trailing newline, if it is one line of printable,
 * non-blank bytes: its length, else 0. */
static size_t one_word(const char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			return 0;
	return len;
}

int trace_parse_enable(const char *buf, size_t len, char *glob,
		       size_t globlen, bool *on)
{
	len = one_word(buf, len);
	*on = !(len && buf[0] == '-');
	if (!*on) {
		buf++;
		len--;
	}
	if (len == 0 || len >= globlen || len >= TRACE_NAME_MAX)
		return -EINVAL;
	memcpy(glob, buf, len);
	glob[len] = '\0';
	return 0;
}

int trace_parse_value(const char *buf, size_t len, bool *on)
{
	len = one_word(buf, len);
	if (len != 1 || (buf[0] != '0' && buf[0] != '1'))
		return -EINVAL;
	*on = buf[0] == '1';
	return 0;
}

bool trace_name_ok(const char *name)
{
	return name[0] && strlen(name) < TRACE_NAME_MAX &&
	       !strpbrk(name, "*?[]\\");
}

size_t trace_glob_count(const char *glob, const struct trace_event *evs,
			size_t n)
{
	size_t hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += fnmatch(glob, evs[i].name, 0) == 0;
	return hits;
}

/* ---- the instance's trace/ ----------------------------------------- */

/* The events matching pattern ("*": all) of inst's run *rp (a reference
 * the caller puts), or -ESRCH, -ENOTSUP. */
static int list_run(struct instance *inst, struct run **rp,
		    const char *pattern, struct trace_event **evs, size_t *n)
{
	*evs = NULL;
	*n = 0;
	struct run *r = *rp = instance_get_run(inst);
	if (!r)
		return -ESRCH;
	if (!r->conn->trace_list)
		return -ENOTSUP;
	return r->conn->trace_list(r, pattern, evs, n);
}

int trace_list(struct instance *inst, struct trace_event **evs, size_t *n)
{
	struct run *r;
	int rc = list_run(inst, &r, "*", evs, n);
	run_put(r);
	return rc;
}

int trace_get(struct instance *inst, const char *name, bool *on)
{
	struct trace_event *evs;
	size_t n;
	struct run *r;
	if (!trace_name_ok(name))
		return -ENOENT;
	int rc = list_run(inst, &r, name, &evs, &n);
	run_put(r);
	if (rc == -ESRCH || rc == -ENOTSUP)
		return -ENOENT;          /* trace/events/ is empty then */
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!strcmp(evs[i].name, name)) {
			*on = evs[i].on;
			trace_events_free(evs, n);
			return 0;
		}
	trace_events_free(evs, n);
	return rc ? rc : -ENOENT;
}

/* Switch the events matching glob in inst's run, after checking that
 * some do: QEMU takes a glob that matches nothing without a word. what:
 * the file, for the log lines. */
static int set_matching(struct instance *inst, const char *what,
			const char *glob, bool on, bool exact)
{
	struct trace_event *evs;
	size_t n;
	struct run *r;
	int rc = list_run(inst, &r, exact ? glob : "*", &evs, &n);
	if (rc == -ESRCH || rc == -ENOTSUP) {
		instance_log(inst, "%s: refused: %s", what, rc == -ESRCH
			     ? "the instance is not running"
			     : "the emulator has no trace events");
		run_put(r);
		return rc == -ESRCH ? -ESRCH : -EINVAL;
	}
	size_t hits = rc ? 0 : trace_glob_count(glob, evs, n);
	trace_events_free(evs, n);
	if (rc == 0 && hits == 0) {
		rc = exact ? -ENOENT : -EINVAL;
		instance_log(inst, "%s: %s \"%s\"", what, exact
			     ? "no such trace event" : "no trace event matches",
			     glob);
	} else if (rc == 0) {
		rc = r->conn->trace_set(r, glob, on);
		if (rc)
			instance_log(inst, "%s: %s%s: %s", what, on ? "" : "-",
				     glob, strerror(-rc));
	} else {
		instance_log(inst, "%s: %s", what, strerror(-rc));
	}
	run_put(r);
	return rc;
}

int trace_write_event(struct instance *inst, const char *name,
		      const char *buf, size_t len)
{
	bool on;
	char what[TRACE_NAME_MAX + 16];
	snprintf(what, sizeof what, "trace/events/%s", name);
	if (!instance_has_run(inst)) {
		instance_log(inst, "%s: refused: the instance is not running",
			     what);
		return -ESRCH;
	}
	if (trace_parse_value(buf, len, &on)) {
		instance_log(inst, "%s: expected 0 or 1", what);
		return -EINVAL;
	}
	if (!trace_name_ok(name))
		return -ENOENT;
	return set_matching(inst, what, name, on, true);
}

int trace_write_enable(struct instance *inst, const char *buf, size_t len)
{
	char glob[TRACE_NAME_MAX];
	bool on;
	if (!instance_has_run(inst)) {
		instance_log(inst, "trace/enable: refused: the instance is "
			     "not running");
		return -ESRCH;
	}
	if (trace_parse_enable(buf, len, glob, sizeof glob, &on)) {
		instance_log(inst, "trace/enable: expected one glob, or -GLOB "
			     "to disable");
		return -EINVAL;
	}
	return set_matching(inst, "trace/enable", glob, on, false);
}
