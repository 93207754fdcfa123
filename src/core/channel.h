/* channel.h - a serial channel: the guest's UART as a growing log plus an
 * input queue (docs/reference.md 3.3).
 *
 * Output: the I/O loop reads the emulator's socket and appends to the
 * channel's on-disk log. Input: writers queue bytes in the core and the
 * I/O loop hands them to the emulator as it takes them, so a writer never
 * blocks and nothing is dropped while the instance runs.
 */
#ifndef EMUFS_CHANNEL_H
#define EMUFS_CHANNEL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "logfile.h"

struct ioloop;
struct io_watch;
struct cfg_channel;

/* Largest input backlog the core keeps per channel; a write that would
 * exceed it fails with EAGAIN (nothing of it is queued). */
#define CHANNEL_MAX_BACKLOG (16u * 1024 * 1024)

/* A guest UART trickles: QEMU hands the channel's pipe a byte at a time.
 * After a read that brought bytes without filling the buffer (the pipe
 * was empty as of then, though the guest writes on), the channel rests
 * before it reads again, so the next read takes many bytes at once
 * instead of one syscall, one log append and one wake of every follower
 * per few bytes.
 * The first read after a quiet spell is never delayed: a rest starts only
 * after bytes were read. The first rest is CHANNEL_COALESCE_US; when the
 * guest streamed all through it (as it ends, at least what
 * CHANNEL_STREAM_KBPS fill in a rest waits), the next one is twice as
 * long, up to CHANNEL_COALESCE_MAX_US; otherwise the next starts over.
 * So an echo or a prompt waits at most 200 us (one echo right after
 * another is a trickle, not a stream), a stream (a boot log, `cat` of a
 * big file) comes in chunks of up to 10 ms, and bulk output costs ~100
 * appends per MiB instead of ~20,000 (docs/performance.md, the bulk
 * row). What the guest writes meanwhile waits in the pipe (64 KiB: 10 ms
 * at 6 MB/s, several times what a guest UART does under TCG) or Renode's
 * TCP socket. */
#define CHANNEL_COALESCE_US 200
#define CHANNEL_COALESCE_MAX_US 10000
#define CHANNEL_STREAM_KBPS 64

typedef void (*channel_notify_fn)(void *opaque);

/* Who else reads the guest's output (the shim pins of pinset.c): called
 * with every chunk, on the I/O loop only. */
typedef void (*channel_tap_fn)(void *opaque, const char *buf, size_t len);

struct channel {
	const struct cfg_channel *cfg;
	struct logfile log;           /* everything the guest sent this run */

	pthread_mutex_t lock;         /* protects fd, wfd, watch, wwatch,
				       * out*, resting, and the pty fields */
	int fd;                       /* guest output: the emulator's socket
				       * or pipe, or -1 */
	int wfd;                      /* guest input: fd itself (a socket),
				       * or a pipe of its own, or -1 */
	struct io_watch *watch;       /* fd; wfd too when it is fd */
	struct io_watch *wwatch;      /* wfd when it is not fd */
	struct io_watch *rest_timer;  /* ends a rest (coalescing) */
	int resting;                  /* not reading (off epoll unless
				       * output waits) until rest_timer */
	unsigned rest_us;             /* the next rest, 0: the first */
	struct ioloop *loop;
	char *out;                    /* queued input, out[outoff..outlen) */
	unsigned char escape;         /* the emulator's input escape byte
				       * (emulator.h), 0: none; set at
				       * attach */
	size_t outlen, outoff, outcap;
	unsigned long long in_bytes;  /* input handed to the emulator */

	/* The pty bridged to the channel while it runs: guest output is
	 * copied to pty_master (dropped there, never in the log, when the
	 * pty's reader falls behind); what is typed on the pty is queued
	 * like a write. emufs keeps the slave open itself, in raw mode, so
	 * the master never sees a hangup while no client is attached. */
	int pty_master, pty_slave;
	struct io_watch *pty_watch;
	int pty_full;                 /* skip copies until EPOLLOUT */
	char pty_path[64];
	unsigned long long pty_dropped;

	/* Set by the pins' binding when a shim pin uses this channel
	 * (set and cleared only while no run is attached): fed every
	 * output byte, from the I/O loop only. Owned by who set it. */
	channel_tap_fn tap;
	void *tap_opaque;
};

int channel_init(struct channel *ch, const struct cfg_channel *cfg,
		 const char *logpath, long long cap);
void channel_destroy(struct channel *ch);

/* A new run: the log starts over. */
void channel_new_run(struct channel *ch);
/* Connect this run's descriptors (owned from now on): guest output is
 * read from fd, input written to wfd, the same socket (wfd == fd) or two
 * pipes (QEMU's pipe chardev: see qemu_argv.c for why). escape: the
 * emulator's serial escape byte (emulator.h serial_escape), 0 for none. */
int channel_attach(struct channel *ch, struct ioloop *loop, int fd, int wfd,
		   unsigned char escape);
/* The run ended: stop reading, drop the queue (its memory too), close
 * the descriptors. */
void channel_detach(struct channel *ch);

/* The pty's path ("/dev/pts/N") while attached: 0 or -ENOENT. */
int channel_pty_path(struct channel *ch, char *buf, size_t len);

/* Queue input for the guest: len or -ESRCH (not connected), -EAGAIN.
 * Every escape byte in it is sent doubled, so it reaches the guest as
 * itself and never as a command to the emulator. */
ssize_t channel_write(struct channel *ch, const void *buf, size_t len);

/* Queue a serial BREAK, in order with the input: 0, -ESRCH (not
 * connected), -ENOTSUP (the emulator has no escape), -EAGAIN. */
int channel_break(struct channel *ch);

#endif
