/* snapshot.c - an instance's snapshots (see snapshot.h). */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binding.h"
#include "config.h"
#include "connector.h"
#include "instance.h"
#include "lifecycle.h"
#include "pinset.h"

#define NAME_MAX_LEN 64
#define KILL_WAIT_MS 5000

bool snapshot_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || !strchr("_.-", c)))
			return false;
	}
	return true;
}

bool snapshot_key_differs(const char *have, const char *want, char *buf,
			  size_t len)
{
	while (*have || *want) {
		size_t hl = strcspn(have, "\n"), wl = strcspn(want, "\n");
		if (hl != wl || memcmp(have, want, hl)) {
			const char *l = *have ? have : want;
			size_t what = strcspn(l, " \n");
			snprintf(buf, len, "%.*s", (int)what, l);
			return true;
		}
		have += hl + (have[hl] == '\n');
		want += wl + (want[wl] == '\n');
	}
	return false;
}

/* ---- the directory --------------------------------------------------- */

/* <state dir>/SNAPSHOT_ROOT/<instance>[/<prefix><name><suffix>]. */
static char *path_of(struct instance *inst, const char *prefix,
		     const char *name, const char *suffix)
{
	char *p;
	int rc = name ? asprintf(&p, "%s/" SNAPSHOT_ROOT "/%s/%s%s%s",
				 inst->env->state_dir, inst->name, prefix,
				 name, suffix)
		      : asprintf(&p, "%s/" SNAPSHOT_ROOT "/%s",
				 inst->env->state_dir, inst->name);
	return rc < 0 ? NULL : p;
}

static int make_root(struct instance *inst)
{
	char *top, *dir = path_of(inst, "", NULL, "");
	if (!dir || asprintf(&top, "%s/" SNAPSHOT_ROOT,
			     inst->env->state_dir) < 0) {
		free(dir);
		return -ENOMEM;
	}
	int rc = 0;
	if ((mkdir(top, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST))
		rc = -errno;
	free(top);
	free(dir);
	return rc;
}

/* A snapshot's directory and the files in it (never a subdirectory:
 * the emulators keep files only). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static off_t tree_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	off_t sum = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (off_t)st.st_blocks * 512;
	if (d)
		closedir(d);
	return sum;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int snapshot_list(struct instance *inst, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	char *dir = path_of(inst, "", NULL, "");
	if (!dir)
		return -ENOMEM;
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	size_t cap = 0;
	int rc = 0;
	/* A name that is not valid is no snapshot: ".x.part" is a save in
	 * progress. */
	while (rc == 0 && (e = readdir(d))) {
		if (!snapshot_name_valid(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			char **nv = realloc(*names, cap * sizeof *nv);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			*names = nv;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			rc = -ENOMEM;
		else
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof **names, cmp_names);
	return rc;
}

int snapshot_stat(struct instance *inst, const char *name,
		  struct timespec *when, off_t *size)
{
	if (!snapshot_name_valid(name))
		return -ENOENT;
	char *meta = path_of(inst, "", name, "/" SNAPSHOT_META);
	struct stat st;
	int rc = meta && stat(meta, &st) == 0 ? 0 : -ENOENT;
	if (rc == 0) {
		*when = st.st_mtim;
		char *dir = path_of(inst, "", name, "");
		*size = dir ? tree_size(dir) : 0;
		free(dir);
	}
	free(meta);
	return rc;
}

/* ---- what a snapshot is bound to, and holds ---------------------------- */

/* "target T\nimage PATH SIZE MTIME\n" and the connector's lines. */
static char *key_of(struct run *r)
{
	struct stat st = { 0 };
	char *conn = NULL, *key;
	if (r->image && stat(r->image, &st) < 0)
		memset(&st, 0, sizeof st);
	if (r->conn->snapshot_key && r->conn->snapshot_key(r, &conn))
		return NULL;
	int rc = asprintf(&key, "target %s\nimage %s %lld %lld.%09ld\n%s",
			  r->target->name, r->image ? r->image : "-",
			  (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			  st.st_mtim.tv_nsec, conn ? conn : "");
	free(conn);
	return rc < 0 ? NULL : key;
}

static int write_meta(const char *dir, struct run *r, const char *key,
		      bool paused)
{
	json_t *pins = json_object();
	struct binding *b = r->binding;
	for (size_t i = 0; pins && i < b->npins; i++) {
		int level = atomic_load(&b->pins[i].level);
		if (b->pins[i].cfg->backend == PIN_SHIM && level >= 0)
			json_object_set_new(pins, b->pins[i].cfg->name,
					    json_integer(level));
	}
	json_t *m = json_pack("{s:s, s:s, s:o?}", "key", key, "state",
			      paused ? "paused" : "running", "pins", pins);
	char *file;
	if (!m || asprintf(&file, "%s/" SNAPSHOT_META, dir) < 0) {
		json_decref(m);
		return -ENOMEM;
	}
	int rc = 0;
	FILE *f = fopen(file, "we");
	if (!f || json_dumpf(m, f, JSON_COMPACT) || fflush(f) ||
	    fsync(fileno(f)))
		rc = errno ? -errno : -EIO;
	if (f && fclose(f) && !rc)
		rc = -errno;
	free(file);
	json_decref(m);
	return rc;
}

static json_t *read_meta(struct instance *inst, const char *name)
{
	char *file = path_of(inst, "", name, "/" SNAPSHOT_META);
	json_t *m = file ? json_load_file(file, 0, NULL) : NULL;
	free(file);
	if (m && (!json_is_string(json_object_get(m, "key")) ||
		  !json_is_string(json_object_get(m, "state")))) {
		json_decref(m);
		m = NULL;
	}
	return m;
}

/* The shim pins as saved: the guest is back where it drove them. */
static void restore_pins(struct run *r, json_t *meta)
{
	struct binding *b = r->binding;
	json_t *pins = json_object_get(meta, "pins");
	for (size_t i = 0; i < b->npins; i++) {
		json_t *v = json_object_get(pins, b->pins[i].cfg->name);
		if (b->pins[i].cfg->backend == PIN_SHIM && json_is_integer(v))
			pinset_record(b->pinenv, &b->pins[i],
				      (int)json_integer_value(v));
	}
}

static void event(struct instance *inst, const char *what, const char *name)
{
	char data[160];
	snprintf(data, sizeof data, "\"action\": \"%s\", \"name\": \"%s\"",
		 what, name);
	instance_event(inst, "EMUFS_SNAPSHOT", data, false);
}

/* ---- claiming the instance ------------------------------------------- */

/* Claim a running or paused instance: its run (a reference) and state
 * then, or -ESRCH (not running) / -EBUSY (another command holds it, or
 * it is starting or stopping), logged as "<what> refused: ...". */
static int claim_running(struct instance *inst, const char *what,
			 inst_token *token, struct run **r,
			 enum inst_state *st)
{
	pthread_mutex_lock(&inst->lock);
	instance_wait_closed_locked(inst);
	*st = inst->state;
	*r = inst->run;
	bool live = *r && (*st == ST_RUNNING || *st == ST_PAUSED);
	if (inst->busy || !live) {
		pthread_mutex_unlock(&inst->lock);
		instance_log(inst, "%s refused: the instance is %s", what,
			     inst_state_name(*st));
		return live || !inst_state_stopped(*st) ? -EBUSY : -ESRCH;
	}
	run_get(*r);
	*token = instance_claim_locked(inst);
	pthread_mutex_unlock(&inst->lock);
	return 0;
}

static int timeout_of(struct instance *inst)
{
	return inst->env->cfg->snapshot_timeout_ms;
}

/* ---- save, delete, load ---------------------------------------------- */

static int save_claimed(struct instance *inst, struct run *r,
			const char *part, const char *name, bool paused)
{
	char why[512] = "";
	char *key = key_of(r);
	int rc = key ? 0 : -ENOMEM;
	if (rc == 0 && !r->conn->snapshot_save) {
		snprintf(why, sizeof why, "the emulator has no snapshots");
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = r->conn->snapshot_save(r, part, name, timeout_of(inst),
					    why, sizeof why);
	if (rc == 0 && (rc = write_meta(part, r, key, paused)))
		snprintf(why, sizeof why, "%s: %s", SNAPSHOT_META,
			 strerror(-rc));
	free(key);
	if (rc)
		instance_log(inst, "snapshot %s failed: %s", name,
			     why[0] ? why : strerror(-rc));
	return rc;
}

int snapshot_save(struct instance *inst, const char *name)
{
	int refused = instance_refuse_attached(inst, "snapshot");
	if (refused)
		return refused;
	if (!snapshot_name_valid(name)) {
		instance_log(inst, "snapshot refused: \"%.64s\" is not a "
			     "name ([A-Za-z0-9][A-Za-z0-9_.-]*)", name);
		return -EINVAL;
	}
	int rc = make_root(inst);
	char *final = path_of(inst, "", name, "");
	char *part = path_of(inst, ".", name, ".part");
	struct stat st;
	if (rc == 0 && (!final || !part))
		rc = -ENOMEM;
	/* The part directory is the name's reservation: a second save of
	 * the name fails on it, or on the finished snapshot. */
	if (rc == 0 && lstat(final, &st) == 0)
		rc = -EEXIST;
	else if (rc == 0 && mkdir(part, 0700) < 0)
		rc = -errno;
	else if (rc == 0 && lstat(final, &st) == 0) {
		rmdir(part);    /* finished between the look and the mkdir */
		rc = -EEXIST;
	}
	if (rc) {
		instance_log(inst, "snapshot %s refused: %s", name,
			     rc == -EEXIST ? "it exists" : strerror(-rc));
		goto out;
	}
	inst_token token;
	struct run *r;
	enum inst_state was;
	if ((rc = claim_running(inst, "snapshot", &token, &r, &was))) {
		rmdir(part);
		goto out;
	}
	rc = save_claimed(inst, r, part, name, was == ST_PAUSED);
	if (rc == 0 && rename(part, final) < 0)
		rc = -errno;
	if (rc)
		remove_tree(part);
	else
		event(inst, "save", name);
	instance_release(inst, token, r);
	run_put(r);
out:
	free(final);
	free(part);
	return rc;
}

int snapshot_delete(struct instance *inst, const char *name)
{
	char *dir = snapshot_name_valid(name) ? path_of(inst, "", name, "")
					      : NULL;
	char *meta = dir ? path_of(inst, "", name, "/" SNAPSHOT_META) : NULL;
	int rc = meta && access(meta, F_OK) == 0 ? 0 : -ENOENT;
	if (rc == 0) {
		/* Renamed aside first: the name is gone at once, also for a
		 * load that looks it up meanwhile. */
		char *gone = path_of(inst, ".", name, ".gone");
		if (gone && rename(dir, gone) == 0)
			remove_tree(gone);
		else
			rc = -errno;
		free(gone);
	}
	if (rc == 0)
		event(inst, "delete", name);
	free(dir);
	free(meta);
	return rc;
}

/* The stopped instance started paused, with the snapshot's disks (the
 * key is checked once it runs: the connector's part needs the run). */
static int start_for(struct instance *inst, const char *name)
{
	char *dir = path_of(inst, "", name, "");
	if (!dir)
		return -ENOMEM;
	instance_log(inst, "load %s: starting the instance", name);
	int rc = instance_start_from(inst, true, dir);
	free(dir);
	return rc;
}

/* -EXDEV (when may_restart): the run's disks are not the snapshot's,
 * nothing changed, and the load needs a start from the snapshot. */
static int load_claimed(struct instance *inst, struct run *r,
			const char *name, json_t *meta, enum inst_state now,
			bool may_restart)
{
	char why[512] = "", what[32];
	char *key = key_of(r);
	int rc = key ? 0 : -ENOMEM;
	if (rc == 0 && snapshot_key_differs(key, json_string_value(
				json_object_get(meta, "key")), what,
				sizeof what)) {
		instance_log(inst, "load %s refused: it was taken with a "
			     "different %s", name, what);
		rc = -EINVAL;
	}
	free(key);
	if (rc)
		return rc;
	char *dir = path_of(inst, "", name, "");
	rc = !dir ? -ENOMEM : !r->conn->snapshot_load ? -EINVAL
	   : r->conn->snapshot_load(r, dir, name, now == ST_RUNNING,
				    timeout_of(inst), why, sizeof why);
	free(dir);
	if (rc == -EXDEV && may_restart)
		return rc;
	if (rc) {
		/* Half-loaded is no machine: it goes, as crashed. */
		instance_log(inst, "load %s failed: %s", name,
			     why[0] ? why : strerror(-rc));
		run_signal(r, SIGKILL);
		run_wait_exit(r, KILL_WAIT_MS);
		return -EIO;
	}
	bool paused = !strcmp(json_string_value(json_object_get(meta,
								  "state")),
			      "paused");
	if (paused && now == ST_RUNNING)
		rc = r->conn->pause(r);
	else if (!paused && now == ST_PAUSED)
		rc = r->conn->resume(r);
	pthread_mutex_lock(&inst->lock);
	enum inst_state want = paused ? ST_PAUSED : ST_RUNNING;
	if (rc == 0 && inst->run == r && !run_exited(r) &&
	    inst->state != want)
		instance_transition_locked(inst, want);
	pthread_mutex_unlock(&inst->lock);
	restore_pins(r, meta);
	return rc;
}

int snapshot_load(struct instance *inst, const char *name)
{
	int refused = instance_refuse_attached(inst, "load");
	if (refused)
		return refused;
	if (!snapshot_name_valid(name)) {
		instance_log(inst, "load refused: \"%.64s\" is not a "
			     "snapshot name", name);
		return -EINVAL;
	}
	json_t *meta = read_meta(inst, name);
	if (!meta) {
		instance_log(inst, "load %s refused: no such snapshot", name);
		return -ENOENT;
	}
	int rc = 0;
	bool started = false;
	for (int attempt = 0;; attempt++) {
		if (inst_state_stopped(instance_state(inst))) {
			if ((rc = start_for(inst, name)))
				goto out;
			started = true;
		}
		inst_token token;
		struct run *r;
		enum inst_state now;
		if ((rc = claim_running(inst, "load", &token, &r, &now)))
			goto out;
		rc = load_claimed(inst, r, name, meta, now, attempt == 0);
		instance_release(inst, token, r);
		run_put(r);
		if (rc != -EXDEV)
			break;
		/* Another run's disks: the snapshot's are attached only at
		 * a start. */
		instance_log(inst, "load %s: its disks are not this run's: "
			     "restarting from the snapshot", name);
		if ((rc = instance_stop(inst)))
			goto out;
	}
	if (rc == 0)
		event(inst, "load", name);
	else if (rc == -EINVAL && started)
		instance_stop(inst);
out:
	json_decref(meta);
	return rc;
}
