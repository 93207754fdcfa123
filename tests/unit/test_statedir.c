/* test_statedir.c - the state directory: what is removed at exit (only
 * what emufs made, the directory itself only if emufs made it) and what
 * is kept of a dead emufs's instances (their non-empty logs, moved into a
 * crashed@ folder; nothing else). Each test gets a fresh temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "statedir.h"

struct fixture {
	char base[64];          /* mkdtemp: the user's directory */
	char dir[96];           /* the state directory in it */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->base, "/tmp/emufs-statedir-XXXXXX");
	if (!mkdtemp(f->base))
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/state", f->base);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->base);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* buf = dir/name; the test fails if it does not fit. */
#define JOIN(buf, dir, name) \
	assert_true(snprintf(buf, sizeof buf, "%s/%s", dir, name) < \
		    (int)sizeof buf)

/* dir/name, in a buffer the next call reuses. */
static const char *at(const char *dir, const char *name)
{
	static char p[512];
	JOIN(p, dir, name);
	return p;
}

static void put(const char *dir, const char *name, const char *text)
{
	FILE *fp = fopen(at(dir, name), "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void put_socket(const char *dir, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	JOIN(a.sun_path, dir, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	struct stat st;
	return lstat(at(dir, name), &st) == 0;
}

/* The one crashed@ folder in dir, or "" if none. */
static const char *crash_dir(const char *dir)
{
	static char found[512];
	found[0] = '\0';
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, STATEDIR_CRASHED,
			     strlen(STATEDIR_CRASHED))) {
			assert_string_equal(found, "");
			JOIN(found, dir, e->d_name);
		}
	closedir(d);
	return found;
}

/* An instance directory as a running emufs has it. */
static void make_instance(const char *dir, const char *name, bool logs)
{
	char inst[512];
	JOIN(inst, dir, name);
	assert_int_equal(statedir_make_instance(inst), 0);
	put(inst, "log", logs ? "started qemu\n" : "");
	put(inst, "events", logs ? "{\"event\": \"X\"}\n" : "");
	put(inst, "serial0.log", logs ? "hello\n" : "");
	put(inst, "drive0.qcow2", "QFI\xfb");
	put_socket(inst, "qmp.sock");
	char tmp[600];
	JOIN(tmp, inst, "renode-tmp");
	assert_int_equal(mkdir(tmp, 0700), 0);
	put(tmp, "robot_port", "1234");
}

/* What one emufs does to dir from start to a clean exit. */
static void mount_and_unmount(const char *dir)
{
	char err[256];
	int fd = statedir_prepare(dir, false, err, sizeof err);
	assert_true(fd >= 0);
	make_instance(dir, "b0", true);
	statedir_remove(dir);
	close(fd);
}

static void test_pre_existing_dir_is_kept_by_remove(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	mount_and_unmount(f->dir);
	assert_true(exists(f->dir, "."));
	assert_false(exists(f->dir, "b0"));
	assert_false(exists(f->dir, STATEDIR_LOCK));
}

static void test_dir_emufs_made_is_removed(void **state)
{
	struct fixture *f = *state;
	mount_and_unmount(f->dir);
	assert_false(exists(f->dir, "."));
}

static void test_dir_emufs_made_with_other_files_stays_marked(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int fd = statedir_prepare(f->dir, false, err, sizeof err);
	assert_true(fd >= 0);
	put(f->dir, "notes.txt", "mine");
	statedir_remove(f->dir);
	assert_true(exists(f->dir, "notes.txt"));
	assert_true(exists(f->dir, STATEDIR_MADE));
	assert_int_equal(unlink(at(f->dir, "notes.txt")), 0);
	statedir_remove(f->dir);
	close(fd);
	assert_false(exists(f->dir, "."));
}

static void test_salvage_keeps_only_non_empty_logs(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	make_instance(f->dir, "b0", true);
	make_instance(f->dir, "idle", false);
	make_instance(f->dir, "~retired-0-gone", true);
	put(f->dir, "precious.txt", "the user's");
	assert_int_equal(mkdir(at(f->dir, "foreign"), 0700), 0);
	statedir_salvage(f->dir);

	const char *crash = crash_dir(f->dir);
	assert_string_not_equal(crash, "");
	char b0[600];
	JOIN(b0, crash, "b0");
	assert_true(exists(b0, "log"));
	assert_true(exists(b0, "events"));
	assert_true(exists(b0, "serial0.log"));
	assert_false(exists(b0, STATEDIR_MARK));
	assert_false(exists(b0, "qmp.sock"));
	assert_false(exists(b0, "drive0.qcow2"));
	assert_false(exists(b0, "renode-tmp"));
	assert_false(exists(crash, "idle"));            /* nothing to keep */
	assert_false(exists(crash, "~retired-0-gone")); /* the user's rmdir */
	assert_false(exists(f->dir, "b0"));
	assert_false(exists(f->dir, "idle"));
	assert_false(exists(f->dir, "~retired-0-gone"));
	assert_true(exists(f->dir, "precious.txt"));
	assert_true(exists(f->dir, "foreign"));

	/* not emufs's any more: a later cleanup leaves it alone */
	statedir_salvage(f->dir);
	statedir_remove(f->dir);
	assert_true(exists(b0, "serial0.log"));
}

static void test_salvage_of_idle_instances_leaves_no_folder(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	make_instance(f->dir, "idle", false);
	statedir_salvage(f->dir);
	assert_string_equal(crash_dir(f->dir), "");
	assert_false(exists(f->dir, "idle"));
}

static void test_prepare_salvages_what_a_dead_emufs_left(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	make_instance(f->dir, "b0", true);
	int fd = statedir_prepare(f->dir, false, err, sizeof err);
	assert_true(fd >= 0);
	close(fd);
	assert_false(exists(f->dir, "b0"));
	char b0[600];
	JOIN(b0, crash_dir(f->dir), "b0");
	assert_true(exists(b0, "serial0.log"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pre_existing_dir_is_kept_by_remove),
		T(test_dir_emufs_made_is_removed),
		T(test_dir_emufs_made_with_other_files_stays_marked),
		T(test_salvage_keeps_only_non_empty_logs),
		T(test_salvage_of_idle_instances_leaves_no_folder),
		T(test_prepare_salvages_what_a_dead_emufs_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
