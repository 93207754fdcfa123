/* renode_snapshot.c - snapshots of a Renode run (connector.h): the
 * monitor's `Save @FILE` and `Load @FILE`.
 *
 * Renode saves the whole emulation into one file, STATE_FILE in the
 * snapshot's directory (core/snapshot.h); it pauses the emulation for
 * the save and goes on as it was. `Load` replaces the emulation with
 * the saved one, paused, and no machine selected in the monitor: the
 * connector selects the run's machine again (by name for a platform,
 * the first one for a script) and starts it when it ran before, so the
 * load leaves the run state as it found it, as connector.h asks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run.h"
#include "renode_config.h"
#include "renode_parse.h"
#include "renode_run.h"
#include "renode_snapshot.h"

#define STATE_FILE "state.save"
/* The levels emufs drove last on the ports' input pins (renode_run.h:
 * Renode cannot read them back), one a line by pin index: emufs's part
 * of the machine, saved and loaded with it. */
#define INPUTS_FILE "emufs-inputs"

static int save_inputs(struct run *r, const char *dir)
{
	struct renode_run *rr = r->priv;
	char *file;
	if (asprintf(&file, "%s/" INPUTS_FILE, dir) < 0)
		return -ENOMEM;
	FILE *f = fopen(file, "we");
	free(file);
	if (!f)
		return -errno;
	for (size_t i = 0; i < r->target->npins; i++)
		fprintf(f, "%d\n", atomic_load(&rr->in_level[i]));
	int rc = fflush(f) ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static void load_inputs(struct run *r, const char *dir)
{
	struct renode_run *rr = r->priv;
	char *file;
	if (asprintf(&file, "%s/" INPUTS_FILE, dir) < 0)
		return;
	FILE *f = fopen(file, "re");
	free(file);
	int level;
	for (size_t i = 0; f && i < r->target->npins &&
			   fscanf(f, "%d", &level) == 1; i++)
		atomic_store(&rr->in_level[i], level);
	if (f)
		fclose(f);
}

/* "Save @DIR/state.save" (or Load): a monitor line on the file. */
static int state_command(struct run *r, const char *verb, const char *dir,
			 char *why, size_t wl)
{
	char *file = NULL, *tok = NULL, *line = NULL;
	int rc = -ENOMEM;
	if (asprintf(&file, "%s/" STATE_FILE, dir) < 0) {
		file = NULL;
		goto out;
	}
	if (!(tok = renode_path_token(file))) {
		snprintf(why, wl, "a path Renode's monitor cannot express: %s",
			 file);
		rc = -EINVAL;
		goto out;
	}
	if (asprintf(&line, "%s %s", verb, tok) < 0) {
		line = NULL;
		goto out;
	}
	struct robot_result res;
	rc = renode_exec(r, line, NULL, &res);
	if (rc) {
		char e[300];
		snprintf(why, wl, "%s: %s", verb,
			 robot_error_line(&res, e, sizeof e));
		rc = rc == -ETIMEDOUT ? rc
		   : strstr(e, "No space left") ? -ENOSPC : -EINVAL;
	}
	robot_result_clear(&res);
out:
	free(file);
	free(tok);
	free(line);
	return rc;
}

int renode_snapshot_save(struct run *r, const char *dir, const char *name,
			 int timeout_ms, char *why, size_t wl)
{
	int rc = save_inputs(r, dir);
	if (rc)
		snprintf(why, wl, "%s: %s", INPUTS_FILE, strerror(-rc));
	return rc ? rc : state_command(r, "Save", dir, why, wl);
}

int renode_snapshot_load(struct run *r, const char *dir, const char *name,
			 bool running, int timeout_ms, char *why, size_t wl)
{
	int rc = state_command(r, "Load", dir, why, wl);
	if (rc)
		return rc;
	load_inputs(r, dir);
	const struct renode_config *c = renode_config_of(r->target);
	char line[300];
	if (c->platform)
		snprintf(line, sizeof line, "mach set \"%s\"", run_name(r));
	else
		snprintf(line, sizeof line, "mach set 0");
	if ((rc = renode_exec_logged(r, "load", line, NULL)) ||
	    (running && (rc = renode_exec_logged(r, "load", "start", NULL))))
		snprintf(why, wl, "after Load: %s failed", line);
	return rc;
}

int renode_snapshot_key(struct run *r, char **key)
{
	const struct renode_config *c = renode_config_of(r->target);
	char *version = NULL;
	int rc = renode_exec_logged(r, "snapshot", "version", &version);
	if (rc)
		return rc;
	size_t len = strcspn(version, "\n");
	size_t clen = 1;
	for (size_t i = 0; i < c->ncommands; i++)
		clen += strlen(c->commands[i]) + 3;
	char *cmds = calloc(1, clen);
	for (size_t i = 0; cmds && i < c->ncommands; i++) {
		strcat(cmds, i ? " ; " : "");
		strcat(cmds, c->commands[i]);
	}
	rc = !cmds ? -1
	   : asprintf(key, "renode %.*s\nplatform %s\nscript %s\n"
		      "commands %s\n", (int)len, version,
		      c->platform ? c->platform : "-",
		      c->script ? c->script : "-", cmds);
	free(cmds);
	free(version);
	return rc < 0 ? -ENOMEM : 0;
}
