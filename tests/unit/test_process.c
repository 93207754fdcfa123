/* test_process.c - spawning: the environment a child gets (emufs's own,
 * with the NAME=VALUE pairs the caller adds or replaces) and binaries at
 * paths that hold '=' (which env(1) would read as an assignment). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

/* Run argv with env; returns what it wrote (stdout and stderr). */
static char *run(char *const argv[], char *const env[])
{
	struct process p;
	char err[256];
	int rc = process_spawn(argv, env, &p, err, sizeof err);
	if (rc)
		fail_msg("process_spawn: %s", err);
	static char out[4096];
	size_t n = 0;
	for (;;) {
		struct pollfd pf = { .fd = p.outfd, .events = POLLIN };
		assert_true(poll(&pf, 1, 5000) == 1);
		ssize_t r = read(p.outfd, out + n, sizeof out - 1 - n);
		if (r <= 0 && !(r < 0 && errno == EAGAIN))
			break;
		if (r > 0)
			n += r;
	}
	out[n] = '\0';
	int ws;
	assert_int_equal(waitpid(p.pid, &ws, 0), p.pid);
	p.pid = 0;
	process_release(&p);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	return out;
}

static void test_env_pairs_are_added_and_replace(void **state)
{
	setenv("EMUFS_T_OLD", "old", 1);
	setenv("EMUFS_T_KEEP", "kept", 1);
	char *argv[] = { "/bin/sh", "-c",
			 "echo \"$EMUFS_T_OLD|$EMUFS_T_NEW|$EMUFS_T_KEEP\"; "
			 "env | grep -c '^EMUFS_T_OLD='", NULL };
	char *env[] = { "EMUFS_T_OLD=new", "EMUFS_T_NEW=a=b c", NULL };
	assert_string_equal(run(argv, env), "new|a=b c|kept\n1\n");
}

static void test_no_env_pairs_is_emufs_environment(void **state)
{
	setenv("EMUFS_T_KEEP", "kept", 1);
	char *argv[] = { "/bin/sh", "-c", "echo \"$EMUFS_T_KEEP\"", NULL };
	assert_string_equal(run(argv, NULL), "kept\n");
}

static void test_binary_path_with_equals_sign_runs(void **state)
{
	char dir[] = "/tmp/emufs-process-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char bin[128];
	snprintf(bin, sizeof bin, "%s/a=b", dir);
	assert_int_equal(symlink("/bin/sh", bin), 0);
	char *argv[] = { bin, "-c", "echo \"ran $EMUFS_T_X\"", NULL };
	char *env[] = { "EMUFS_T_X=x", NULL };
	assert_string_equal(run(argv, env), "ran x\n");
	unlink(bin);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_pairs_are_added_and_replace),
		cmocka_unit_test(test_no_env_pairs_is_emufs_environment),
		cmocka_unit_test(test_binary_path_with_equals_sign_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
