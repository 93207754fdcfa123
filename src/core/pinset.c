/* pinset.c - a target's pins: binding, levels, shim lines (see
 * pinset.h). */
#include "pinset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "config.h"
#include "hooks.h"
#include "logfile.h"
#include "pinwatch.h"
#include "shim.h"

/* A shim channel's parser: the channel's tap (channel.h) while bound. */
struct shim_binding {
	struct shim_parser parser;
	struct channel *channel;
	struct pin *pins;             /* the binding's, all of them */
	size_t npins;
	const struct pinset_env *env;
};

unsigned pinset_record(const struct pinset_env *env, struct pin *p,
		       int level)
{
	const struct core_hooks *h = env->hooks;
	pthread_mutex_lock(&p->lock);
	int old = atomic_exchange(&p->level, level);
	if (old != level && level >= 0 && h && h->pin_level)
		h->pin_level(p, level, h->opaque);
	/* Learning the level is no change: a qom pin's first sample is what
	 * it always was; a shim pin read as 0 until the guest spoke. */
	if (old < 0)
		old = p->cfg->backend == PIN_SHIM ? 0 : level;
	unsigned gen = atomic_load(&p->gen);
	if (old != level)
		atomic_store(&p->gen, ++gen);
	pthread_mutex_unlock(&p->lock);
	/* After the bump: a poll that armed before it sees the new gen or
	 * is on the list this wakes. */
	if (old != level && h && h->pin_changed)
		h->pin_changed(p, h->opaque);
	return gen;
}

/* From the I/O loop: a guest's "GPIO <pin> <level>" line. */
static void on_shim_level(void *opaque, int number, int level)
{
	struct shim_binding *b = opaque;
	for (size_t i = 0; i < b->npins; i++) {
		struct pin *p = &b->pins[i];
		if (p->shim == b->channel && p->cfg->pin == number)
			pinset_record(b->env, p, level);
	}
}

static void on_shim_bad(void *opaque, const char *line, size_t len)
{
	struct shim_binding *b = opaque;
	logfile_printf(b->env->log, "emufs: shim: ignored a line on %s that "
		       "is not \"GPIO <pin> <0|1>\": \"%.*s\" (%llu so far)",
		       b->channel->cfg->name, (int)(len > 60 ? 60 : len),
		       line, b->parser.bad);
}

static void on_output(void *opaque, const char *buf, size_t len)
{
	struct shim_binding *b = opaque;
	shim_feed(&b->parser, buf, len);
}

static struct channel *find_channel(struct channel *channels, size_t n,
				    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(channels[i].cfg->name, name))
			return &channels[i];
	return NULL;
}

int pinset_bind(const struct pinset_env *env, const struct cfg_target *t,
		struct channel *channels, size_t nchannels,
		struct pin **pins, size_t *npins)
{
	*pins = NULL;
	*npins = 0;
	if (!t->npins)
		return 0;
	struct pin *v = calloc(t->npins, sizeof *v);
	if (!v)
		return -ENOMEM;
	*pins = v;
	for (size_t i = 0; i < t->npins; i++) {
		struct pin *p = &v[i];
		p->cfg = &t->pins[i];
		pthread_mutex_init(&p->lock, NULL);
		atomic_init(&p->level, -1);
		*npins = i + 1;
		if (p->cfg->backend != PIN_SHIM)
			continue;
		p->shim = find_channel(channels, nchannels, p->cfg->channel);
		if (!p->shim)
			return -EINVAL;     /* config.c checked this */
		if (!p->shim->tap) {
			struct shim_binding *b = calloc(1, sizeof *b);
			if (!b)
				return -ENOMEM;
			b->channel = p->shim;
			b->pins = v;
			b->npins = t->npins;
			b->env = env;
			shim_init(&b->parser, on_shim_level, on_shim_bad, b);
			p->shim->tap_opaque = b;
			p->shim->tap = on_output;
		}
	}
	return 0;
}

void pinset_free(const struct pinset_env *env, struct pin *pins,
		 size_t npins, struct channel *channels, size_t nchannels)
{
	for (size_t i = 0; i < npins; i++) {
		int w = atomic_load(&pins[i].watchers);
		if (w && pins[i].cfg->backend != PIN_SHIM)
			pinwatch_count(env->watch, -w);
		pthread_mutex_destroy(&pins[i].lock);
	}
	free(pins);
	for (size_t i = 0; i < nchannels; i++) {
		if (channels[i].tap != on_output)
			continue;
		free(channels[i].tap_opaque);
		channels[i].tap = NULL;
		channels[i].tap_opaque = NULL;
	}
}

void pinset_new_run(struct pin *pins, size_t npins,
		    struct channel *channels, size_t nchannels)
{
	for (size_t i = 0; i < npins; i++)
		atomic_store(&pins[i].level, -1);
	for (size_t i = 0; i < nchannels; i++) {
		struct shim_binding *b = channels[i].tap == on_output
					 ? channels[i].tap_opaque : NULL;
		if (b)
			shim_init(&b->parser, on_shim_level, on_shim_bad, b);
	}
}
