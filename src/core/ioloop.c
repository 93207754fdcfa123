/* ioloop.c - the core's one epoll thread (see ioloop.h).
 *
 * Removal while another thread may be dispatching is the subtle part. The
 * loop dispatches a batch of events with dispatch_lock held; a remover
 * takes the same lock, so when ioloop_remove() returns no callback for the
 * watch runs. The watch is only marked dead then and freed by the loop at
 * the top of a later iteration, because the batch epoll_wait() returned
 * may still name it.
 */
#include "ioloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct io_watch {
	struct ioloop *loop;
	int fd;
	bool owns_fd;        /* timers own their timerfd */
	bool ignored;        /* off epoll (ioloop_ignore); the watch's
			      * owner serializes modify and ignore */
	bool dead;           /* protected by loop->dispatch_lock */
	io_fn fn;
	void *opaque;
	struct io_watch *next_dead;  /* protected by loop->dispatch_lock */
};

struct call {
	void (*fn)(void *);
	void *opaque;
	bool done;           /* protected by loop->call_lock */
	struct call *next;
};

struct ioloop {
	int epfd;
	int wakefd;                  /* eventfd: calls queued, or stop */
	pthread_t thread;
	bool started;
	bool stopping;               /* protected by call_lock */
	pthread_mutex_t dispatch_lock;   /* held while callbacks run; guards
					  * watch->dead and the dead list */
	struct io_watch *dead;
	pthread_mutex_t call_lock;       /* protects calls, stopping, done */
	pthread_cond_t call_done;
	struct call *calls;
	struct io_soon *soon;            /* ioloop_soon's: loop thread only */
};

static _Thread_local const struct ioloop *current_loop;
bool ioloop_in_loop(const struct ioloop *loop)
{
	return current_loop == loop;
}

static void run_calls(struct ioloop *loop)
{
	uint64_t n;
	if (read(loop->wakefd, &n, sizeof n) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&loop->call_lock);
	while (loop->calls) {
		struct call *c = loop->calls;
		loop->calls = c->next;
		pthread_mutex_unlock(&loop->call_lock);
		c->fn(c->opaque);
		pthread_mutex_lock(&loop->call_lock);
		c->done = true;
		pthread_cond_broadcast(&loop->call_done);
	}
	pthread_mutex_unlock(&loop->call_lock);
}

/* Run what ioloop_soon queued during the batch, each once; what they
 * queue runs after the next batch (epoll_wait does not block then). */
static void run_soon(struct ioloop *loop)
{
	struct io_soon *list = loop->soon;
	loop->soon = NULL;
	while (list) {
		struct io_soon *s = list;
		list = s->next;
		s->queued = false;
		s->fn(s->opaque, 0);
	}
}

static void free_dead(struct ioloop *loop)
{
	pthread_mutex_lock(&loop->dispatch_lock);
	while (loop->dead) {
		struct io_watch *w = loop->dead;
		loop->dead = w->next_dead;
		if (w->owns_fd)
			close(w->fd);
		free(w);
	}
	pthread_mutex_unlock(&loop->dispatch_lock);
}

static void *loop_main(void *arg)
{
	struct ioloop *loop = arg;
	struct epoll_event evs[64];
	current_loop = loop;

	for (;;) {
		free_dead(loop);
		pthread_mutex_lock(&loop->call_lock);
		bool stop = loop->stopping && !loop->calls;
		pthread_mutex_unlock(&loop->call_lock);
		if (stop)
			break;
		int n = epoll_wait(loop->epfd, evs, 64,
				   loop->soon ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pthread_mutex_lock(&loop->dispatch_lock);
		for (int i = 0; i < n; i++) {
			struct io_watch *w = evs[i].data.ptr;
			if (!w) {
				pthread_mutex_unlock(&loop->dispatch_lock);
				run_calls(loop);
				pthread_mutex_lock(&loop->dispatch_lock);
				continue;
			}
			if (w->dead)
				continue;
			if (w->owns_fd) {    /* timer: consume expirations */
				uint64_t x;
				if (read(w->fd, &x, sizeof x) < 0)
					continue;
			}
			w->fn(w->opaque, evs[i].events);
		}
		run_soon(loop);
		pthread_mutex_unlock(&loop->dispatch_lock);
	}
	free_dead(loop);
	return NULL;
}

struct ioloop *ioloop_new(void)
{
	struct ioloop *loop = calloc(1, sizeof *loop);
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wakefd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
		goto fail;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	/* A callback may remove its own (or another) watch. */
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&loop->dispatch_lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&loop->call_lock, NULL);
	pthread_cond_init(&loop->call_done, NULL);
	return loop;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop);
	return NULL;
}

int ioloop_start(struct ioloop *loop)
{
	loop->started = true;
	int rc = pthread_create(&loop->thread, NULL, loop_main, loop);
	if (rc) {
		loop->started = false;
		return -rc;
	}
	return 0;
}

static void wake(struct ioloop *loop)
{
	uint64_t one = 1;
	(void)!write(loop->wakefd, &one, sizeof one);
}

void ioloop_free(struct ioloop *loop)
{
	if (!loop)
		return;
	if (loop->started) {
		pthread_mutex_lock(&loop->call_lock);
		loop->stopping = true;
		pthread_mutex_unlock(&loop->call_lock);
		wake(loop);
		pthread_join(loop->thread, NULL);
	}
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->dispatch_lock);
	pthread_mutex_destroy(&loop->call_lock);
	pthread_cond_destroy(&loop->call_done);
	free(loop);
}

static struct io_watch *add(struct ioloop *loop, int fd, bool owns,
			    uint32_t events, io_fn fn, void *opaque)
{
	struct io_watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	*w = (struct io_watch){ .loop = loop, .fd = fd, .owns_fd = owns,
				.fn = fn, .opaque = opaque };
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;       /* the caller's reason, not free()'s */
		free(w);
		errno = e;
		return NULL;
	}
	return w;
}

struct io_watch *ioloop_add(struct ioloop *loop, int fd, uint32_t events,
			    io_fn fn, void *opaque)
{
	return add(loop, fd, false, events, fn, opaque);
}

int ioloop_modify(struct io_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (!w->ignored)
		return epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0
			? -errno : 0;
	/* Back on epoll. No loop lock here: callers hold their own (a
	 * channel's), which callbacks take inside the dispatch. */
	if (epoll_ctl(w->loop->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	w->ignored = false;
	return 0;
}

int ioloop_ignore(struct io_watch *w)
{
	if (w->ignored)
		return 0;
	if (epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL) == 0) {
		w->ignored = true;
		return 0;
	}
	return ioloop_modify(w, 0);   /* on epoll still, asking nothing */
}

void ioloop_remove(struct io_watch *w)
{
	if (!w)
		return;
	struct ioloop *loop = w->loop;
	pthread_mutex_lock(&loop->dispatch_lock);
	/* Under the lock: a callback running now may still put an ignored
	 * watch back (the trace FIFO's rest ends on the loop while another
	 * thread ends the run); once it returned, this takes it off for
	 * good. ENOENT if it is ignored. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	w->next_dead = loop->dead;
	loop->dead = w;
	pthread_mutex_unlock(&loop->dispatch_lock);
	if (!loop->started)
		free_dead(loop);
}

struct io_watch *ioloop_add_timer(struct ioloop *loop, int first_ms,
				  int period_ms, io_fn fn, void *opaque)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct itimerspec its = {
		.it_value = { first_ms / 1000, (first_ms % 1000) * 1000000L },
		.it_interval = { period_ms / 1000,
				 (period_ms % 1000) * 1000000L },
	};
	if (first_ms == 0)
		its.it_value.tv_nsec = 1;
	if (first_ms < 0)
		its.it_value = (struct timespec){ 0, 0 };
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return NULL;
	}
	struct io_watch *w = add(loop, fd, true, EPOLLIN, fn, opaque);
	if (!w)
		close(fd);
	return w;
}

void ioloop_soon(struct ioloop *loop, struct io_soon *s)
{
	if (s->queued)
		return;
	s->queued = true;
	s->next = loop->soon;
	loop->soon = s;
}

void ioloop_call(struct ioloop *loop, void (*fn)(void *), void *opaque)
{
	if (!loop->started || ioloop_in_loop(loop)) {
		fn(opaque);
		return;
	}
	struct call c = { .fn = fn, .opaque = opaque };
	pthread_mutex_lock(&loop->call_lock);
	struct call **tail = &loop->calls;
	while (*tail)
		tail = &(*tail)->next;
	*tail = &c;
	wake(loop);
	while (!c.done)
		pthread_cond_wait(&loop->call_done, &loop->call_lock);
	pthread_mutex_unlock(&loop->call_lock);
}

int ioloop_timer_arm_us(struct io_watch *w, long us)
{
	struct itimerspec its = {
		.it_value = { us / 1000000, (us % 1000000) * 1000L + (us ? 0 : 1) },
	};
	return timerfd_settime(w->fd, 0, &its, NULL) < 0 ? -errno : 0;
}
