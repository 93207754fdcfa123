/* pin.c - GPIO pins (see pin.h): levels, the shim backend, and the pin
 * watcher thread.
 *
 * Why a watcher thread and not the I/O loop: a qom-get waits for its reply,
 * which the I/O loop itself reads, so the loop cannot ask. One thread for
 * all instances polls every PINWATCH_INTERVAL_MS while any qom/renode pin
 * file is open (each poll of a pin is one QMP round trip, ~0.3 ms) and
 * sleeps on a condition variable otherwise: no load when nobody watches.
 * Every 15 ms keeps a change's wake-up near 8 ms on average and under
 * 20 ms nearly always, well inside the contract's 50 ms, for about 2% of
 * a core per watched pin.
 */
#include "pin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "connector.h"
#include "core.h"
#include "instance.h"

/* ---- binding ------------------------------------------------------- */

static struct channel *find_channel(struct instance *inst, const char *name)
{
	for (size_t i = 0; i < inst->nchannels; i++)
		if (!strcmp(inst->channels[i].cfg->name, name))
			return &inst->channels[i];
	return NULL;
}

/* From the I/O loop: a guest's "GPIO <pin> <level>" line. */
static void on_shim_level(void *opaque, int number, int level)
{
	struct shim_binding *b = opaque;
	struct instance *inst = b->inst;
	for (size_t i = 0; i < inst->npins; i++) {
		struct pin *p = &inst->pins[i];
		if (p->shim == b->channel && p->cfg->pin == number)
			pin_update(inst, p, level);
	}
}

static void on_shim_bad(void *opaque, const char *line, size_t len)
{
	struct shim_binding *b = opaque;
	instance_log(b->inst, "shim: ignored a line on %s that is not "
		     "\"GPIO <pin> <0|1>\": \"%.*s\" (%llu so far)",
		     b->channel->cfg->name, (int)(len > 60 ? 60 : len), line,
		     b->parser.bad);
}

int pins_bind(struct instance *inst)
{
	const struct cfg_target *t = inst->target;
	if (!t->npins)
		return 0;
	inst->pins = calloc(t->npins, sizeof *inst->pins);
	if (!inst->pins)
		return -ENOMEM;
	for (size_t i = 0; i < t->npins; i++) {
		struct pin *p = &inst->pins[i];
		p->cfg = &t->pins[i];
		pthread_mutex_init(&p->lock, NULL);
		atomic_init(&p->level, -1);
		if (p->cfg->backend != PIN_SHIM)
			continue;
		p->shim = find_channel(inst, p->cfg->channel);
		if (!p->shim)
			return -EINVAL;     /* config.c checked this */
		if (!p->shim->shim) {
			struct shim_binding *b = calloc(1, sizeof *b);
			if (!b)
				return -ENOMEM;
			b->inst = inst;
			b->channel = p->shim;
			shim_init(&b->parser, on_shim_level, on_shim_bad, b);
			p->shim->shim = b;
		}
	}
	inst->npins = t->npins;
	return 0;
}

void pins_free(struct instance *inst)
{
	for (size_t i = 0; i < inst->npins; i++) {
		int w = atomic_load(&inst->pins[i].watchers);
		if (w && inst->pins[i].cfg->backend != PIN_SHIM)
			pin_watch(inst, &inst->pins[i], -w);
		pthread_mutex_destroy(&inst->pins[i].lock);
	}
	free(inst->pins);
	inst->pins = NULL;
	inst->npins = 0;
}

void pins_new_run(struct instance *inst)
{
	pthread_rwlock_rdlock(&inst->tlock);
	for (size_t i = 0; i < inst->npins; i++)
		atomic_store(&inst->pins[i].level, -1);
	for (size_t i = 0; i < inst->nchannels; i++) {
		struct shim_binding *b = inst->channels[i].shim;
		if (b)
			shim_init(&b->parser, on_shim_level, on_shim_bad, b);
	}
	pthread_rwlock_unlock(&inst->tlock);
}

struct pin *instance_lock_pin(struct instance *inst, const char *name)
{
	pthread_rwlock_rdlock(&inst->tlock);
	for (size_t i = 0; i < inst->npins; i++)
		if (!strcmp(inst->pins[i].cfg->name, name))
			return &inst->pins[i];
	pthread_rwlock_unlock(&inst->tlock);
	return NULL;
}

/* ---- levels -------------------------------------------------------- */

unsigned pin_update(struct instance *inst, struct pin *p, int level)
{
	pthread_mutex_lock(&p->lock);
	int old = atomic_exchange(&p->level, level);
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
	const struct core_hooks *h = &inst->core->hooks;
	if (old != level && h->pin_changed)
		h->pin_changed(p, h->opaque);
	return gen;
}

int pin_read(struct instance *inst, struct pin *p, unsigned *gen)
{
	struct run *r = instance_get_run(inst);
	if (!r)
		return -ESRCH;
	int level, rc = 0;
	unsigned g = 0;
	if (p->cfg->backend == PIN_SHIM) {
		pthread_mutex_lock(&p->lock);
		level = atomic_load(&p->level);
		g = atomic_load(&p->gen);
		pthread_mutex_unlock(&p->lock);
		if (level < 0)
			level = 0;      /* nothing said yet: low */
	} else if (!r->conn->pin_get) {
		rc = -EIO;
	} else if ((rc = r->conn->pin_get(r, p->cfg, &level)) == 0) {
		g = pin_update(inst, p, level);
	}
	run_put(r);
	if (gen)
		*gen = g;
	return rc ? rc : level;
}

int pin_write(struct instance *inst, struct pin *p, const char *buf,
	      size_t len)
{
	const char *name = p->cfg->name;
	if (p->cfg->dir == PIN_OUT) {
		instance_log(inst, "write to gpio/%s refused: the guest drives "
			     "this pin (direction out)", name);
		return -EPERM;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len != 1 || (buf[0] != '0' && buf[0] != '1')) {
		instance_log(inst, "write to gpio/%s refused: expected 0 or 1",
			     name);
		return -EINVAL;
	}
	int level = buf[0] - '0';
	struct run *r = instance_get_run(inst);
	if (!r) {
		instance_log(inst, "write to gpio/%s refused: the instance is "
			     "%s", name,
			     inst_state_name(instance_state(inst)));
		return -ESRCH;
	}
	int rc;
	if (p->cfg->backend == PIN_SHIM) {
		char line[32];
		int n = shim_format_set(line, sizeof line, p->cfg->pin, level);
		ssize_t w = channel_write(p->shim, line, n);
		rc = w < 0 ? (int)w : 0;
		if (rc == 0)
			pin_update(inst, p, level);
	} else {
		rc = r->conn->pin_set ? r->conn->pin_set(r, p->cfg, level)
				      : -EIO;
	}
	run_put(r);
	if (rc)
		instance_log(inst, "write to gpio/%s failed: %s", name,
			     strerror(-rc));
	return rc;
}

/* ---- the watcher --------------------------------------------------- */

void pin_watch(struct instance *inst, struct pin *p, int delta)
{
	atomic_fetch_add(&p->watchers, delta);
	if (p->cfg->backend == PIN_SHIM)
		return;         /* shim levels arrive by themselves */
	struct pinwatch *w = &inst->core->pinwatch;
	pthread_mutex_lock(&w->lock);
	w->active += delta;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Poll every watched emulator-side pin of one instance. */
static void poll_instance(struct instance *inst)
{
	struct run *r = instance_get_run(inst);
	if (!r)
		return;
	/* tlock (read) across the round trips: its writer only runs while
	 * the instance is stopped, and this one is running. */
	pthread_rwlock_rdlock(&inst->tlock);
	for (size_t i = 0; i < inst->npins && r->conn->pin_get; i++) {
		struct pin *p = &inst->pins[i];
		int level;
		if (p->cfg->backend == PIN_SHIM || !atomic_load(&p->watchers))
			continue;
		if (r->conn->pin_get(r, p->cfg, &level) == 0)
			pin_update(inst, p, level);
	}
	pthread_rwlock_unlock(&inst->tlock);
	run_put(r);
}

static void poll_all(struct core *core)
{
	pthread_mutex_lock(&core->lock);
	size_t n = core->ninst;
	struct instance **v = malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		v[i] = core->inst[i];
		v[i]->refs++;
	}
	pthread_mutex_unlock(&core->lock);
	for (size_t i = 0; v && i < n; i++) {
		poll_instance(v[i]);
		instance_put(v[i]);
	}
	free(v);
}

static void advance(struct timespec *t, int ms)
{
	t->tv_nsec += ms * 1000000L;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void *pinwatch_main(void *arg)
{
	struct core *core = arg;
	struct pinwatch *w = &core->pinwatch;

	/* A fixed rate: the next poll is due one interval after the last
	 * was due, not after it ended, so a slow round trip does not
	 * stretch the period. The first poll waits one interval too: the
	 * file that woke us has just read the level itself. */
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	advance(&due, PINWATCH_INTERVAL_MS);
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (w->active <= 0) {
			pthread_cond_wait(&w->cond, &w->lock);
			clock_gettime(CLOCK_MONOTONIC, &due);
			advance(&due, PINWATCH_INTERVAL_MS);
			continue;
		}
		while (!w->stop && w->active > 0 &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &due) == 0)
			;
		if (w->stop || w->active <= 0)
			continue;
		pthread_mutex_unlock(&w->lock);
		poll_all(core);
		pthread_mutex_lock(&w->lock);
		advance(&due, PINWATCH_INTERVAL_MS);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > due.tv_sec + 1)      /* far behind: catch up */
			due = now;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int pinwatch_start(struct core *core)
{
	struct pinwatch *w = &core->pinwatch;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, pinwatch_main, core))
		return -EAGAIN;
	w->started = true;
	return 0;
}

void pinwatch_stop(struct core *core)
{
	struct pinwatch *w = &core->pinwatch;
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}
