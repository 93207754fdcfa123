/* control.c - an instance's control files: ctl and state (the state's
 * line), target (its name), gdb (host:port of the stub), firmware (the
 * image the next start boots). Each gives its text now (a read takes it
 * as one snapshot, text.c), its size, and for ctl, target and firmware
 * what a write does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/connector.h"
#include "core/ctl.h"
#include "core/firmware.h"
#include "fs.h"
#include "handlers.h"
#include "core/instance.h"

int state_text(struct fh *fh, char *text, size_t len)
{
	snprintf(text, len, "%s\n",
		 inst_state_name(instance_state(fh->node.inst)));
	return 0;
}

int state_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	st->st_size = strlen(inst_state_name(instance_state(n->inst))) + 1;
	return 0;
}

ssize_t ctl_write(struct fh *fh, const char *buf, size_t size)
{
	int rc = ctl_run(fh->node.inst, buf, size);
	return rc ? rc : (ssize_t)size;
}

int target_text(struct fh *fh, char *text, size_t len)
{
	instance_target_name(fh->node.inst, text, len - 1);
	if (text[0])
		strcat(text, "\n");
	return 0;
}

int target_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	char buf[128];
	instance_target_name(n->inst, buf, sizeof buf);
	st->st_size = buf[0] ? strlen(buf) + 1 : 0;
	return 0;
}

ssize_t target_write(struct fh *fh, const char *buf, size_t size)
{
	int rc = instance_set_target(fh->node.inst, buf, size);
	return rc ? rc : (ssize_t)size;
}

/* "host:port\n" of the gdb stub: -ESRCH while not running. */
static int gdb_address(struct node *n, char *buf, size_t len)
{
	struct run *r = instance_get_run(n->inst);
	if (!r)
		return -ESRCH;
	int rc = r->conn->gdb_address ? r->conn->gdb_address(r, buf, len - 1)
				      : -ENOENT;
	run_put(r);
	if (rc == 0)
		strcat(buf, "\n");
	return rc;
}

int gdb_text(struct fh *fh, char *text, size_t len)
{
	return gdb_address(&fh->node, text, len);
}

int gdb_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	char buf[128];
	st->st_size = gdb_address(n, buf, sizeof buf) ? 0 : strlen(buf);
	return 0;
}

int owned_file_open(struct fh *fh, int flags)
{
	return instance_refuse_attached(fh->node.inst,
					fh->node.kind == N_FIRMWARE
					? "firmware" : "trace/log");
}

int firmware_file_text(struct fh *fh, char *text, size_t len)
{
	return firmware_read(fh->node.inst, text, len);
}

int firmware_file_stat(struct emufs_fs *fs, struct node *n, struct stat *st)
{
	char buf[TEXT_MAX];
	st->st_size = firmware_read(n->inst, buf, sizeof buf) ? 0
							      : strlen(buf);
	return 0;
}

ssize_t firmware_file_write(struct fh *fh, const char *buf, size_t size)
{
	int rc = firmware_write(fh->node.inst, buf, size);
	return rc ? rc : (ssize_t)size;
}
