/* run.c - runs: their lifetime, their process and its watches (see
 * run.h).
 *
 * Lifetimes: a run is freed when its last reference goes; a watch's
 * callback that removes its own watch (the exit callback) holds a
 * reference for its whole duration, since a thread closing the run no
 * longer waits for a watch that is gone. The owner hears of the free
 * (run_owner.freed), so what a callback reaches through the run (its
 * log, channels) stays valid as long as the run does.
 */
#include "run.h"

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "binding.h"
#include "channel.h"
#include "clock.h"
#include "config.h"
#include "connector.h"
#include "emulator.h"
#include "ioloop.h"
#include "launcher.h"
#include "logfile.h"

struct run *run_new(const struct run_init *in)
{
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->name = strdup(in->name);
	r->dir = strdup(in->dir);
	r->image = in->image ? strdup(in->image) : NULL;
	r->snapshot = in->snapshot ? strdup(in->snapshot) : NULL;
	if (!r->name || !r->dir || (in->image && !r->image) ||
	    (in->snapshot && !r->snapshot)) {
		free(r->name);
		free(r->dir);
		free(r->image);
		free(r->snapshot);
		free(r);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	r->inst = in->owner;
	r->owner = in->ops;
	r->conn = in->conn;
	r->launcher = in->launcher;
	r->target = in->target;
	r->timeout_ms = in->timeout_ms;
	r->loop = in->loop;
	r->log = in->log;
	r->events = in->events;
	r->trace = in->trace;
	tracepipe_init(&r->tracepipe, in->trace);
	r->binding = binding_get(in->binding);
	r->channels = r->binding->channels;
	r->nchannels = r->binding->nchannels;
	r->proc.pid = -1;
	r->proc.pidfd = r->proc.outfd = -1;
	atomic_init(&r->proc.ended, -1);
	r->found_running = -1;
	pthread_mutex_init(&r->lock, NULL);
	clock_cond_init(&r->cond);
	return r;
}

struct run *run_get(struct run *r)
{
	int old = atomic_fetch_add(&r->refs, 1);
	assert(old > 0);
	(void)old;
	return r;
}

void run_put(struct run *r)
{
	if (!r)
		return;
	int old = atomic_fetch_sub(&r->refs, 1);
	assert(old > 0);
	if (old != 1)
		return;
	struct instance *owner = r->inst;
	const struct run_owner *ops = r->owner;
	if (r->conn->release)
		r->conn->release(r);
	r->launcher->release(&r->proc);
	tracepipe_close(&r->tracepipe);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	binding_put(r->binding);     /* before freed(): it points into owner */
	free(r->name);
	free(r->dir);
	free(r->image);
	free(r->snapshot);
	free(r);
	ops->freed(owner);
	/* Give the run's memory back to the system: a run may have held
	 * megabytes (a paused guest's input backlog, QOM listings, event
	 * batches), and glibc keeps freed pages resident wherever a live
	 * block sits above them (the soak: RSS 20-40 % up after the load
	 * without this, 1.5 % with it). Once per run, cheap. */
	malloc_trim(0);
}

/* ---- the process's output and end ---------------------------------- */

/* n bytes of the process's output: into `log`, and its end kept. */
static void take_output(struct run *r, const char *buf, size_t n)
{
	logfile_append(r->log, buf, n);
	pthread_mutex_lock(&r->lock);
	if (n >= RUN_TAIL_MAX) {
		memcpy(r->tail, buf + n - RUN_TAIL_MAX, RUN_TAIL_MAX);
		r->tail_len = RUN_TAIL_MAX;
	} else {
		size_t keep = r->tail_len + n > RUN_TAIL_MAX
			      ? RUN_TAIL_MAX - n : r->tail_len;
		memmove(r->tail, r->tail + r->tail_len - keep, keep);
		memcpy(r->tail + keep, buf, n);
		r->tail_len = keep + n;
	}
	pthread_mutex_unlock(&r->lock);
}

static void drain_output(struct run *r)
{
	char buf[16384];
	ssize_t n;
	if (r->proc.outfd < 0)
		return;
	while ((n = read(r->proc.outfd, buf, sizeof buf)) > 0)
		take_output(r, buf, n);
}

static void on_output(void *opaque, uint32_t events)
{
	/* Held while we run: once we took our watch at EOF, a thread
	 * finishing the run no longer waits for us, and must not close
	 * the fd (process_release) while ioloop_remove still uses it. */
	struct run *r = run_get(opaque);
	char buf[16384];
	ssize_t n = read(r->proc.outfd, buf, sizeof buf);
	if (n > 0)
		take_output(r, buf, n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		ioloop_remove(atomic_exchange(&r->out_watch, NULL));
	run_put(r);
}

void run_finish_output(struct run *r)
{
	/* On return the loop's callback is not running: the drain below
	 * is the only reader, so the output stays in order. */
	ioloop_remove(atomic_exchange(&r->out_watch, NULL));
	drain_output(r);
}

void run_last_lines(const char *s, size_t n, int nlines, char *out,
		    size_t outlen)
{
	/* Back from the end over nlines non-empty lines. */
	size_t start = n;
	int found = 0;
	while (found < nlines) {
		while (start && (s[start - 1] == '\n' || s[start - 1] == '\r'))
			start--;
		if (!start)
			break;
		while (start && s[start - 1] != '\n' && s[start - 1] != '\r')
			start--;
		found++;
	}
	/* Forward, joining them with "; ". */
	size_t o = 0;
	if (outlen)
		out[0] = '\0';
	for (size_t i = start; i < n && o + 1 < outlen;) {
		size_t e = i;
		while (e < n && s[e] != '\n' && s[e] != '\r')
			e++;
		if (e > i) {
			int w = snprintf(out + o, outlen - o, "%s%.*s",
					 o ? "; " : "", (int)(e - i), s + i);
			o = w < 0 ? o : o + (size_t)w >= outlen ? outlen - 1
								: o + w;
		}
		i = e + 1;
	}
}

void run_last_output(struct run *r, char *buf, size_t len)
{
	pthread_mutex_lock(&r->lock);
	run_last_lines(r->tail, r->tail_len, RUN_QUOTE_LINES, buf, len);
	pthread_mutex_unlock(&r->lock);
}

bool run_exited(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	bool e = r->exited;
	pthread_mutex_unlock(&r->lock);
	return e;
}

int run_wait_exit(struct run *r, int timeout_ms)
{
	struct timespec dl = clock_deadline(timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	while (!r->exited && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&r->cond, &r->lock, &dl);
	bool e = r->exited;
	pthread_mutex_unlock(&r->lock);
	return e ? 0 : -ETIMEDOUT;
}

static void on_exit_cb(void *opaque, uint32_t events)
{
	struct run *r = opaque;
	int ws = 0;
	if (run_exited(r) || r->launcher->reap(&r->proc, &ws) == 0) {
		if (run_exited(r))     /* woke before its watch was stored */
			ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
		return;
	}
	/* Once our watch is gone, a thread closing the run no longer
	 * waits for this callback: hold the run (and so its owner) until
	 * we return. The watch still exists here, so the run does. */
	run_get(r);
	/* A reaped pidfd reports EPOLLHUP for ever: stop watching. */
	ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
	pthread_mutex_lock(&r->lock);
	r->exited = true;
	r->wstatus = ws;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	r->owner->exited(r);
	run_put(r);
}

/* argv behind the target's launcher prefix (srun ... --), or argv
 * itself without one: NULL-terminated, the strings not copied; free()
 * the array alone. NULL when out of memory. */
static char **with_prefix(const struct cfg_target *t, char *const argv[])
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = calloc(t->nlauncher + n + 1, sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < t->nlauncher; i++)
		v[i] = t->launcher[i];
	memcpy(v + t->nlauncher, argv, n * sizeof *v);
	return v;
}

/* A launcher without a process (launch_attach.c): only its end is
 * watched; there is no output. */
static int spawn_attachment(struct run *r, char *why, size_t whylen)
{
	int rc = r->launcher->spawn(r->loop, NULL, NULL, &r->proc, why,
				    whylen);
	if (rc)
		return rc;
	atomic_store(&r->pid_watch, ioloop_add(r->loop, r->proc.pidfd,
					       EPOLLIN, on_exit_cb, r));
	if (!r->pid_watch) {
		snprintf(why, whylen, "cannot watch the attachment");
		return -EIO;
	}
	return 0;
}

int run_spawn(struct run *r, char *const argv[], char *const env[],
	      char *why, size_t whylen)
{
	/* The launcher's process is the one emufs signals and reaps: its
	 * end is the emulator's (interface.md 6). */
	const struct cfg_target *t = r->target;
	char *prog = NULL;
	if (!r->launcher->owns_process)
		return spawn_attachment(r, why, whylen);
	if (t->launcher && !(prog = process_find_binary(t->launcher[0]))) {
		snprintf(why, whylen, "launcher %s: %s", t->launcher[0],
			 strerror(errno));
		return -EIO;
	}
	char **v = with_prefix(t, argv);
	if (!v) {
		free(prog);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (prog)
		v[0] = prog;
	int rc = r->launcher->spawn(r->loop, v, env, &r->proc, why, whylen);
	free(prog);
	free(v);
	if (rc)
		return rc;
	argv = r->target->launcher ? r->target->launcher : argv;
	r->pid = (int)r->proc.pid;
	run_log(r, "started %s (pid %d)", argv[0], r->pid);
	atomic_store(&r->out_watch, ioloop_add(r->loop, r->proc.outfd,
					       EPOLLIN, on_output, r));
	atomic_store(&r->pid_watch, ioloop_add(r->loop, r->proc.pidfd,
					       EPOLLIN, on_exit_cb, r));
	if (!r->out_watch || !r->pid_watch) {
		snprintf(why, whylen, "cannot watch the emulator");
		return -EIO;
	}
	return 0;
}

void run_close(struct run *r)
{
	/* No lock on the channels: the run's binding holds them, and which
	 * channels it has never changes (binding.h). */
	for (size_t i = 0; i < r->nchannels; i++)
		channel_detach(&r->channels[i]);
	if (r->conn->shutdown)
		r->conn->shutdown(r);
	/* props/ is empty from now on, whatever the emulator: what the
	 * adapter let the kernel keep of it goes. */
	run_props_changed(r);
	ioloop_remove(atomic_exchange(&r->pid_watch, NULL));
	run_finish_output(r);
	tracepipe_end(&r->tracepipe);   /* trace/log's run ends too */
}

/* ---- for connectors ------------------------------------------------ */

void run_signal(struct run *r, int sig)
{
	r->launcher->signal(&r->proc, sig);
}

int run_pid(struct run *r)
{
	return r->pid;
}

int run_exit_fd(struct run *r)
{
	return r->proc.pidfd;
}

void run_emulator_event(struct run *r, const char *line, const char *name)
{
	r->owner->event(r, line, name);
}

void run_props_changed(struct run *r)
{
	if (r->owner->props_changed)
		r->owner->props_changed(r);
}

void run_append_events(struct run *r, const char *lines, size_t len)
{
	logfile_append(r->events, lines, len);
}

bool run_live(struct run *r)
{
	return r->owner->live(r);
}

void run_log(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	logfile_vprintf_emufs(r->log, fmt, ap);
	va_end(ap);
}

const char *run_name(struct run *r)
{
	return r->name;
}

const char *run_dir(struct run *r)
{
	return r->dir;
}

struct ioloop *run_loop(struct run *r)
{
	return r->loop;
}

int run_attach_channel(struct run *r, size_t i, int fd, int wfd)
{
	if (i >= r->nchannels)
		return -EINVAL;
	return channel_attach(&r->channels[i], r->loop, fd, wfd,
			      r->target->emulator->serial_escape);
}

int run_attach_trace(struct run *r, const char *path)
{
	return tracepipe_open(&r->tracepipe, r->loop, path);
}

int run_follow_trace(struct run *r, const char *path, tracepipe_filter keep)
{
	return tracepipe_follow(&r->tracepipe, r->loop, path, keep);
}
