/* binding.c - an instance's binding to a target (see binding.h). */
#include "binding.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

void (*binding_freed_hook)(struct binding *b);

static void binding_free(struct binding *b)
{
	if (binding_freed_hook)
		binding_freed_hook(b);
	/* The pins first: shim pins tap the channels. */
	pinset_free(b->pinenv, b->pins, b->npins, b->channels, b->nchannels);
	for (size_t i = 0; i < b->nchannels; i++)
		channel_destroy(&b->channels[i]);
	free(b->channels);
	free(b);
}

int binding_new(const struct binding_env *env, const struct cfg_target *t,
		struct binding **out)
{
	struct binding *b = calloc(1, sizeof *b);
	int rc = -ENOMEM;
	*out = NULL;
	if (!b)
		return -ENOMEM;
	atomic_init(&b->refs, 1);
	b->target = t;
	b->pinenv = env->pinenv;
	if (!t)
		goto done;
	b->channels = calloc(t->nchannels + 1, sizeof *b->channels);
	if (!b->channels)
		goto fail;
	for (size_t i = 0; i < t->nchannels; i++) {
		char *path;
		if (asprintf(&path, "%s/%s.log", env->dir,
			     t->channels[i].name) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = channel_init(&b->channels[i], &t->channels[i], path,
				  env->log_cap);
		free(path);
		if (rc) {
			/* channel_init leaves its lock made: unmake it. */
			channel_destroy(&b->channels[i]);
			goto fail;
		}
		env->watch_log(env->opaque, &b->channels[i].log,
			       t->channels[i].name);
		b->nchannels++;
	}
	if ((rc = pinset_bind(env->pinenv, t, b->channels, b->nchannels,
			      &b->pins, &b->npins)))
		goto fail;
done:
	*out = b;
	return 0;
fail:
	binding_free(b);
	return rc;
}

struct binding *binding_get(struct binding *b)
{
	int old = atomic_fetch_add(&b->refs, 1);
	assert(old > 0);
	(void)old;
	return b;
}

void binding_put(struct binding *b)
{
	if (!b)
		return;
	int old = atomic_fetch_sub(&b->refs, 1);
	assert(old > 0);
	if (old == 1)
		binding_free(b);
}

void binding_retire(struct binding *b)
{
	for (size_t i = 0; i < b->nchannels; i++)
		logfile_retire(&b->channels[i].log);
}

struct channel *binding_channel(struct binding *b, const char *name)
{
	for (size_t i = 0; i < b->nchannels; i++)
		if (!strcmp(b->channels[i].cfg->name, name))
			return &b->channels[i];
	return NULL;
}

struct pin *binding_pin(struct binding *b, const char *name)
{
	for (size_t i = 0; i < b->npins; i++)
		if (!strcmp(b->pins[i].cfg->name, name))
			return &b->pins[i];
	return NULL;
}
