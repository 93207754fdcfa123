/* statedir.c - the state directory (see statedir.h). */
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An instance directory holds sockets, logs, overlays and a Renode
 * instance's temporary directory a few levels down. */
#define INSTANCE_DEPTH 4

char *statedir_default(const char *mountpoint)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	char *abs = realpath(mountpoint, NULL);
	const char *mp = abs ? abs : mountpoint;
	/* The mount point's id: its last component (readable) and a hash
	 * of the whole path (unique). */
	unsigned long long h = 1469598103934665603ULL;     /* FNV-1a */
	for (const char *p = mp; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	const char *last = strrchr(mp, '/');
	last = last && last[1] ? last + 1 : "root";
	char *dir;
	if (asprintf(&dir, "%s/emufs-%u/%.32s-%08llx",
		     base && *base ? base : "/tmp", (unsigned)getuid(), last,
		     h & 0xffffffffULL) < 0)
		dir = NULL;
	free(abs);
	return dir;
}

static int make_private_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		snprintf(err, errlen, "%s: not a directory owned by uid %u",
			 dir, (unsigned)getuid());
		return -1;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Empty dir, depth levels down, never following links. */
static void clear_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p;
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
			continue;
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth > 0) {
				clear_dir(p, depth - 1);
				rmdir(p);
			}
		} else {
			unlink(p);
		}
		free(p);
	}
	closedir(d);
}

static bool is_ours(const char *instdir)
{
	char *mark;
	if (asprintf(&mark, "%s/%s", instdir, STATEDIR_MARK) < 0)
		return false;
	struct stat st;
	bool yes = lstat(mark, &st) == 0 && S_ISREG(st.st_mode);
	free(mark);
	return yes;
}

void statedir_remove_instance(const char *instdir)
{
	if (!is_ours(instdir))
		return;
	clear_dir(instdir, INSTANCE_DEPTH);
	rmdir(instdir);
}

static void remove_instances(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *p;
		if (e->d_name[0] == '.' ||
		    asprintf(&p, "%s/%s", dir, e->d_name) < 0)
			continue;
		statedir_remove_instance(p);
		free(p);
	}
	closedir(d);
}

void statedir_remove(const char *dir)
{
	remove_instances(dir);
	char *lock;
	if (asprintf(&lock, "%s/%s", dir, STATEDIR_LOCK) >= 0) {
		unlink(lock);
		free(lock);
	}
	rmdir(dir);       /* fails, harmlessly, if it holds other files */
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Take the lock of dir. The holder may remove the whole directory when it
 * is done, lock file included: a lock won on a file that is no longer
 * linked there is worth nothing, so check, and start over. */
static int take_lock(const char *dir, char *err, size_t errlen)
{
	long long deadline = now_ms() + STATEDIR_LOCK_WAIT_MS;
	char *path;
	if (asprintf(&path, "%s/%s", dir, STATEDIR_LOCK) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			break;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0600);
		if (fd < 0)
			break;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			struct stat a, b;
			if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
				char pid[32];
				int n = snprintf(pid, sizeof pid, "%d\n",
						 (int)getpid());
				(void)!ftruncate(fd, 0);
				(void)!pwrite(fd, pid, n, 0);
				free(path);
				return fd;
			}
		} else if (errno != EWOULDBLOCK) {
			close(fd);
			break;
		}
		close(fd);
		if (now_ms() > deadline) {
			snprintf(err, errlen, "%s: in use by another emufs "
				 "(see %s)", dir, path);
			free(path);
			return -1;
		}
		usleep(50 * 1000);
	}
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	return -1;
}

int statedir_prepare(const char *dir, bool own_parent, char *err,
		     size_t errlen)
{
	int rc = 0;
	if (own_parent) {
		char *parent = strdup(dir);
		if (!parent) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			rc = make_private_dir(parent, err, errlen);
		}
		free(parent);
	}
	if (rc == 0)
		rc = make_private_dir(dir, err, errlen);
	int fd = rc == 0 ? take_lock(dir, err, errlen) : -1;
	if (fd >= 0 && make_private_dir(dir, err, errlen) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		remove_instances(dir);
	return fd;
}

int statedir_make_instance(const char *instdir)
{
	if (mkdir(instdir, 0700) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (!is_ours(instdir))
			return -EEXIST;
		clear_dir(instdir, INSTANCE_DEPTH);
	}
	char *mark;
	if (asprintf(&mark, "%s/%s", instdir, STATEDIR_MARK) < 0)
		return -ENOMEM;
	int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	free(mark);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

char *statedir_retire_instance(const char *instdir)
{
	static atomic_uint counter;
	const char *slash = strrchr(instdir, '/');
	if (!slash)
		return NULL;
	/* '~' starts no instance name (config_name_valid). */
	char *aside;
	if (asprintf(&aside, "%.*s/~retired-%u-%s", (int)(slash - instdir),
		     instdir, atomic_fetch_add(&counter, 1), slash + 1) < 0)
		return NULL;
	if (rename(instdir, aside) < 0) {
		free(aside);
		return NULL;
	}
	return aside;
}

bool statedir_instance_free(const char *instdir)
{
	struct stat st;
	return lstat(instdir, &st) < 0 ? errno == ENOENT : is_ours(instdir);
}
