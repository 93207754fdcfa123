/* workers.c - the threads that serve the FUSE session (workers.h).
 *
 * Why not libfuse's fuse_session_loop_mt(): in 3.14 its end loses
 * requests. Once the session is marked exited, a worker that has just
 * read a request from /dev/fuse drops it (fuse_session_receive_buf_int
 * returns 0 when fuse_session_exited(), and fuse_do_work returns when
 * mt->exit is set), and the kernel aborts it at unmount: the process
 * that sent it sees ECONNABORTED. A SIGTERM that arrives while a
 * thousand follow/ readers close lost a few of their FLUSHes that way.
 * Here a worker always finishes the request it read: the pool is told to
 * stop by its own flag, never by fuse_session_exit(), and a worker
 * blocked in read(2) is woken by a signal (WORKERS_WAKE_SIGNAL, whose
 * handler does nothing and is installed without SA_RESTART, so the read
 * fails with EINTR without taking a request).
 *
 * The pool grows like libfuse's: when the last idle worker takes a
 * request, another starts (up to WORKERS_MAX); a worker that finds more
 * than WORKERS_IDLE others idle after its request ends, so one burst
 * does not keep its threads and their stacks for the mount's life.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#include "workers.h"

#define WORKERS_MAX 64
#define WORKERS_IDLE 4
/* How often a stopping pool signals the workers still blocked in read(2):
 * a signal that came just before a worker entered read(2) woke nobody. */
#define WORKERS_WAKE_EVERY_MS 10

struct worker {
	pthread_t thread;
	struct worker *next;
	bool reading;            /* in (or about to enter) read(2): the
				  * one place a wake signal may reach it,
				  * so no handler's syscall sees EINTR */
	bool done;               /* it returned: join it */
};

static struct {
	struct fuse_session *se;
	/* Protects every field below; held only between requests. */
	pthread_mutex_t lock;
	pthread_cond_t changed;  /* a worker ended, or the session did
				  * (clock_cond_init: monotonic) */
	struct worker *all;
	int count, idle;
	bool stopping;
	int error;               /* a read error that ended the session */
	void (*ended)(void);     /* told when the session ends by itself */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *work(void *arg);

/* Called with pool.lock held. 0 or -errno. */
static int start_worker_locked(void)
{
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	int err = pthread_create(&w->thread, NULL, work, w);
	if (err) {
		free(w);
		return -err;
	}
	w->next = pool.all;
	pool.all = w;
	pool.count++;
	pool.idle++;
	return 0;
}

/* Called with pool.lock held: w is off the list. */
static void unlink_locked(struct worker *w)
{
	struct worker **pp = &pool.all;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
}

/* Called with pool.lock held: the worker is leaving at the end. */
static void leave_locked(struct worker *w)
{
	pool.count--;
	pool.idle--;
	w->done = true;
	pthread_cond_broadcast(&pool.changed);
}


static void *work(void *arg)
{
	struct worker *w = arg;
	struct fuse_buf buf = { 0 };

	for (;;) {
		pthread_mutex_lock(&pool.lock);
		w->reading = !pool.stopping;
		pthread_mutex_unlock(&pool.lock);
		if (!w->reading)
			break;
		int res = fuse_session_receive_buf(pool.se, &buf);

		pthread_mutex_lock(&pool.lock);
		w->reading = false;
		if (res <= 0 && res != -EINTR && res != -ENOENT) {
			/* 0: unmounted (ENODEV); else an error. Either way
			 * the session is over for every worker. ECONNABORTED
			 * is the kernel ending the connection too: its read
			 * gives that when it took a request off its queue
			 * just as the unmount shut the connection
			 * (fuse_dev_do_read; at a lazy unmount, a RELEASE of
			 * the last closes), or when someone aborted it in
			 * /sys/fs/fuse/connections; not a failure of emufs. */
			if (res < 0 && res != -ECONNABORTED && !pool.error) {
				pool.error = res;
				fprintf(stderr, "emufs: reading the FUSE "
					"device: %s: the session ends\n",
					strerror(-res));
			}
			if (!pool.stopping && pool.ended)
				pool.ended();
			pool.stopping = true;
			pthread_cond_broadcast(&pool.changed);
		}
		if (res <= 0) {
			pthread_mutex_unlock(&pool.lock);
			continue;    /* EINTR: the loop's head sees stopping */
		}
		if (--pool.idle == 0 && pool.count < WORKERS_MAX)
			start_worker_locked();   /* none to spare: best effort */
		pthread_mutex_unlock(&pool.lock);

		/* Whatever happens meanwhile, this request is answered. */
		fuse_session_process_buf(pool.se, &buf);

		pthread_mutex_lock(&pool.lock);
		pool.idle++;
		if (!pool.stopping && pool.idle > WORKERS_IDLE) {
			/* One too many waiting: leave, as nobody's to join. */
			unlink_locked(w);
			pool.count--;
			pool.idle--;
			pthread_detach(w->thread);
			pthread_mutex_unlock(&pool.lock);
			free(w);
			free(buf.mem);
			return NULL;
		}
		pthread_mutex_unlock(&pool.lock);
	}
	pthread_mutex_lock(&pool.lock);
	leave_locked(w);
	pthread_mutex_unlock(&pool.lock);
	free(buf.mem);
	return NULL;
}

static void on_wake(int sig)
{
	(void)sig;
}

/* Join the workers that left at the end. Called with pool.lock held;
 * joining one that left does not wait for the lock. */
static void reap_locked(void)
{
	struct worker **pp = &pool.all;
	while (*pp) {
		struct worker *w = *pp;
		if (w->done) {
			*pp = w->next;
			pthread_join(w->thread, NULL);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

int workers_start(struct fuse_session *se, void (*ended)(void))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_wake;     /* no SA_RESTART: read(2) gets EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(WORKERS_WAKE_SIGNAL, &sa, NULL))
		return -errno;
	if (clock_cond_init(&pool.changed))
		return -ENOMEM;
	pool.se = se;
	pool.ended = ended;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = false;
	pool.error = 0;
	int err = start_worker_locked();
	pthread_mutex_unlock(&pool.lock);
	return err;
}

bool workers_wait(int ms)
{
	struct timespec dl = clock_deadline(ms);
	pthread_mutex_lock(&pool.lock);
	while (!pool.stopping &&
	       pthread_cond_timedwait(&pool.changed, &pool.lock, &dl) == 0)
		;
	bool over = pool.stopping;
	pthread_mutex_unlock(&pool.lock);
	return over;
}

int workers_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	while (pool.all) {
		reap_locked();
		for (struct worker *w = pool.all; w; w = w->next)
			if (w->reading)
				pthread_kill(w->thread, WORKERS_WAKE_SIGNAL);
		if (!pool.all)
			break;
		/* Each wakes from read(2), or finishes its request, and
		 * leaves; a worker that missed the signal gets the next. */
		struct timespec dl = clock_deadline(WORKERS_WAKE_EVERY_MS);
		pthread_cond_timedwait(&pool.changed, &pool.lock, &dl);
	}
	int err = pool.error;
	pthread_mutex_unlock(&pool.lock);
	return err;
}
