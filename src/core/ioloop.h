/* ioloop.h - the core's one I/O thread.
 *
 * Every socket and pipe that emufs reads from an emulator (QMP, serial
 * channels, stderr, process exit) is watched here, by one epoll thread, so
 * no FUSE worker ever reads from an emulator and there is no thread per
 * instance. Callbacks run on the loop thread and must not block.
 */
#ifndef EMUFS_IOLOOP_H
#define EMUFS_IOLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ioloop;
struct io_watch;

/* events: EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR as delivered by epoll. */
typedef void (*io_fn)(void *opaque, uint32_t events);

struct ioloop *ioloop_new(void);
int ioloop_start(struct ioloop *loop);
/* Stops the thread; every watch must have been removed. */
void ioloop_free(struct ioloop *loop);

/* Watch fd (not owned) for events; level-triggered. NULL with errno set
 * (epoll_ctl's: EBADF for an fd that is not open, ENOMEM, ENOSPC). */
struct io_watch *ioloop_add(struct ioloop *loop, int fd, uint32_t events,
			    io_fn fn, void *opaque);
int ioloop_modify(struct io_watch *w, uint32_t events);
/* Take w's fd off epoll until the next ioloop_modify() puts it back with
 * its events: no event comes meanwhile, not even EPOLLHUP or EPOLLERR.
 * Not the same as ioloop_modify(w, 0): a watched pipe or socket calls
 * epoll back on every write to it, whatever the mask, and a guest UART
 * writes a byte at a time, so a serial channel that rests with its fd
 * on epoll costs QEMU ~7% of its output rate (docs/performance.md,
 * "Session 7"). Calls of ioloop_modify() and ioloop_ignore() for one
 * watch must not race each other (its owner's lock or thread), nor come
 * from outside the watch's callbacks once ioloop_remove() began: the ADD
 * that puts an ignored watch back would hand the loop a watch it frees
 * (from a callback it is safe: removal waits for the callback and takes
 * the fd off after it). Neither takes a lock of the loop's, so both may
 * be called under a lock that callbacks take. Should epoll refuse to
 * take the fd off, ioloop_ignore() leaves it on asking for no event
 * (only a hang-up can come); ioloop_modify() fails with epoll's -errno
 * (an ADD: ENOMEM, ENOSPC), leaving the watch as it was. */
int ioloop_ignore(struct io_watch *w);
/* Stop watching. On return the callback is not running and will not run
 * again; safe from the loop thread (inside a callback) and from others. */
void ioloop_remove(struct io_watch *w);

/* A periodic timer (period_ms > 0) or a one-shot (period_ms == 0);
 * first_ms < 0 leaves it disarmed. */
struct io_watch *ioloop_add_timer(struct ioloop *loop, int first_ms,
				  int period_ms, io_fn fn, void *opaque);
/* (Re-)arm a timer as a one-shot in us microseconds. */
int ioloop_timer_arm_us(struct io_watch *w, long us);

/* Work the loop thread asks of itself: ioloop_soon(loop, s), from the
 * loop thread only, runs s->fn(s->opaque, 0) once after the callbacks of
 * the current batch of events, however often it was asked meanwhile (many
 * appends in one batch, one pass over what they woke), and without the
 * eventfd write, epoll_wait and read a kick of its own would cost. s is
 * the caller's (fn and opaque set, the rest zero) and must outlive the
 * loop; every field but fn and opaque is the loop thread's. */
struct io_soon {
	io_fn fn;
	void *opaque;
	bool queued;
	struct io_soon *next;
};
void ioloop_soon(struct ioloop *loop, struct io_soon *s);

/* Run fn(opaque) on the loop thread and wait until it returned. Used to
 * fork emulators from a thread that lives as long as emufs (the
 * parent-death signal follows the forking thread, not the process). */
void ioloop_call(struct ioloop *loop, void (*fn)(void *), void *opaque);

bool ioloop_in_loop(const struct ioloop *loop);

#endif
