/* trace.c - trace/ of an instance (docs/reference.md 3.10):
 *
 *   trace/events/<name>   0 or 1: one per trace event of the emulator
 *   trace/enable          write a glob to turn events on, -GLOB off
 *   trace/log             the trace output of the current run
 *
 * What the events are and do is the core's (core/trace.h); the log is a
 * growing log like `log` (logs.c serves it).
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/trace.h"
#include "fs.h"
#include "handlers.h"
#include "mount.h"
#include "resolve.h"

int trace_lookup(struct emufs_fs *fs, const struct node *dir,
		 const char *name, struct node *out)
{
	if (!strcmp(name, "events"))
		return node_named_child(dir, N_TRACE_EVENTS, name, out);
	if (!strcmp(name, "enable"))
		return node_named_child(dir, N_TRACE_ENABLE, name, out);
	if (!strcmp(name, "log"))
		return node_named_child(dir, N_TRACE_LOG, name, out);
	return -ENOENT;
}

int trace_readdir(struct emufs_fs *fs, const struct node *dir,
		  struct dirlist *out)
{
	int rc = dirlist_add(out, "events");
	if (rc == 0)
		rc = dirlist_add(out, "enable");
	return rc ? rc : dirlist_add(out, "log");
}

/* While the instance is not running the emulator has no events: the
 * directory is empty. */
int trace_events_readdir(struct emufs_fs *fs, const struct node *dir,
			 struct dirlist *out)
{
	struct trace_event *evs;
	size_t n;
	int rc = trace_list(dir->inst, &evs, &n);
	if (rc)
		return rc == -ESRCH || rc == -ENOTSUP ? 0 : rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = dirlist_add(out, evs[i].name);
	trace_events_free(evs, n);
	return rc;
}

int trace_events_lookup(struct emufs_fs *fs, const struct node *dir,
			const char *name, struct node *out)
{
	return node_named_child(dir, N_TRACE_EVENT, name, out);
}

int trace_event_refresh(struct node *n)
{
	bool on;
	return trace_get(n->inst, n->name, &on);
}

int trace_event_text(struct fh *fh, char *text, size_t len)
{
	bool on;
	int rc = trace_get(fh->node.inst, fh->node.name, &on);
	if (rc == 0)
		snprintf(text, len, "%d\n", on);
	return rc;
}

ssize_t trace_event_write(struct fh *fh, const char *buf, size_t size)
{
	int rc = trace_write_event(fh->node.inst, fh->node.name, buf, size);
	return rc ? rc : (ssize_t)size;
}

ssize_t trace_enable_write(struct fh *fh, const char *buf, size_t size)
{
	int rc = trace_write_enable(fh->node.inst, buf, size);
	return rc ? rc : (ssize_t)size;
}

int trace_event_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	st->st_size = 2;                  /* "0\n" or "1\n" */
	return 0;
}
