/* qemu_trace.c - QEMU's trace points (see qemu_trace.h).
 *
 * QEMU's log backend prints an enabled trace event to its -D log only
 * while the log has LOG_TRACE: `-d trace:PATTERN` sets it. emufs passes
 * a pattern that matches no event (a glob: QEMU warns about a plain name
 * it does not know, never about a glob), so a run starts with every
 * event off and trace-event-set-state alone turns them on.
 */
#include "qemu_trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/run.h"
#include "core/trace.h"
#include "qmp.h"
#include "qemu_run.h"

int qemu_trace_path(struct run *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/trace.fifo", run_dir(r));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int qemu_trace_list(struct run *r, const char *pattern,
		    struct trace_event **evs, size_t *n)
{
	struct qmp *q = qemu_run_qmp(r);
	json_t *ret = NULL;
	*evs = NULL;
	*n = 0;
	if (!q)
		return -ESRCH;
	json_t *args = json_pack("{s:s}", "name", pattern);
	struct qmp_error err = { 0 };
	int rc = args ? qmp_execute(q, "trace-event-get-state", args,
				    r->timeout_ms, &ret, &err) : -ENOMEM;
	json_decref(args);
	/* A name QEMU does not know is an error ("unknown event"), a glob
	 * that matches nothing an empty list: both are no events. */
	if (rc && !strcmp(err.cls, "GenericError"))
		return 0;
	if (rc)
		return rc;
	size_t cnt = json_is_array(ret) ? json_array_size(ret) : 0;
	struct trace_event *v = calloc(cnt ? cnt : 1, sizeof *v);
	size_t got = 0;
	for (size_t i = 0; v && i < cnt; i++) {
		json_t *e = json_array_get(ret, i);
		const char *name = json_string_value(json_object_get(e,
								     "name"));
		const char *st = json_string_value(json_object_get(e,
								   "state"));
		if (!name || !st || !strcmp(st, "unavailable"))
			continue;     /* compiled out: cannot be switched */
		if (!(v[got].name = strdup(name))) {
			trace_events_free(v, got);
			v = NULL;
			break;
		}
		v[got++].on = !strcmp(st, "enabled");
	}
	json_decref(ret);
	if (!v)
		return -ENOMEM;
	*evs = v;
	*n = got;
	return 0;
}

int qemu_trace_set(struct run *r, const char *glob, bool on)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return -ESRCH;
	if (r->target->launcher) {
		/* No -D (qemu_argv.c): the output would land in `log`. */
		run_log(r, "trace/: not supported for an emulator started "
			"through a launcher yet (QEMU writes trace output to a "
			"FIFO in emufs's state directory)");
		return -ENOTSUP;
	}
	/* Events compiled out ("unavailable", never listed) must not make
	 * a glob that also matches them fail. */
	json_t *args = json_pack("{s:s,s:b,s:b}", "name", glob, "enable", on,
				 "ignore-unavailable", 1);
	int rc = args ? qmp_execute(q, "trace-event-set-state", args,
				    r->timeout_ms, NULL, NULL) : -ENOMEM;
	json_decref(args);
	return rc;
}
