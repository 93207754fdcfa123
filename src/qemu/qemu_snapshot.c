/* qemu_snapshot.c - snapshots of a QEMU run (connector.h): QEMU 7.2's
 * snapshot-save and snapshot-load jobs over QMP.
 *
 * Internal snapshots live in qcow2 images. Each snapshot gets its own
 * small one, SNAP_IMAGE in the snapshot's directory (core/snapshot.h),
 * that holds the machine state (CPUs, RAM, devices): attached with
 * blockdev-add for the save or the load and detached after, as a node no
 * device uses, so the guest never sees it. A snapshot is thus one
 * directory, deleted by removing it (no snapshot-delete needed), and no
 * image is shared between snapshots or with a run.
 *
 * Disks: an overlay (qemu.drives[].overlay) is a qcow2 image, so it
 * takes the same internal snapshot (it is one of the job's devices), and
 * the snapshot keeps it: a hard link SNAP_DISK in its directory. The run
 * goes on writing into that file; what the snapshot saved stays in it
 * (qcow2 keeps a snapshot's clusters). A plain start makes a fresh
 * overlay over the pristine base (qemu.c unlinks the name first); a
 * load on a stopped instance starts with the snapshot's disk linked as
 * the overlay (qemu_snapshot_disk), and a load in place whose overlay is
 * not the snapshot's is -EXDEV: the core restarts from the snapshot. A
 * drive without overlay (the user's file, raw or not) cannot be saved
 * with the machine: EINVAL, the reason in `log`.
 *
 * The internal snapshot's tag is one of its own (TAG_FILE): a run's
 * overlay may hold one of a snapshot already deleted by that name.
 *
 * A job is waited for by polling query-jobs until it concluded, up to
 * the snapshot deadline (QEMU runs a save in its main loop, so a
 * query-jobs may wait for the save itself: one that times out is asked
 * again). Past the deadline the job is cancelled and the save is
 * ETIMEDOUT.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/run.h"
#include "overlay.h"
#include "qemu_config.h"
#include "qemu_run.h"
#include "qemu_snapshot.h"
#include "qmp.h"

#define SNAP_IMAGE "vmstate.qcow2"
#define SNAP_DISK "drive%zu.qcow2"
#define TAG_FILE "qemu-tag"
/* Only its snapshot area is used: the virtual size is never written. */
#define SNAP_IMAGE_SIZE "1M"
/* query-jobs is asked again after 1 ms, backing off to 10 ms: a small
 * guest's load is done in a few ms, a large one's save takes seconds. */
#define JOB_POLL_FIRST_MS 1
#define JOB_POLL_MAX_MS 10

static atomic_uint snap_seq;    /* node and job names, unique per mount */

/* QEMU's job error text as errno: a full disk, else a refusal. */
static int job_errno(const char *msg)
{
	return strstr(msg, "No space left") ? -ENOSPC : -EINVAL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait for job id to conclude by deadline_ms: 0, -errno of its error
 * (its text in why), or -ETIMEDOUT after cancelling it. strict: a job
 * that concluded only after the deadline is -ETIMEDOUT too (a save:
 * QEMU may run all of it before it answers query-jobs, and the caller
 * then discards what it wrote). */
static int job_wait(struct run *r, struct qmp *q, const char *id,
		    long long deadline_ms, bool strict, bool *cancelled,
		    char *why, size_t wl)
{
	for (int wait = JOB_POLL_FIRST_MS;; wait = wait * 2 > JOB_POLL_MAX_MS
					       ? JOB_POLL_MAX_MS : wait * 2) {
		int left = clock_ms_left(deadline_ms);
		json_t *jobs = NULL;
		int rc = qmp_execute(q, "query-jobs", NULL,
				     left < r->timeout_ms ? left + 1
							  : r->timeout_ms,
				     &jobs, NULL);
		if (rc && rc != -ETIMEDOUT)
			return rc;
		size_t i;
		json_t *j;
		const char *status = NULL, *error = NULL;
		json_array_foreach(jobs, i, j) {
			const char *jid = json_string_value(json_object_get(j,
								       "id"));
			if (!jid || strcmp(jid, id))
				continue;
			status = json_string_value(json_object_get(j,
								   "status"));
			error = json_string_value(json_object_get(j, "error"));
		}
		if (status && !strcmp(status, "concluded")) {
			rc = error ? job_errno(error) : 0;
			if (error)
				snprintf(why, wl, "%s", error);
			if (!error && strict && clock_ms_left(deadline_ms) <= 0) {
				rc = -ETIMEDOUT;
				snprintf(why, wl, "done only after the snapshot "
					 "deadline (settings.snapshot_timeout_ms)"
					 "; discarded");
			}
			json_decref(jobs);
			json_t *a = json_pack("{s:s}", "id", id);
			qmp_execute(q, "job-dismiss", a, r->timeout_ms, NULL,
				    NULL);
			json_decref(a);
			return rc;
		}
		json_decref(jobs);
		if (!status && rc == 0) {
			snprintf(why, wl, "job %s vanished", id);
			return -EIO;
		}
		if (clock_ms_left(deadline_ms) <= 0) {
			json_t *a = json_pack("{s:s}", "id", id);
			qmp_execute(q, "job-cancel", a, r->timeout_ms, NULL,
				    NULL);
			/* Dismissed: it had ended (the cancel came too late
			 * to matter), and its image can be detached. */
			*cancelled = qmp_execute(q, "job-dismiss", a,
						 r->timeout_ms, NULL, NULL) != 0;
			json_decref(a);
			snprintf(why, wl, "not done within the snapshot "
				 "deadline (settings.snapshot_timeout_ms); "
				 "cancelled");
			return -ETIMEDOUT;
		}
		sleep_ms(wait);
	}
}

static int command(struct run *r, struct qmp *q, const char *cmd,
		   json_t *args, char *why, size_t wl)
{
	struct qmp_error err;
	int rc = qmp_execute(q, cmd, args, r->timeout_ms, NULL, &err);
	json_decref(args);
	if (rc)
		snprintf(why, wl, "%s: %s", cmd, err.desc);
	return rc;
}

static char *disk_path(const char *dir, size_t i)
{
	char *p;
	return asprintf(&p, "%s/" SNAP_DISK, dir, i) < 0 ? NULL : p;
}

int qemu_snapshot_disk(struct run *r, size_t i, const char *path, char *why,
		       size_t wl)
{
	char *src = disk_path(r->snapshot, i);
	int rc = !src ? -ENOMEM : link(src, path) < 0 ? -errno : 0;
	if (rc)
		snprintf(why, wl, "drive %zu of the snapshot: %s", i,
			 strerror(-rc));
	free(src);
	return rc;
}

/* The job's devices: the state image's node, then the node of every
 * drive's overlay (query-block: the device whose file is the overlay).
 * A drive without overlay: -EINVAL. */
static int devices_of(struct run *r, struct qmp *q, const char *node,
		      json_t **devices, char *why, size_t wl)
{
	const struct qemu_config *c = qemu_config_of(r->target);
	struct qemu_run *qr = r->priv;
	for (size_t i = 0; i < c->ndrives; i++)
		if (!c->drives[i].overlay) {
			snprintf(why, wl, "drive %zu (%s, %s) cannot be saved "
				 "with the machine: only overlay drives can",
				 i, c->drives[i].file, c->drives[i].format);
			return -EINVAL;
		}
	json_t *blocks = NULL;
	*devices = json_pack("[s]", node);
	int rc = !*devices ? -ENOMEM : !c->ndrives ? 0
	       : qmp_execute(q, "query-block", NULL, r->timeout_ms, &blocks,
			     NULL);
	for (size_t i = 0; rc == 0 && i < c->ndrives; i++) {
		size_t k;
		json_t *b;
		const char *found = NULL;
		json_array_foreach(blocks, k, b) {
			json_t *in = json_object_get(b, "inserted");
			const char *f = json_string_value(json_object_get(in,
								       "file"));
			if (f && qr->overlays[i] && !strcmp(f, qr->overlays[i]))
				found = json_string_value(
					json_object_get(in, "node-name"));
		}
		if (!found) {
			snprintf(why, wl, "drive %zu: its overlay is not in "
				 "query-block", i);
			rc = -EIO;
		} else {
			json_array_append_new(*devices, json_string(found));
		}
	}
	json_decref(blocks);
	return rc;
}

/* Save: the overlays kept with the snapshot; load: the run's overlays
 * must be those (the same files), else -EXDEV. */
static int overlays_with(struct run *r, const char *dir, bool save,
			 char *why, size_t wl)
{
	struct qemu_run *qr = r->priv;
	int rc = 0;
	for (size_t i = 0; rc == 0 && qr->overlays && i < qr->ndrives; i++) {
		char *mine = disk_path(dir, i);
		struct stat a, b;
		if (!qr->overlays[i])
			;
		else if (!mine)
			rc = -ENOMEM;
		else if (save && link(qr->overlays[i], mine) < 0)
			rc = -errno;
		else if (!save && (stat(mine, &a) || stat(qr->overlays[i], &b) ||
				   a.st_ino != b.st_ino || a.st_dev != b.st_dev))
			rc = -EXDEV;
		if (rc && save)
			snprintf(why, wl, "drive %zu: %s", i, strerror(-rc));
		else if (rc)
			snprintf(why, wl, "drive %zu is not the snapshot's", i);
		free(mine);
	}
	return rc;
}

/* The tag of the internal snapshot: written at save, read at load. */
static int tag_file(const char *dir, char *tag, size_t len, bool save)
{
	char *file;
	if (asprintf(&file, "%s/" TAG_FILE, dir) < 0)
		return -ENOMEM;
	FILE *f = fopen(file, save ? "we" : "re");
	free(file);
	if (!f)
		return -errno;
	int rc = 0;
	if (save)
		rc = fputs(tag, f) < 0 || fflush(f) ? -errno : 0;
	else if (!fgets(tag, (int)len, f))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* The snapshot image attached as node, the job run on it and the
 * overlays, the image detached again (unless the job is still running:
 * a cancelled save keeps it until the run ends). */
static int run_job(struct run *r, const char *dir, bool save,
		   int timeout_ms, char *why, size_t wl)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return -ESRCH;
	long long deadline = clock_now_ms() + timeout_ms;
	unsigned seq = atomic_fetch_add(&snap_seq, 1);
	char node[48], job[48], tag[64], *image;
	snprintf(node, sizeof node, "emufs-vmstate%u", seq);
	snprintf(job, sizeof job, "emufs-snapshot%u", seq);
	snprintf(tag, sizeof tag, "emufs-%lld-%u", clock_now_ms(), seq);
	int rc = save ? 0 : tag_file(dir, tag, sizeof tag, false);
	if (rc) {
		snprintf(why, wl, "%s: %s", TAG_FILE, strerror(-rc));
		return -EIO;
	}
	if ((rc = !save ? overlays_with(r, dir, false, why, wl) : 0))
		return rc;
	if (asprintf(&image, "%s/" SNAP_IMAGE, dir) < 0)
		return -ENOMEM;
	bool cancelled = false;
	json_t *devices = NULL;
	if (save)
		rc = overlay_create_empty("qemu-img", image, SNAP_IMAGE_SIZE,
					  r->timeout_ms, why, wl);
	if (rc == 0)
		rc = command(r, q, "blockdev-add",
			     json_pack("{s:s, s:s, s:{s:s, s:s}}", "driver",
				       "qcow2", "node-name", node, "file",
				       "driver", "file", "filename", image),
			     why, wl);
	free(image);
	if (rc)
		return rc == -ENOSPC ? rc : rc == -ETIMEDOUT ? rc : -EIO;
	rc = devices_of(r, q, node, &devices, why, wl);
	if (rc == 0) {
		rc = command(r, q, save ? "snapshot-save" : "snapshot-load",
			     json_pack("{s:s, s:s, s:s, s:O}", "job-id", job,
				       "tag", tag, "vmstate", node, "devices",
				       devices), why, wl);
		if (rc == 0)
			rc = job_wait(r, q, job, deadline, save, &cancelled,
				      why, wl);
		else
			rc = rc == -EINVAL || rc == -ENOSPC ? rc : -EIO;
	}
	json_decref(devices);
	if (!cancelled) {
		char ignored[256];
		command(r, q, "blockdev-del",
			json_pack("{s:s}", "node-name", node), ignored,
			sizeof ignored);
	}
	if (rc == 0 && save && (rc = tag_file(dir, tag, 0, true)))
		snprintf(why, wl, "%s: %s", TAG_FILE, strerror(-rc));
	if (rc == 0 && save)
		rc = overlays_with(r, dir, true, why, wl);
	return rc;
}

/* A launched QEMU would write and read the snapshot's files in the
 * snapshot's directory under emufs's state directory, which its node
 * need not see: not yet (docs/scale-out.md). */
static int refuse_launched(struct run *r, char *why, size_t wl)
{
	if (!r->target->launcher)
		return 0;
	snprintf(why, wl, "not supported for an emulator started through a "
		 "launcher yet (its files would be in emufs's state "
		 "directory)");
	return -ENOTSUP;
}

int qemu_snapshot_save(struct run *r, const char *dir, const char *name,
		       int timeout_ms, char *why, size_t wl)
{
	int rc = refuse_launched(r, why, wl);
	return rc ? rc : run_job(r, dir, true, timeout_ms, why, wl);
}

int qemu_snapshot_load(struct run *r, const char *dir, const char *name,
		       bool running, int timeout_ms, char *why, size_t wl)
{
	int rc = refuse_launched(r, why, wl);
	return rc ? rc : run_job(r, dir, false, timeout_ms, why, wl);
}

int qemu_snapshot_key(struct run *r, char **key)
{
	struct qemu_run *qr = r->priv;
	struct qmp *q = qemu_run_qmp(r);
	json_t *v = NULL;
	if (!q || !qr->argv_text)
		return -ESRCH;
	/* The same for the whole run: asked once (saves and loads are
	 * serialised by the instance's claim). */
	if (qr->snapshot_key)
		return (*key = strdup(qr->snapshot_key)) ? 0 : -ENOMEM;
	int rc = qmp_execute(q, "query-version", NULL, r->timeout_ms, &v,
			     NULL);
	if (rc)
		return rc;
	json_t *qv = json_object_get(v, "qemu");
	const char *pkg = json_string_value(json_object_get(v, "package"));
	rc = asprintf(key, "argv %s\nversion %lld.%lld.%lld %s\n",
		      qr->argv_text,
		      json_integer_value(json_object_get(qv, "major")),
		      json_integer_value(json_object_get(qv, "minor")),
		      json_integer_value(json_object_get(qv, "micro")),
		      pkg ? pkg : "");
	json_decref(v);
	if (rc < 0)
		return -ENOMEM;
	qr->snapshot_key = strdup(*key);
	return 0;
}
