/* qemu_run.c - the QEMU connector's per-run state (see qemu_run.h). */
#include "qemu_run.h"

#include "core/run.h"

struct qmp *qemu_run_qmp(struct run *r)
{
	struct qemu_run *q = r->priv;
	return q ? q->qmp : NULL;
}
