/* renode_trace.c - trace/ on Renode (see renode_trace.h).
 *
 * What Renode does (renode-infrastructure, src/Emulator/Main/):
 * - `sysbus LogPeripheralAccess <peripheral> true|false`
 *   (Peripherals/Bus/SystemBus.cs) wraps the peripheral's bus access
 *   methods in Read/WriteLoggingWrapper (Peripherals/Bus/Wrappers/), or
 *   unwraps them; `sysbus IsLoggingPeripheralAccessEnabled <peripheral>`
 *   says whether they are. Only a peripheral registered on the bus has
 *   access methods: `peripherals` shows it with its address range, and
 *   those are the events, named as Renode's log names them (the path
 *   without "sysbus.", LogEntry.ObjectName): trace/events/usart2.
 * - Every access is then one Info entry of Renode's log, which the file
 *   backend (Logging/Backends/FileBackend.cs, TextBackend.cs) writes as
 *   "[15:02:11.0921] [INFO] usart2: [cpu: 0x8000124] WriteUInt32 to 0x4
 *   (Data), value 0x65": the host timestamp, the level, the object, the
 *   CPU and PC when a CPU made the access (SystemBus.
 *   DecorateWithCPUNameAndPC), the access width as a .NET type name, the
 *   offset, the register from the peripheral's Register(s) enum
 *   (RegisterMapper.cs; "unknown" without one), the value.
 * - The log is one stream: the access lines share it with everything
 *   else Renode logs. `logFile @PATH true` (UserInterface/Commands/
 *   LoggerFileCommand.cs) sends it to a file, flushed after every line;
 *   the path is a SequencedFilePath (Utilities/FilePath.cs), which moves
 *   anything already there aside and creates a new file, so it cannot be
 *   a FIFO of emufs's: emufs follows the file (core/tracepipe.h) and keeps
 *   the access lines, unchanged; the rest stays out of trace/log and
 *   `log`.
 * - The wrappers are the bus's: `machine Reset` (SystemBus.Reset) leaves
 *   them, a new Renode starts without.
 */
#include "renode_trace.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/run.h"
#include "core/trace.h"
#include "renode_parse.h"
#include "renode_props.h"
#include "renode_run.h"

/* One access line of Renode's log file, as the comment above shows it;
 * any timestamp type (none, host, virtual, both) and level, a machine
 * prefix ("machine-0/usart2: ", with several machines), the CPU
 * decoration or none, and the repeat count Renode appends to an entry
 * logged several times in a row (" (3)"). */
#define ACCESS_RE							\
	"^(\\[[^]]*\\] )?\\[[A-Z]+\\] [^ :]+: (\\[[^]]*\\] )?("		\
	"Read(Byte|UInt16|UInt32|UInt64) from 0x[0-9A-F]+ \\(.*\\), "	\
	"returned 0x[0-9A-F]+|"						\
	"Write(Byte|UInt16|UInt32|UInt64) to 0x[0-9A-F]+ \\(.*\\), "	\
	"value 0x[0-9A-F]+)( \\([0-9]+\\))?$"

static regex_t access_re;
static int access_re_rc = -1;
static pthread_once_t access_re_once = PTHREAD_ONCE_INIT;

static void compile_access_re(void)
{
	access_re_rc = regcomp(&access_re, ACCESS_RE, REG_EXTENDED | REG_NOSUB);
}

/* Longer lines are not Renode's access lines (they are ~100 bytes). */
#define ACCESS_LINE_MAX 1024

bool renode_trace_line(const char *line, size_t len)
{
	char buf[ACCESS_LINE_MAX + 1];
	pthread_once(&access_re_once, compile_access_re);
	if (access_re_rc != 0 || len > ACCESS_LINE_MAX ||
	    memchr(line, '\0', len))
		return false;
	/* The line is not NUL-terminated; a copy is, for regexec (whose
	 * REG_STARTEND sanitizers do not honour: they read to a NUL). */
	memcpy(buf, line, len);
	buf[len] = '\0';
	return regexec(&access_re, buf, 0, NULL, 0) == 0;
}

/* ---- the log file -------------------------------------------------- */

void renode_trace_attach(struct run *r, struct robot *rb)
{
	char path[4096];
	char *tok = NULL, *line = NULL;
	struct robot_result res = { 0 };
	int rc = -ENAMETOOLONG;
	const char *why = NULL;
	char e[300];
	int n = snprintf(path, sizeof path, "%s/renode.log", run_dir(r));
	if (n < 0 || (size_t)n >= sizeof path)
		goto out;
	/* A file of an earlier run would be moved to renode.log.1, .2, ... */
	unlink(path);
	rc = -ENOMEM;
	if (!(tok = renode_path_token(path))) {
		rc = -EINVAL;
		why = "a path Renode's monitor cannot express";
		goto out;
	}
	if (asprintf(&line, "logFile %s true", tok) < 0) {
		line = NULL;
		goto out;
	}
	if ((rc = robot_execute(rb, line, &res))) {
		why = robot_error_line(&res, e, sizeof e);
		goto out;
	}
	/* Followed through the open file: the name can go, so that
	 * nothing is left on disk once both ends are closed. */
	if ((rc = run_follow_trace(r, path, renode_trace_line)) == 0)
		unlink(path);
out:
	if (rc)
		run_log(r, "renode: no trace/log: %s: %s", path,
			why ? why : strerror(-rc));
	robot_result_clear(&res);
	free(line);
	free(tok);
}

/* ---- events -------------------------------------------------------- */

/* The event of peripheral p, if it has one: its name in Renode's log. */
static const char *event_name(const struct renode_periph *p)
{
	static const char bus[] = "sysbus.";
	if (!p->mapped || strncmp(p->path, bus, sizeof bus - 1))
		return NULL;
	return p->path + sizeof bus - 1;
}

int renode_trace_list(struct run *r, const char *pattern,
		      struct trace_event **evs, size_t *n)
{
	struct renode_periph *t;
	size_t nt, got = 0;
	*evs = NULL;
	*n = 0;
	int rc = renode_peripherals(r, &t, &nt);
	if (rc)
		return rc;
	struct trace_event *v = calloc(nt ? nt : 1, sizeof *v);
	if (!v)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < nt; i++) {
		const char *name = event_name(&t[i]);
		if (!name || fnmatch(pattern, name, 0))
			continue;
		char line[512], *out = NULL;
		snprintf(line, sizeof line,
			 "sysbus IsLoggingPeripheralAccessEnabled %s", t[i].path);
		if ((rc = renode_exec_logged(r, "trace", line, &out)))
			break;
		v[got].on = renode_parse_bool(out) == 1;
		free(out);
		if (!(v[got].name = strdup(name)))
			rc = -ENOMEM;
		else
			got++;
	}
	renode_periphs_free(t, nt);
	if (rc) {
		trace_events_free(v, got);
		return rc;
	}
	*evs = v;
	*n = got;
	return 0;
}

int renode_trace_set(struct run *r, const char *glob, bool on)
{
	struct renode_periph *t;
	size_t nt;
	int rc = renode_peripherals(r, &t, &nt);
	if (rc)
		return rc;
	for (size_t i = 0; rc == 0 && i < nt; i++) {
		const char *name = event_name(&t[i]);
		if (!name || fnmatch(glob, name, 0))
			continue;
		char line[512];
		snprintf(line, sizeof line, "sysbus LogPeripheralAccess %s %s",
			 t[i].path, on ? "true" : "false");
		rc = renode_exec_logged(r, "trace", line, NULL);
	}
	renode_periphs_free(t, nt);
	return rc;
}
