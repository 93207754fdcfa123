/* launch_local.c - the local launcher: the emulator is a child of emufs
 * (see launcher.h, process.h), or the target's launcher prefix (srun)
 * that runs it is: run_spawn() puts the prefix in front of the argv, and
 * the process signalled and reaped here is then the launcher.
 *
 * It forks from the I/O loop thread: the child's parent-death signal
 * follows the thread that forked it, and the loop thread lives as long
 * as emufs, so an emulator never outlives emufs but does outlive the
 * FUSE worker that started it.
 */
#include "launcher.h"

#include "ioloop.h"
#include "process.h"

struct spawn_call {
	char *const *argv;
	char *const *env;
	struct process *p;
	char *why;
	size_t whylen;
	int rc;
};

static void spawn_in_loop(void *arg)
{
	struct spawn_call *c = arg;
	c->rc = process_spawn(c->argv, c->env, c->p, c->why, c->whylen);
}

static int local_spawn(struct ioloop *loop, char *const argv[],
		       char *const env[], struct process *p, char *why,
		       size_t whylen)
{
	struct spawn_call c = { argv, env, p, why, whylen, 0 };
	ioloop_call(loop, spawn_in_loop, &c);
	return c.rc;
}

const struct launcher launcher_local = {
	.name = "local",
	.owns_process = true,
	.spawn = local_spawn,
	.signal = process_signal,
	.reap = process_reap,
	.release = process_release,
	.describe = process_describe_status,
};
