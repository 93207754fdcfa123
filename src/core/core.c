/* core.c - the instance registry (see core.h). */
#include "core.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <assert.h>

#include "instance.h"
#include "ioloop.h"
#include "lifecycle.h"
#include "pin.h"
#include "statedir.h"

static int add_instance(struct core *core, struct instance *inst)
{
	struct instance **v = realloc(core->inst,
				      (core->ninst + 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	core->inst = v;
	core->inst[core->ninst++] = inst;
	inst->refs = 1;          /* the registry's */
	return 0;
}

/* The pin watcher's round: every instance's watched pins. */
static void poll_pins(void *opaque)
{
	struct core *core = opaque;
	pthread_mutex_lock(&core->lock);
	size_t n = core->ninst;
	struct instance **v = malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		v[i] = core->inst[i];
		v[i]->refs++;
	}
	pthread_mutex_unlock(&core->lock);
	if (v)
		pins_poll(v, n);
	for (size_t i = 0; v && i < n; i++)
		instance_put(v[i]);
	free(v);
}

int core_new(struct emufs_config *cfg, const char *state_dir,
	     const struct core_hooks *hooks, struct core **out,
	     char *err, size_t errlen)
{
	struct core *core = calloc(1, sizeof *core);
	if (!core) {
		config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	core->cfg = cfg;
	if (hooks)
		core->hooks = *hooks;
	pthread_mutex_init(&core->lock, NULL);
	core->state_dir = strdup(state_dir);
	core->loop = ioloop_new();
	core->env = (struct instance_env){ cfg, core->state_dir, core->loop,
					   &core->hooks, &core->pinwatch,
					   core };
	if (!core->state_dir || !core->loop || ioloop_start(core->loop) ||
	    pinwatch_start(&core->pinwatch, poll_pins, core)) {
		snprintf(err, errlen, "cannot start the I/O threads");
		goto fail;
	}
	for (size_t i = 0; i < cfg->ninstances; i++) {
		const struct cfg_instance *ci = &cfg->instances[i];
		int e = 0;
		struct instance *inst = instance_new(
			&core->env, ci->name, config_find_target(cfg, ci->target), &e);
		if (!inst || add_instance(core, inst)) {
			snprintf(err, errlen, "instance %s: %s", ci->name,
				 strerror(e ? e : ENOMEM));
			if (inst)
				instance_free(inst);
			goto fail;
		}
	}
	*out = core;
	return 0;
fail:
	core_free(core);
	return -EIO;
}

static void *start_one(void *arg)
{
	instance_start(arg, false);
	return NULL;
}

static void *stop_one(void *arg)
{
	instance_stop(arg);
	return NULL;
}

/* Run fn on the given instances in parallel, one thread each. */
static void for_instances(struct core *core, void *(*fn)(void *),
			  const bool *which)
{
	pthread_t *t = calloc(core->ninst, sizeof *t);
	bool *started = calloc(core->ninst, sizeof *started);
	for (size_t i = 0; t && started && i < core->ninst; i++) {
		if (!which[i])
			continue;
		if (pthread_create(&t[i], NULL, fn, core->inst[i]) == 0)
			started[i] = true;
		else
			fn(core->inst[i]);
	}
	for (size_t i = 0; t && started && i < core->ninst; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	free(t);
	free(started);
}

void core_autostart(struct core *core)
{
	bool *which = calloc(core->cfg->ninstances + 1, sizeof *which);
	if (!which)
		return;
	for (size_t i = 0; i < core->cfg->ninstances && i < core->ninst; i++)
		which[i] = core->cfg->instances[i].autostart;
	for_instances(core, start_one, which);
	free(which);
}

void core_free(struct core *core)
{
	if (!core)
		return;
	if (core->ninst) {
		bool *all = malloc(core->ninst * sizeof *all);
		if (all) {
			memset(all, 1, core->ninst * sizeof *all);
			for_instances(core, stop_one, all);
			free(all);
		}
	}
	pinwatch_stop(&core->pinwatch);
	for (size_t i = 0; i < core->ninst; i++) {
		if (instance_has_run(core->inst[i]))
			instance_kill(core->inst[i]);  /* would not stop */
		instance_free(core->inst[i]);
	}
	free(core->inst);
	ioloop_free(core->loop);
	if (core->state_dir)
		statedir_remove(core->state_dir);
	free(core->state_dir);
	config_free(core->cfg);
	pthread_mutex_destroy(&core->lock);
	free(core);
}

static ssize_t find_locked(struct core *core, const char *name)
{
	for (size_t i = 0; i < core->ninst; i++)
		if (!strcmp(core->inst[i]->name, name))
			return i;
	return -1;
}

struct instance *core_get(struct core *core, const char *name)
{
	struct instance *inst = NULL;
	pthread_mutex_lock(&core->lock);
	ssize_t i = find_locked(core, name);
	if (i >= 0) {
		inst = core->inst[i];
		inst->refs++;
	}
	pthread_mutex_unlock(&core->lock);
	return inst;
}

void instance_get(struct instance *inst)
{
	pthread_mutex_lock(&inst->core->lock);
	assert(inst->refs > 0);    /* a holder vouches for it */
	inst->refs++;
	pthread_mutex_unlock(&inst->core->lock);
}

void instance_put(struct instance *inst)
{
	if (!inst)
		return;
	struct core *core = inst->core;
	pthread_mutex_lock(&core->lock);
	assert(inst->refs > 0);
	bool last = --inst->refs == 0;
	pthread_mutex_unlock(&core->lock);
	if (last)
		instance_free(inst);
}

char **core_names(struct core *core)
{
	pthread_mutex_lock(&core->lock);
	char **v = calloc(core->ninst + 1, sizeof *v);
	for (size_t i = 0; v && i < core->ninst; i++)
		v[i] = strdup(core->inst[i]->name);
	pthread_mutex_unlock(&core->lock);
	return v;
}

void core_names_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

int core_mkdir(struct core *core, const char *name)
{
	if (!config_name_valid(name))
		return -EINVAL;
	int e = 0;
	struct instance *inst = instance_new(&core->env, name, NULL, &e);
	if (!inst)
		return -(e ? e : ENOMEM);
	pthread_mutex_lock(&core->lock);
	int rc = find_locked(core, name) >= 0 ? -EEXIST
					       : add_instance(core, inst);
	pthread_mutex_unlock(&core->lock);
	if (rc)
		instance_free(inst);
	return rc;
}

int core_rmdir(struct core *core, const char *name)
{
	pthread_mutex_lock(&core->lock);
	ssize_t i = find_locked(core, name);
	if (i < 0) {
		pthread_mutex_unlock(&core->lock);
		return -ENOENT;
	}
	struct instance *inst = core->inst[i];
	int rc = instance_retire(inst);
	if (rc) {
		pthread_mutex_unlock(&core->lock);
		return rc;
	}
	memmove(&core->inst[i], &core->inst[i + 1],
		(core->ninst - i - 1) * sizeof *core->inst);
	core->ninst--;
	bool last = --inst->refs == 0;
	pthread_mutex_unlock(&core->lock);
	if (last)
		instance_free(inst);
	return 0;
}
