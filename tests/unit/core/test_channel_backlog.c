/* test_channel_backlog.c - a channel's input queue gives its memory back
 * (issue 12, defect 10): 15 MiB queued for a paused guest kept emufs's
 * RSS up after kill and start. The queue is freed with the run, and once
 * the guest has drained a big one.
 *
 * The memory is measured as glibc sees it (mallinfo2: bytes in use),
 * besides the channel's own fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/channel.h"
#include "core/ioloop.h"

#define MiB (1024 * 1024)
#define BACKLOG (12 * MiB)

struct fixture {
	char dir[64];
	char path[128];
	struct ioloop *loop;
	struct channel ch;
	int emu;              /* the paused guest's end: nobody reads it */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int sv[2];

	snprintf(f->dir, sizeof f->dir, "/tmp/emufs-backlog-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/serial0.log", f->dir);
	assert_int_equal(channel_init(&f->ch, NULL, f->path, 1 << 20), 0);
	f->loop = ioloop_new();
	assert_non_null(f->loop);
	assert_int_equal(ioloop_start(f->loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(channel_attach(&f->ch, f->loop, sv[0], sv[0], 0), 0);
	f->emu = sv[1];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	channel_destroy(&f->ch);
	ioloop_free(f->loop);
	if (f->emu >= 0)
		close(f->emu);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* from sanitizer/allocator_interface.h, not always installed */
size_t __sanitizer_get_current_allocated_bytes(void);
/* Bytes in use: the sanitizer's allocator replaces glibc's. */
static size_t mapped(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
/* Bytes in use in malloc'd blocks, mmap'd ones included. */
static size_t mapped(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
#endif

/* Queue BACKLOG bytes the guest does not take. */
static void queue_backlog(struct channel *ch)
{
	static char chunk[256 * 1024];
	memset(chunk, 'b', sizeof chunk);
	for (size_t n = 0; n < BACKLOG; n += sizeof chunk)
		assert_int_equal(channel_write(ch, chunk, sizeof chunk),
				 (ssize_t)sizeof chunk);
}

static void test_backlog_freed_when_the_run_ends(void **state)
{
	struct fixture *f = *state;
	size_t before = mapped();

	queue_backlog(&f->ch);
	assert_true(mapped() >= before + BACKLOG / 2);
	channel_detach(&f->ch);
	assert_null(f->ch.out);
	assert_int_equal(f->ch.outcap, 0);
	assert_true(mapped() < before + MiB);
}

static void test_drained_backlog_gives_its_memory_back(void **state)
{
	struct fixture *f = *state;
	size_t before = mapped();
	static char buf[1 << 20];

	queue_backlog(&f->ch);
	assert_true(mapped() >= before + BACKLOG / 2);
	/* The guest resumes and takes it all; the channel flushes from the
	 * I/O loop as the socket drains. */
	size_t got = 0;
	while (got < BACKLOG) {
		ssize_t n = read(f->emu, buf, sizeof buf);
		if (n > 0) {
			got += n;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		usleep(1000);
	}
	assert_int_equal(got, BACKLOG);
	/* The last flush ran before the last bytes could be read. */
	pthread_mutex_lock(&f->ch.lock);
	size_t cap = f->ch.outcap;
	pthread_mutex_unlock(&f->ch.lock);
	assert_true(cap <= 64 * 1024);
	assert_true(mapped() < before + MiB);
	/* and the channel works on */
	assert_int_equal(channel_write(&f->ch, "ok", 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_backlog_freed_when_the_run_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_drained_backlog_gives_its_memory_back, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
