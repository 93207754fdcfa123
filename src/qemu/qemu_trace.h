/* qemu_trace.h - QEMU's trace points for trace/ (core/trace.h): listed
 * and switched over QMP, their output through -D into a FIFO. */
#ifndef EMUFS_QEMU_TRACE_H
#define EMUFS_QEMU_TRACE_H

#include <stdbool.h>
#include <stddef.h>

struct run;
struct trace_event;

/* <instance dir>/trace.fifo into buf: 0 or -ENAMETOOLONG. */
int qemu_trace_path(struct run *r, char *buf, size_t len);
int qemu_trace_list(struct run *r, const char *pattern,
		    struct trace_event **evs, size_t *n);
int qemu_trace_set(struct run *r, const char *glob, bool on);

#endif
