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
 * Disks: a drive the guest writes would have to be saved with the
 * machine in the same image set; this version refuses a save on a board
 * with drives (EINVAL, the reason in `log`) rather than save a machine
 * whose disk would not match.
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
#include <time.h>

#include "core/clock.h"
#include "core/run.h"
#include "overlay.h"
#include "qemu_config.h"
#include "qemu_run.h"
#include "qemu_snapshot.h"
#include "qmp.h"

#define SNAP_IMAGE "vmstate.qcow2"
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
			json_decref(a);
			*cancelled = true;
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

/* The snapshot image attached as node, the job run on it, detached
 * again (unless the job is still running: a cancelled save keeps it
 * until the run ends). */
static int run_job(struct run *r, const char *dir, const char *name,
		   const char *cmd, int timeout_ms, char *why, size_t wl)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return -ESRCH;
	long long deadline = clock_now_ms() + timeout_ms;
	unsigned seq = atomic_fetch_add(&snap_seq, 1);
	char node[48], job[48], *image;
	snprintf(node, sizeof node, "emufs-vmstate%u", seq);
	snprintf(job, sizeof job, "emufs-snapshot%u", seq);
	if (asprintf(&image, "%s/" SNAP_IMAGE, dir) < 0)
		return -ENOMEM;
	int rc = 0;
	bool cancelled = false;
	if (!strcmp(cmd, "snapshot-save"))
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
	rc = command(r, q, cmd,
		     json_pack("{s:s, s:s, s:s, s:[s]}", "job-id", job, "tag",
			       name, "vmstate", node, "devices", node),
		     why, wl);
	if (rc == 0)
		rc = job_wait(r, q, job, deadline,
			      !strcmp(cmd, "snapshot-save"), &cancelled, why,
			      wl);
	else
		rc = rc == -EINVAL || rc == -ENOSPC ? rc : -EIO;
	if (!cancelled) {
		char ignored[256];
		command(r, q, "blockdev-del",
			json_pack("{s:s}", "node-name", node), ignored,
			sizeof ignored);
	}
	return rc;
}

/* Drives would need saving with the machine: refused (see above). */
static int check_drives(struct run *r, char *why, size_t wl)
{
	const struct qemu_config *c = qemu_config_of(r->target);
	if (!c->ndrives)
		return 0;
	snprintf(why, wl, "drive 0 (%s, %s%s) cannot be saved with the "
		 "machine", c->drives[0].file, c->drives[0].format,
		 c->drives[0].overlay ? ", overlay" : "");
	return -EINVAL;
}

int qemu_snapshot_save(struct run *r, const char *dir, const char *name,
		       int timeout_ms, char *why, size_t wl)
{
	int rc = check_drives(r, why, wl);
	return rc ? rc : run_job(r, dir, name, "snapshot-save", timeout_ms,
				 why, wl);
}

int qemu_snapshot_load(struct run *r, const char *dir, const char *name,
		       bool running, int timeout_ms, char *why, size_t wl)
{
	int rc = check_drives(r, why, wl);
	return rc ? rc : run_job(r, dir, name, "snapshot-load", timeout_ms,
				 why, wl);
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
