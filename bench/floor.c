/* floor.c - the floor: a trivial FUSE file system, mounted beside emufs,
 * that does what emufs does for props/ with no emulator behind it. Its
 * rows say what the kernel's FUSE round trips alone cost on this machine
 * now (raw + floor is the best emufs could do):
 *
 *   WORK/floor/d/d/d/d/d/value  a file of "1\n", opened direct_io like
 *                         props/, as deep as b0/props/machine/soc/scu/
 *                         silicon-rev (a cold read looks up as many names)
 *   WORK/floor/dir/f<N>   FLOOR_ENTRIES files, and small/f<N> 10 (scu's
 *                         size), names and attributes given with
 *                         READDIRPLUS and cached as emufs caches props/'s
 *
 * It runs in a child process (the bench's one thread stays the only one
 * that times), single-threaded like the simplest libfuse example; the
 * child unmounts on SIGTERM, sent when the bench ends (also if it dies).
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define FLOOR_ROOT 1
#define FLOOR_VALUE 2
#define FLOOR_DIR 3
#define FLOOR_SMALL 4
#define FLOOR_SMALL_ENTRIES 10
#define FLOOR_D 10             /* d, d/d, ... FLOOR_D + FLOOR_DEPTH - 1 */
#define FLOOR_DEPTH 5
#define FLOOR_FIRST 100        /* dir/f0 */
#define FLOOR_SMALL_FIRST 1000 /* small/f0 */

static const char floor_text[] = "1\n";
static pid_t floor_pid;
char floor_dir[PATH_MAX];

static void floor_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == FLOOR_ROOT || ino == FLOOR_DIR || ino == FLOOR_SMALL ||
	    (ino >= FLOOR_D && ino < FLOOR_D + FLOOR_DEPTH)) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0644;
		st->st_size = 4096;
	}
}

static void floor_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->attr_timeout = e->entry_timeout = BENCH_PROPS_CACHE_S;
	floor_stat(ino, &e->attr);
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = 0;
	int i;
	char end;
	bool f = sscanf(name, "f%d%c", &i, &end) == 1 && i >= 0;
	if (parent == FLOOR_D + FLOOR_DEPTH - 1 && !strcmp(name, "value"))
		ino = FLOOR_VALUE;
	else if (parent == FLOOR_ROOT && !strcmp(name, "d"))
		ino = FLOOR_D;
	else if (parent >= FLOOR_D && parent < FLOOR_D + FLOOR_DEPTH - 1 &&
		 !strcmp(name, "d"))
		ino = parent + 1;
	else if (parent == FLOOR_ROOT && !strcmp(name, "dir"))
		ino = FLOOR_DIR;
	else if (parent == FLOOR_ROOT && !strcmp(name, "small"))
		ino = FLOOR_SMALL;
	else if (parent == FLOOR_DIR && f && i < FLOOR_ENTRIES)
		ino = FLOOR_FIRST + i;
	else if (parent == FLOOR_SMALL && f && i < FLOOR_SMALL_ENTRIES)
		ino = FLOOR_SMALL_FIRST + i;
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	floor_entry(ino, &e);
	fuse_reply_entry(req, &e);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;
	floor_stat(ino, &st);
	fuse_reply_attr(req, &st, BENCH_PROPS_CACHE_S);
}

static void floor_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	size_t len = sizeof floor_text - 1;
	if ((size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, floor_text + off,
			       len - off < size ? len - off : size);
}

static void floor_list(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, bool plus)
{
	char *buf = malloc(size), name[32];
	size_t used = 0;
	/* Only the listed directories: the d/ chain is for lookups. */
	int n = ino == FLOOR_DIR ? FLOOR_ENTRIES
		: ino == FLOOR_SMALL ? FLOOR_SMALL_ENTRIES : 0;
	for (int i = off; buf && i < n; i++) {
		fuse_ino_t child = (ino == FLOOR_DIR ? FLOOR_FIRST
						     : FLOOR_SMALL_FIRST) + i;
		snprintf(name, sizeof name, "f%d", i);
		struct fuse_entry_param e;
		floor_entry(child, &e);
		size_t l = plus ? fuse_add_direntry_plus(req, buf + used,
							 size - used, name,
							 &e, i + 1)
				: fuse_add_direntry(req, buf + used,
						    size - used, name,
						    &e.attr, i + 1);
		if (l > size - used)
			break;
		used += l;
	}
	if (buf)
		fuse_reply_buf(req, buf, used);
	else
		fuse_reply_err(req, ENOMEM);
	free(buf);
}

static void floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	floor_list(req, ino, size, off, false);
}

static void floor_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	floor_list(req, ino, size, off, true);
}

static void floor_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
}

static const struct fuse_lowlevel_ops floor_ops = {
	.init = floor_init,
	.lookup = floor_lookup,
	.getattr = floor_getattr,
	.open = floor_open,
	.read = floor_read,
	.readdir = floor_readdir,
	.readdirplus = floor_readdirplus,
};

/* The child: mount, serve until SIGTERM, unmount. */
static void floor_serve(void)
{
	char *argv[] = { "emufs-bench-floor", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fuse_session *se = fuse_session_new(&args, &floor_ops,
						   sizeof floor_ops, NULL);
	if (!se || fuse_set_signal_handlers(se) ||
	    fuse_session_mount(se, floor_dir))
		_exit(1);
	fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	_exit(0);
}

void floor_stop(void)
{
	if (floor_pid <= 0)
		return;
	kill(floor_pid, SIGTERM);
	while (waitpid(floor_pid, NULL, 0) < 0 && errno == EINTR)
		;
	floor_pid = 0;
}

pid_t floor_process(void)
{
	return floor_pid;
}

bool floor_start(void)
{
	if (floor_pid > 0)
		return true;
	snprintf(floor_dir, sizeof floor_dir, "%s/floor", bench_opt.work);
	if (mkdir(floor_dir, 0755) < 0 && errno != EEXIST)
		return false;
	pid_t pid = proc_fork(SIGTERM);
	if (pid < 0)
		return false;
	if (pid == 0)
		floor_serve();
	floor_pid = pid;
	atexit(floor_stop);
	/* Mounted when its value reads. */
	char path[PATH_MAX + 8], buf[8];
	snprintf(path, sizeof path, "%s/" FLOOR_VALUE_PATH, floor_dir);
	for (int i = 0; i < 200; i++) {
		if (mnt_cat(path, buf, sizeof buf) == 2)
			return true;
		clk_sleep_ms(10);
	}
	floor_stop();
	return false;
}
