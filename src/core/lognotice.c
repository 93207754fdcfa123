/* lognotice.c - the notices of a full disk (see lognotice.h). */
#include "lognotice.h"

#include <stdio.h>
#include <string.h>

#include "event.h"
#include "logfile.h"

/* One EMUFS_LOG_* event for file: data is the JSON members that follow
 * "file". strerror() texts have no quotes: they need no escaping. */
static void notice_event(const struct lognotice *n, const char *event,
			 const char *file, const char *data)
{
	char members[400];
	snprintf(members, sizeof members, "\"file\": \"%s\", %s", file, data);
	event_write(n->events, n->instance, event, members, true);
}

static void on_trouble(struct logfile *lf, const struct logfile_trouble *t,
		       void *opaque)
{
	const struct lognotice *n = opaque;
	const char *why = strerror(t->err);
	char data[256];

	if (t->failing) {
		if (t->lines)
			logfile_notice_printf(n->log, "emufs: %s: cannot "
				"write to the state directory (%s): new lines "
				"are kept in memory (up to %d KiB) until there "
				"is room", lf->name, why,
				LOGFILE_HOLD_MAX / 1024);
		else
			logfile_notice_printf(n->log, "emufs: %s: cannot "
				"write to the state directory (%s): the guest "
				"runs on; its output from offset %lld on is "
				"lost until there is room", lf->name, why,
				(long long)t->from);
		snprintf(data, sizeof data, "\"error\": \"%s\", \"from\": "
			 "%lld", why, (long long)t->from);
		notice_event(n, "EMUFS_LOG_ERROR", lf->name, data);
		return;
	}
	if (t->lines && !t->dropped) {
		logfile_notice_printf(n->log, "emufs: %s: writing again; "
			"nothing was lost", lf->name);
		snprintf(data, sizeof data, "\"dropped\": 0");
	} else if (t->lines) {
		logfile_notice_printf(n->log, "emufs: %s: writing again; "
			"%llu bytes of lines did not fit in memory and were "
			"lost (%s)", lf->name, t->dropped, why);
		snprintf(data, sizeof data, "\"dropped\": %llu", t->dropped);
	} else {
		logfile_notice_printf(n->log, "emufs: %s: writing again; "
			"bytes %lld-%lld (%lld bytes) were lost (%s) and read "
			"as NUL bytes", lf->name, (long long)t->from,
			(long long)t->to, (long long)(t->to - t->from), why);
		snprintf(data, sizeof data, "\"lost_from\": %lld, "
			 "\"lost_to\": %lld", (long long)t->from,
			 (long long)t->to);
	}
	notice_event(n, "EMUFS_LOG_RESUMED", lf->name, data);
}

void lognotice_watch(const struct lognotice *n, struct logfile *lf,
		     const char *name)
{
	logfile_set_trouble_hook(lf, name, on_trouble, (void *)n);
}
