/* mountwatch.c - notice the mount leaving the namespace (mountwatch.h).
 *
 * A lazy unmount (`fusermount3 -u -z`, `umount -l`) detaches the mount at
 * once, but the kernel ends the FUSE session only when the last open file
 * of it closes; a reader blocked in follow/ never closes its own. So a
 * thread watches /proc/self/mountinfo (the kernel flags a change of the
 * mount table with POLLPRI) and, once the mount emufs made is gone, tells
 * its owner, who ends follow/'s reads (end of file). The session goes on
 * serving the other files still open, and ends as the kernel ends it
 * when the last one closes: a reader in the middle of a request never
 * sees the connection aborted.
 */
#include "mountwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static struct {
	pthread_t thread;
	bool started;
	int infofd;                 /* /proc/self/mountinfo */
	int stopfd;                 /* eventfd: mountwatch_stop */
	void (*gone)(void *);
	void *opaque;
	char *point;                /* the mount point as mountinfo
				     * escapes it */
	long id;                    /* our mount's ID, -1 if not found */
} mw = { .infofd = -1, .stopfd = -1, .id = -1 };

/* mountinfo's escaping of a path: space, tab, newline, backslash as
 * \ooo. */
static char *escape(const char *path)
{
	char *out = malloc(strlen(path) * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = path; *p; p++) {
		if (strchr(" \t\n\\", *p))
			o += sprintf(o, "\\%03o", (unsigned char)*p);
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* The ID of the newest FUSE mount on our mount point (want < 0), or
 * whether the mount with ID want is still there (1/0); -1 on error. */
static long scan(long want)
{
	if (lseek(mw.infofd, 0, SEEK_SET) < 0)
		return -1;
	FILE *f = fdopen(dup(mw.infofd), "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	long found = want < 0 ? -1 : 0;
	while (getline(&line, &cap, f) > 0) {
		long id;
		char point[4096], type[64];
		/* ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE ... */
		if (sscanf(line, "%ld %*d %*s %*s %4095s", &id, point) != 2)
			continue;
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash, " - %63s", type) != 1)
			continue;
		if (want >= 0) {
			if (id == want)
				found = 1;
		} else if (!strcmp(point, mw.point) &&
			   !strncmp(type, "fuse", 4)) {
			found = id;       /* the last one listed is on top */
		}
	}
	free(line);
	fclose(f);
	return found;
}

static void *watch_main(void *arg)
{
	struct pollfd p[2] = { { mw.infofd, POLLPRI, 0 },
			       { mw.stopfd, POLLIN, 0 } };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents)
			return NULL;
		if ((p[0].revents & (POLLPRI | POLLERR)) && scan(mw.id) == 0)
			break;
	}
	mw.gone(mw.opaque);
	return NULL;
}

int mountwatch_start(const char *mountpoint, void (*gone)(void *),
		     void *opaque)
{
	mw.gone = gone;
	mw.opaque = opaque;
	mw.point = escape(mountpoint);
	mw.infofd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	mw.stopfd = eventfd(0, EFD_CLOEXEC);
	if (!mw.point || mw.infofd < 0 || mw.stopfd < 0)
		goto fail;
	mw.id = scan(-1);
	if (mw.id < 0)
		goto fail;
	if (pthread_create(&mw.thread, NULL, watch_main, NULL))
		goto fail;
	mw.started = true;
	return 0;
fail:
	mountwatch_stop();
	return -1;
}

void mountwatch_stop(void)
{
	if (mw.started) {
		uint64_t one = 1;
		(void)!write(mw.stopfd, &one, sizeof one);
		pthread_join(mw.thread, NULL);
		mw.started = false;
	}
	if (mw.infofd >= 0)
		close(mw.infofd);
	if (mw.stopfd >= 0)
		close(mw.stopfd);
	mw.infofd = mw.stopfd = -1;
	free(mw.point);
	mw.point = NULL;
}
