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

#include "clock.h"

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

/* Create dir; when this call made it, mark it so that cleaning up may
 * remove it (emufs removes only what it made: not a --state-dir that
 * existed before). Returns mkdir's result. */
static int make_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0)
		return -1;
	char *mark;
	if (asprintf(&mark, "%s/%s", dir, STATEDIR_MADE) >= 0) {
		int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0600);
		if (fd >= 0)
			close(fd);
		free(mark);
	}
	return 0;
}

static int make_private_dir(const char *dir, bool mark, char *err,
			    size_t errlen)
{
	struct stat st;

	if ((mark ? make_dir(dir) : mkdir(dir, 0700)) < 0 &&
	    errno != EEXIST) {
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

/* keep(name, st): whether clear_dir leaves that entry alone. */
typedef bool keep_fn(const char *name, const struct stat *st);

/* Empty dir, depth levels down, never following links; keep (may be NULL)
 * spares entries of dir itself. */
static void clear_dir(const char *dir, int depth, keep_fn *keep)
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
		if (lstat(p, &st) < 0 || (keep && keep(e->d_name, &st))) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0) {
				clear_dir(p, depth - 1, NULL);
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
	clear_dir(instdir, INSTANCE_DEPTH, NULL);
	rmdir(instdir);
}

/* Call fn(path, name, arg) for each instance directory (marked) in dir. */
static void for_each_instance(const char *dir,
			      void (*fn)(const char *, const char *, void *),
			      void *arg)
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
		if (is_ours(p))
			fn(p, e->d_name, arg);
		free(p);
	}
	closedir(d);
}

static void remove_one(const char *instdir, const char *name, void *arg)
{
	statedir_remove_instance(instdir);
}

static void remove_instances(const char *dir)
{
	for_each_instance(dir, remove_one, NULL);
}

static char *join(const char *dir, const char *name)
{
	char *p;
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool is_file(const char *path)
{
	struct stat st;
	return path && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void statedir_remove(const char *dir)
{
	remove_instances(dir);
	char *lock = join(dir, STATEDIR_LOCK), *made = join(dir, STATEDIR_MADE);
	bool ours = is_file(made);
	if (ours)
		unlink(made);
	/* The lock file goes last: a new emufs waiting for the lock takes
	 * it as soon as this one is unlinked. */
	if (lock)
		unlink(lock);
	/* Fails, harmlessly, if dir holds other files (a crashed@ folder,
	 * the user's, or the lock of an emufs that came in meanwhile): then
	 * it stays emufs's own, and marked so. */
	if (ours && rmdir(dir) < 0 && made) {
		int fd = open(made, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0600);
		if (fd >= 0)
			close(fd);
	}
	free(lock);
	free(made);
}

/* ---- salvage: the logs of a dead emufs ------------------------------- */

/* The non-empty logs of an instance directory. */
static bool is_log(const char *name, const struct stat *st)
{
	size_t n = strlen(name);
	return S_ISREG(st->st_mode) && st->st_size > 0 &&
	       (!strcmp(name, "log") || !strcmp(name, "events") ||
		(n > 4 && !strcmp(name + n - 4, ".log")));
}

/* Of a moved instance directory keep the logs, nothing else (sockets,
 * overlays, Renode's tmpdir, the mark: so it is emufs's no more, and no
 * later cleaning removes it); remove it if nothing is left. */
static void keep_logs(const char *instdir)
{
	clear_dir(instdir, INSTANCE_DEPTH, is_log);
	rmdir(instdir);
}

/* YYYYMMDD-HHMMSSZ of t, computed here: gmtime_r() takes glibc's time
 * zone lock, which the janitor (forked from a threaded emufs) must not. */
static void utc_stamp(time_t t, char *buf, size_t len)
{
	long long days = t / 86400, secs = t % 86400;
	/* civil_from_days, H. Hinnant's algorithm */
	long long z = days + 719468, era = z / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	long long m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
	snprintf(buf, len, "%04d%02d%02d-%02d%02d%02dZ", (int)y, (int)m,
		 (int)d, (int)(secs / 3600), (int)(secs / 60 % 60),
		 (int)(secs % 60));
}

/* A new folder for one dead emufs's logs: crashed@<UTC time>[.N]. */
static char *make_crash_dir(const char *dir)
{
	char stamp[64];
	utc_stamp(time(NULL), stamp, sizeof stamp);
	for (int n = 1; n < 100; n++) {
		char *p;
		if ((n == 1 ? asprintf(&p, "%s/%s%s", dir, STATEDIR_CRASHED,
				       stamp)
			    : asprintf(&p, "%s/%s%s.%d", dir, STATEDIR_CRASHED,
				       stamp, n)) < 0)
			return NULL;
		if (mkdir(p, 0700) == 0)
			return p;
		free(p);
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

struct salvage {
	const char *dir;
	char *crash;    /* made at the first instance that has logs */
};

static void salvage_one(const char *instdir, const char *name, void *arg)
{
	struct salvage *sv = arg;
	/* ~retired-: the user removed that instance (rmdir). */
	if (name[0] == '~') {
		statedir_remove_instance(instdir);
		return;
	}
	if (!sv->crash && !(sv->crash = make_crash_dir(sv->dir)))
		return;         /* left for the next emufs to salvage */
	char *to = join(sv->crash, name);
	if (to && rename(instdir, to) == 0)
		keep_logs(to);
	free(to);
}

void statedir_salvage(const char *dir)
{
	struct salvage sv = { dir, NULL };
	for_each_instance(dir, salvage_one, &sv);
	if (sv.crash)
		rmdir(sv.crash);        /* only if no instance had a log */
	free(sv.crash);
}

/* Take the lock of dir. The holder may remove the whole directory when it
 * is done, lock file included: a lock won on a file that is no longer
 * linked there is worth nothing, so check, and start over. */
static int take_lock(const char *dir, char *err, size_t errlen)
{
	long long deadline = clock_now_ms() + STATEDIR_LOCK_WAIT_MS;
	char *path;
	if (asprintf(&path, "%s/%s", dir, STATEDIR_LOCK) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		if (make_dir(dir) < 0 && errno != EEXIST)
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
		if (clock_now_ms() > deadline) {
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
			rc = make_private_dir(parent, false, err, errlen);
		}
		free(parent);
	}
	if (rc == 0)
		rc = make_private_dir(dir, true, err, errlen);
	int fd = rc == 0 ? take_lock(dir, err, errlen) : -1;
	if (fd >= 0 && make_private_dir(dir, true, err, errlen) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		statedir_salvage(dir);
	return fd;
}

int statedir_make_instance(const char *instdir)
{
	if (mkdir(instdir, 0700) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (!is_ours(instdir))
			return -EEXIST;
		clear_dir(instdir, INSTANCE_DEPTH, NULL);
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
