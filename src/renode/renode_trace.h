/* renode_trace.h - trace/ on Renode (core/trace.h): one event per bus
 * peripheral, switching `sysbus LogPeripheralAccess`; the accesses come
 * from Renode's log file into trace/log (renode_trace.c). */
#ifndef EMUFS_RENODE_TRACE_H
#define EMUFS_RENODE_TRACE_H

#include <stdbool.h>
#include <stddef.h>

struct robot;
struct run;
struct trace_event;

/* Whether a line of Renode's log file is one of LogPeripheralAccess's
 * (Read/WriteLoggingWrapper): pure, for tests/unit. */
bool renode_trace_line(const char *line, size_t len);

/* During launch, on the set-up connection rb: point Renode's log file
 * into the run's directory and follow it into trace/log. A failure is
 * one line in `log`; the run goes on without trace output. */
void renode_trace_attach(struct run *r, struct robot *rb);

int renode_trace_list(struct run *r, const char *pattern,
		      struct trace_event **evs, size_t *n);
int renode_trace_set(struct run *r, const char *glob, bool on);

#endif
