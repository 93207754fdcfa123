/* waiters.c - reads that wait, answered from the I/O loop (waiters.h).
 *
 * A parked read is a slot on fs->waiting. Who answers it is decided under
 * fs->follow_lock, once: the loop (it read again and found bytes, or end
 * of file), the interrupt callback (EINTR) or waiters_stop (end of file).
 * Whoever takes the slot off the list answers, after dropping the lock.
 *
 * Slots are never freed while the mount lives, only recycled: libfuse may
 * call the interrupt callback with a slot that was answered a moment ago
 * (it fetched the callback before the answer cleared it), so the slot
 * must still be memory, and it tells the late call apart by its request.
 * A request's memory outlives that callback (libfuse counts it), so no
 * new request can reuse the address while the late call looks.
 */
#include "waiters.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/ioloop.h"
#include "kinds.h"

enum waiter_state {
	W_REGISTERING,   /* the parker is telling libfuse of interrupts */
	W_PARKED,        /* on the list, nobody looking at it */
	W_CHECKING,      /* the loop is reading for it */
};

/* All fields are protected by fs->follow_lock. */
struct waiter {
	fuse_req_t req;           /* NULL: a spare slot */
	struct fh *fh;
	const void *watched;      /* what wakes it */
	size_t size;
	off_t off;
	enum waiter_state state;
	bool ready;               /* changed since it last looked */
	bool interrupted;         /* FUSE_INTERRUPT came while not parked */
	struct waiter *next, **prev;
	struct waiter *batch;     /* the loop's batch: loop thread only */
};

static void unlink_locked(struct waiter *w)
{
	*w->prev = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = NULL;
	w->prev = NULL;
}

/* Take w off the list and back to the spares; its request is the
 * caller's to answer. */
static fuse_req_t retire_locked(struct emufs_fs *fs, struct waiter *w)
{
	fuse_req_t req = w->req;
	unlink_locked(w);
	w->req = NULL;
	w->fh = NULL;
	w->next = fs->spare;
	fs->spare = w;
	return req;
}

void waiters_kick(struct emufs_fs *fs)
{
	/* From the loop itself (a channel's append, a check that must
	 * look again): one pass after the loop's current batch, however
	 * many appends it held, with no eventfd round trip. */
	if (fs->kick_soon.fn && ioloop_in_loop(fs->core->loop)) {
		ioloop_soon(fs->core->loop, &fs->kick_soon);
		return;
	}
	uint64_t one = 1;
	if (fs->kickfd >= 0)
		(void)!write(fs->kickfd, &one, sizeof one);
}

bool waiters_wake_locked(struct emufs_fs *fs, const void *what)
{
	bool any = false;
	fs->wake_seq++;         /* for a read about to park (waiters_seq) */
	for (struct waiter *w = fs->waiting; w; w = w->next) {
		if (w->watched == what) {
			w->ready = true;
			any = true;
		}
	}
	return any;
}

void waiters_wake(struct emufs_fs *fs, const void *what)
{
	pthread_mutex_lock(&fs->follow_lock);
	bool any = waiters_wake_locked(fs, what);
	pthread_mutex_unlock(&fs->follow_lock);
	if (any)
		waiters_kick(fs);
}

/* libfuse: the reader got a signal. Called with the request's own lock
 * held, never with ours. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;
	struct emufs_fs *fs = fuse_req_userdata(req);
	pthread_mutex_lock(&fs->follow_lock);
	if (w->req != req) {                  /* answered already */
		pthread_mutex_unlock(&fs->follow_lock);
		return;
	}
	if (w->state != W_PARKED) {           /* its owner answers */
		w->interrupted = true;
		pthread_mutex_unlock(&fs->follow_lock);
		return;
	}
	retire_locked(fs, w);
	pthread_mutex_unlock(&fs->follow_lock);
	fuse_reply_err(req, EINTR);
}

unsigned long waiters_seq(struct emufs_fs *fs)
{
	pthread_mutex_lock(&fs->follow_lock);
	unsigned long seq = fs->wake_seq;
	pthread_mutex_unlock(&fs->follow_lock);
	return seq;
}

void waiters_park(struct emufs_fs *fs, fuse_req_t req, struct fh *fh,
		  unsigned long seq, size_t size, off_t off)
{
	pthread_mutex_lock(&fs->follow_lock);
	if (fs->follow_stopped) {
		pthread_mutex_unlock(&fs->follow_lock);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	struct waiter *w = fs->spare;
	if (w)
		fs->spare = w->next;
	else if (!(w = calloc(1, sizeof *w))) {
		pthread_mutex_unlock(&fs->follow_lock);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*w = (struct waiter){ .req = req, .fh = fh, .size = size, .off = off,
			      .watched = fh->wait_on,
			      .state = W_REGISTERING };
	w->next = fs->waiting;
	if (w->next)
		w->next->prev = &w->next;
	fs->waiting = w;
	w->prev = &fs->waiting;
	pthread_mutex_unlock(&fs->follow_lock);

	/* Not under follow_lock: this takes the request's lock, and calls
	 * on_interrupt at once if the signal came already. */
	fuse_req_interrupt_func(req, on_interrupt, w);

	pthread_mutex_lock(&fs->follow_lock);
	bool interrupted = w->interrupted, ended = fs->follow_stopped;
	/* A change between the worker's read and the slot joining the list
	 * woke nobody: if any wake came since the worker took seq (before
	 * its read), the loop looks once more. One after the slot joined
	 * marked it ready and kicked the loop itself. Before, the loop
	 * looked for every park: with a follower of a stream, one more wake
	 * of the loop and read per chunk, for nothing (docs/performance.md,
	 * serial). */
	bool missed = fs->wake_seq != seq;
	if (interrupted || ended) {
		retire_locked(fs, w);
	} else {
		w->state = W_PARKED;
		w->ready |= missed;
	}
	bool kick = !interrupted && !ended && w->ready;
	pthread_mutex_unlock(&fs->follow_lock);
	if (interrupted)
		fuse_reply_err(req, EINTR);
	else if (ended)
		fuse_reply_buf(req, NULL, 0);
	else if (kick)
		waiters_kick(fs);
}

/* Test hook (tests/integration/test_follow_attack.sh):
 * EMUFS_TEST_FOLLOW_CHECK_DELAY_MS makes the loop linger between a read
 * that found bytes and its answer, where a signal to the reader lands
 * (on_interrupt marks the slot). Unset (0) in normal use; read once at
 * waiters_start, before the loop can run on_kick. */
static unsigned check_delay_ms;

/* Read again for w (W_CHECKING, so nobody else answers it); then answer
 * it, or park it again. Loop thread. Returns whether it must look
 * again (a change came while it read). */
static bool check(struct emufs_fs *fs, struct waiter *w)
{
	char *buf = malloc(w->size ? w->size : 1);
	ssize_t r = buf ? kind_of(&w->fh->node)->read(w->fh, buf, w->size,
						      w->off)
			: -ENOMEM;
	if (check_delay_ms && r > 0)
		nanosleep(&(struct timespec){ check_delay_ms / 1000,
					      check_delay_ms % 1000 * 1000000L },
			  NULL);
	pthread_mutex_lock(&fs->follow_lock);
	if (r == -EAGAIN && !w->interrupted && !fs->follow_stopped) {
		w->state = W_PARKED;
		bool again = w->ready;
		pthread_mutex_unlock(&fs->follow_lock);
		free(buf);
		return again;
	}
	/* A signal that came while it read ends the wait only if the read
	 * found nothing: the bytes it took (a line file's values leave
	 * their queue) go to the reader, whose read then returns them. */
	bool interrupted = w->interrupted && r == -EAGAIN;
	fuse_req_t req = retire_locked(fs, w);
	pthread_mutex_unlock(&fs->follow_lock);
	if (interrupted)
		fuse_reply_err(req, EINTR);
	else if (r == -EAGAIN)          /* the mount ends */
		fuse_reply_buf(req, NULL, 0);
	else if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_buf(req, buf, r);
	free(buf);
	return false;
}

/* The loop's pass: every parked read marked ready reads again. */
static void pass(void *opaque, uint32_t events)
{
	struct emufs_fs *fs = opaque;
	struct waiter *batch = NULL;
	pthread_mutex_lock(&fs->follow_lock);
	for (struct waiter *w = fs->waiting; w; w = w->next) {
		if (w->state == W_PARKED && w->ready) {
			w->state = W_CHECKING;
			w->ready = false;
			w->batch = batch;
			batch = w;
		}
	}
	pthread_mutex_unlock(&fs->follow_lock);
	bool again = false;
	for (struct waiter *w = batch, *next; w; w = next) {
		next = w->batch;       /* check() may recycle w */
		again |= check(fs, w);
	}
	if (again)
		waiters_kick(fs);
}

/* A kick from another thread. */
static void on_kick(void *opaque, uint32_t events)
{
	struct emufs_fs *fs = opaque;
	uint64_t n;
	(void)!read(fs->kickfd, &n, sizeof n);
	pass(fs, events);
}

int waiters_start(struct emufs_fs *fs)
{
	const char *delay = getenv("EMUFS_TEST_FOLLOW_CHECK_DELAY_MS");
	check_delay_ms = delay ? strtoul(delay, NULL, 10) : 0;
	fs->kick_soon = (struct io_soon){ .fn = pass, .opaque = fs };
	fs->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fs->kickfd < 0)
		return -errno;
	fs->kick = ioloop_add(fs->core->loop, fs->kickfd, EPOLLIN, on_kick,
			      fs);
	if (!fs->kick) {
		close(fs->kickfd);
		fs->kickfd = -1;
		return -ENOMEM;
	}
	return 0;
}

void waiters_end(void *opaque)
{
	struct emufs_fs *fs = opaque;
	/* A slot the loop is checking, or a worker is parking, sees
	 * follow_stopped and answers end of file itself. */
	for (;;) {
		pthread_mutex_lock(&fs->follow_lock);
		fs->follow_stopped = true;
		struct waiter *w = fs->waiting;
		while (w && w->state != W_PARKED)
			w = w->next;
		fuse_req_t req = w ? retire_locked(fs, w) : NULL;
		pthread_mutex_unlock(&fs->follow_lock);
		if (!req)
			break;
		fuse_reply_buf(req, NULL, 0);
	}
}

bool waiters_stopped(struct emufs_fs *fs)
{
	pthread_mutex_lock(&fs->follow_lock);
	bool stopped = fs->follow_stopped;
	pthread_mutex_unlock(&fs->follow_lock);
	return stopped;
}

void waiters_stop(struct emufs_fs *fs)
{
	/* After it no pass runs on a kick from a worker; one the loop asks
	 * of itself (kick_soon) finds nothing listed after waiters_end. */
	ioloop_remove(fs->kick);
	fs->kick = NULL;
	waiters_end(fs);
}

void waiters_free(struct emufs_fs *fs)
{
	/* Only now: the core's hooks (waiters_kick) may run until the core
	 * is freed. */
	if (fs->kickfd >= 0)
		close(fs->kickfd);
	fs->kickfd = -1;
	while (fs->spare) {
		struct waiter *w = fs->spare;
		fs->spare = w->next;
		free(w);
	}
}
