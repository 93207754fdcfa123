/* pin.c - a pin file's operations through its instance (see pin.h). */
#include "pin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binding.h"
#include "channel.h"
#include "config.h"
#include "connector.h"
#include "instance.h"
#include "pinwatch.h"
#include "run.h"
#include "shim.h"

unsigned pin_update(struct instance *inst, struct pin *p, int level)
{
	return pinset_record(&inst->pinenv, p, level);
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

void pin_watch(struct instance *inst, struct pin *p, int delta)
{
	atomic_fetch_add(&p->watchers, delta);
	if (p->cfg->backend == PIN_SHIM)
		return;         /* shim levels arrive by themselves */
	pinwatch_count(inst->pinenv.watch, delta);
}

/* One question of a round: a watched pin of a running instance, asked
 * without waiting where the connector can (call), else already read. */
struct pin_question {
	struct instance *inst;
	struct run *r;            /* a reference */
	struct binding *b;        /* a reference: keeps p alive */
	struct pin *p;
	void *call;
};

/* The watched pins of inst's run, asked (the questions appended to *qs)
 * or, without pin_get_begin, read now. -ENOMEM. */
static int ask_instance(struct instance *inst, struct pin_question **qs,
			size_t *n, size_t *cap)
{
	struct run *r = instance_get_run(inst);
	if (!r)
		return 0;
	/* A reference across the round trips keeps the pins alive whatever
	 * happens to the target meanwhile (it changes only while stopped). */
	struct binding *b = instance_binding(inst);
	int rc = 0;
	for (size_t i = 0; i < b->npins && r->conn->pin_get && !rc; i++) {
		struct pin *p = &b->pins[i];
		int level;
		if (p->cfg->backend == PIN_SHIM || !atomic_load(&p->watchers))
			continue;
		if (!r->conn->pin_get_begin) {
			if (r->conn->pin_get(r, p->cfg, &level) == 0)
				pin_update(inst, p, level);
			continue;
		}
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 16;
			struct pin_question *m = realloc(*qs, c * sizeof *m);
			if (!m) {
				rc = -ENOMEM;
				break;
			}
			*qs = m;
			*cap = c;
		}
		void *call = r->conn->pin_get_begin(r, p->cfg);
		if (!call) {
			rc = -ENOMEM;
			break;
		}
		(*qs)[(*n)++] = (struct pin_question){
			inst, run_get(r), binding_get(b), p, call };
	}
	binding_put(b);
	run_put(r);
	return rc;
}

/* The profile of the watcher's rounds (EMUFS_PIN_PROFILE=FILE, for
 * bench/pinwake.c and docs/performance.md): a line per round, "round
 * START SENT DONE QUESTIONS", and one per change seen, "change T
 * INSTANCE", in microseconds of CLOCK_MONOTONIC (the bench's clock).
 * Only the watcher thread writes it. */
static FILE *prof;
static pthread_once_t prof_once = PTHREAD_ONCE_INIT;

static void prof_open(void)
{
	const char *path = getenv("EMUFS_PIN_PROFILE");
	prof = path && *path ? fopen(path, "w") : NULL;
}

static double prof_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void pins_poll(struct instance **v, size_t ninst)
{
	struct pin_question *qs = NULL;
	size_t n = 0, cap = 0;
	pthread_once(&prof_once, prof_open);
	double t_start = prof ? prof_now_us() : 0, t_sent = 0;
	/* Every question out first, then every answer: the round costs the
	 * slowest reply. Out of memory, the round goes on with what was
	 * asked; the next one asks again. */
	for (size_t i = 0; i < ninst; i++)
		if (ask_instance(v[i], &qs, &n, &cap))
			break;
	if (prof)
		t_sent = prof_now_us();
	for (size_t i = 0; i < n; i++) {
		struct pin_question *q = &qs[i];
		int level;
		unsigned gen = atomic_load(&q->p->gen);
		if (q->r->conn->pin_get_end(q->r, q->p->cfg, q->call,
					    &level) == 0 &&
		    pin_update(q->inst, q->p, level) != gen && prof)
			fprintf(prof, "change %.0f %s\n", prof_now_us(),
				q->inst->name);
		binding_put(q->b);
		run_put(q->r);
	}
	free(qs);
	if (prof) {
		fprintf(prof, "round %.0f %.0f %.0f %zu\n", t_start, t_sent,
			prof_now_us(), n);
		fflush(prof);
	}
}
