/* trace.h - trace/: the emulator's trace events, switched on and off, and
 * their output kept in a log of its own (docs/reference.md 3.10).
 *
 * The connector lists and switches the events (connector.h trace_list,
 * trace_set); the output comes to the instance's `trace/log` (capped like
 * every other log) through the run's FIFO (tracepipe.h,
 * run_attach_trace).
 */
#ifndef EMUFS_TRACE_H
#define EMUFS_TRACE_H

#include <stdbool.h>
#include <stddef.h>

struct instance;
struct run;

/* One trace event as the emulator reports it. */
struct trace_event {
	char *name;
	bool on;
};
void trace_events_free(struct trace_event *evs, size_t n);

/* ---- pure, for tests/unit ---------------------------------------- */

/* A line written to trace/enable: "GLOB" or "-GLOB", one trailing
 * newline allowed. The glob into glob (NUL-terminated), *on: whether it
 * enables. 0 or -EINVAL (empty, several lines, NUL or blanks, too long). */
int trace_parse_enable(const char *buf, size_t len, char *glob,
		       size_t globlen, bool *on);
/* "0" or "1", one trailing newline allowed: 0 or -EINVAL. */
int trace_parse_value(const char *buf, size_t len, bool *on);
/* A name that can be an event's: no glob characters, not empty. */
bool trace_name_ok(const char *name);
/* How many of evs the glob matches (fnmatch, as QEMU's own patterns). */
size_t trace_glob_count(const char *glob, const struct trace_event *evs,
			size_t n);

/* ---- the instance's trace/ (FUSE workers) -------------------------- */

/* The events of the running emulator: -ESRCH when not running. */
int trace_list(struct instance *inst, struct trace_event **evs, size_t *n);
/* Whether event name is on: 0, -ENOENT (no such event, or not
 * running: the directory is empty then). */
int trace_get(struct instance *inst, const char *name, bool *on);
/* Writes of trace/events/<name> and trace/enable: 0 or -errno, each
 * refusal with a line in `log`. */
int trace_write_event(struct instance *inst, const char *name,
		      const char *buf, size_t len);
int trace_write_enable(struct instance *inst, const char *buf, size_t len);

#endif
