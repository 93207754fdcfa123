/* text.c - what an open file of text reads: the small computed files
 * (state, ctl, target, gdb, pins, props: the kinds with a `text` handler
 * or a snapshot taken at open) and the raw conversations (qmp, monitor).
 * Both keep their text in the open file (struct fh), under
 * fh->text_lock, since several threads may serve one open file.
 *
 * Small files are one snapshot per read from the start: the read at
 * offset 0 takes the text (the kind's `text` handler) and the reads that
 * go on from there (cat's, until 0) serve the same text, so `cat state`
 * never mixes "running\n" with "paused\n". Their st_size is the length
 * of the text now; direct_io (no page cache, ops.c) keeps the kernel
 * from cutting a snapshot to a size taken at another moment. A property
 * has no `text` handler: its snapshot is taken at open (props.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/connector.h"
#include "fs.h"
#include "handlers.h"
#include "core/instance.h"

ssize_t read_text(const char *text, char *buf, size_t size, off_t off)
{
	size_t len = strlen(text);
	if (off < 0 || (size_t)off >= len)
		return 0;
	if (size > len - off)
		size = len - off;
	memcpy(buf, text + off, size);
	return size;
}

/* A read of a small file: the read at offset 0 (or the first one) takes
 * a new snapshot, computed without text_lock held (a pin may ask the
 * emulator); the reads that go on from there serve it. */
ssize_t text_read(struct fh *fh, char *buf, size_t size, off_t off)
{
	const struct kind *k = kind_of(&fh->node);
	char now[TEXT_MAX];
	char *fresh = NULL;
	pthread_mutex_lock(&fh->text_lock);
	bool take = k->text && (off == 0 || !fh->text);
	pthread_mutex_unlock(&fh->text_lock);
	if (take) {
		int rc = k->text(fh, now, sizeof now);
		if (rc)
			return rc;
		if (!(fresh = strdup(now)))
			return -ENOMEM;
	}
	pthread_mutex_lock(&fh->text_lock);
	if (fresh) {
		free(fh->text);
		fh->text = fresh;
	}
	ssize_t rc = fh->text ? read_text(fh->text, buf, size, off) : -EBADF;
	pthread_mutex_unlock(&fh->text_lock);
	return rc;
}

/* The raw command file is there while the target's emulator has one of
 * that name. */
int raw_refresh(struct node *n)
{
	const char *raw = kind_raw_name(n->inst);
	return raw && !strcmp(n->name, raw) ? 0 : -ENOENT;
}

/* A conversation, not a file: each read takes the next bytes of the
 * replies so far, whatever the offset. */
ssize_t raw_read(struct fh *fh, char *buf, size_t size, off_t off)
{
	pthread_mutex_lock(&fh->text_lock);
	size_t have = fh->text ? strlen(fh->text) - fh->text_off : 0;
	if (size > have)
		size = have;
	if (size)
		memcpy(buf, fh->text + fh->text_off, size);
	fh->text_off += size;
	pthread_mutex_unlock(&fh->text_lock);
	return size;
}

/* Test hook (tests/integration/test_disk.sh): EMUFS_TEST_RAW_JOIN_DELAY_US
 * widens the moment in raw_write between taking the unread replies and
 * storing them joined with the new one, where a reader of the same open
 * file without text_lock would take bytes that then come again. Unset
 * (0) in normal use; read once at init. */
static unsigned raw_join_delay_us;

void fs_text_init(void)
{
	const char *delay = getenv("EMUFS_TEST_RAW_JOIN_DELAY_US");
	raw_join_delay_us = delay ? strtoul(delay, NULL, 10) : 0;
}

/* A raw command on a qmp or monitor file; its reply waits for a read. */
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
	/* Keep what was not read yet, then the new reply: under text_lock,
	 * or a reader on the same open file could copy from the old text
	 * while it is freed, or move text_off past the new reply. */
	pthread_mutex_lock(&fh->text_lock);
	const char *old = fh->text ? fh->text + fh->text_off : "";
	char *joined;
	if (asprintf(&joined, "%s%s", old, reply) < 0) {
		pthread_mutex_unlock(&fh->text_lock);
		free(reply);
		return -ENOMEM;
	}
	if (raw_join_delay_us)
		usleep(raw_join_delay_us);
	free(fh->text);
	fh->text = joined;
	fh->text_off = 0;
	pthread_mutex_unlock(&fh->text_lock);
	free(reply);
	return size;
}
