/* event.c - emufs's own event lines (see event.h). */
#include "event.h"

#include <stdio.h>
#include <sys/time.h>

#include "logfile.h"

void event_write(struct logfile *events, const char *instance,
		 const char *event, const char *data, bool notice)
{
	struct timeval tv;
	char line[512];
	gettimeofday(&tv, NULL);
	int n = snprintf(line, sizeof line,
			 "{\"timestamp\": {\"seconds\": %lld, \"microseconds\""
			 ": %ld}, \"event\": \"%s\", \"data\": {\"instance\": "
			 "\"%s\", %s}}\n", (long long)tv.tv_sec,
			 (long)tv.tv_usec, event, instance, data);
	if (n <= 0 || (size_t)n >= sizeof line)
		return;
	if (notice)
		logfile_notice(events, line, n);
	else
		logfile_append(events, line, n);
}
