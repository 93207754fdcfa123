/* raw.c - qmp (QEMU) and monitor (Renode): a conversation on one open
 * file. A write sends one command and keeps its reply; reads take the
 * replies so far, in order, whatever the offset (the file is opened
 * nonseekable). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "fs.h"
#include "handlers.h"
#include "instance.h"

ssize_t raw_read(struct fh *fh, char *buf, size_t size, off_t off)
{
	size_t have = fh->text ? strlen(fh->text) - fh->text_off : 0;
	if (size > have)
		size = have;
	if (size)
		memcpy(buf, fh->text + fh->text_off, size);
	fh->text_off += size;
	return size;
}

ssize_t raw_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct run *r = instance_get_run(n->inst);
	if (!r) {
		instance_log(n->inst, "write to %s refused: the instance is %s",
			     n->name, inst_state_name(instance_state(n->inst)));
		return -ESRCH;
	}
	char *reply = NULL;
	int rc = r->conn->raw ? r->conn->raw(r, buf, size, &reply) : -EINVAL;
	run_put(r);
	if (rc)
		return rc;
	/* Keep what was not read yet, then the new reply. */
	const char *old = fh->text ? fh->text + fh->text_off : "";
	char *joined;
	if (asprintf(&joined, "%s%s", old, reply) < 0) {
		free(reply);
		return -ENOMEM;
	}
	free(reply);
	free(fh->text);
	fh->text = joined;
	fh->text_off = 0;
	return size;
}
