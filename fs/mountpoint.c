/* mountpoint.c - whether emufs may mount on a directory (mountpoint.h). */
#include "mountpoint.h"

#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void copy(char *to, size_t len, const char *from)
{
	snprintf(to, len, "%s", from);
}

bool mountpoint_mounted(const char *path, char *type, size_t typelen,
			char *source, size_t sourcelen)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return false;
	struct mntent m;
	char buf[8192];
	bool found = false;
	/* In mount order: the last entry for path is the one on top. */
	while (getmntent_r(f, &m, buf, sizeof buf)) {
		if (strcmp(m.mnt_dir, path))
			continue;
		found = true;
		copy(type, typelen, m.mnt_type);
		copy(source, sourcelen, m.mnt_fsname);
	}
	endmntent(f);
	return found;
}

static bool is_fuse(const char *type)
{
	return !strcmp(type, "fuse") || !strncmp(type, "fuse.", 5) ||
	       !strcmp(type, "fuseblk") || !strncmp(type, "fuseblk.", 8);
}

static enum mountpoint_state state_of_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return MOUNTPOINT_MISSING;
	case ENOTCONN:          /* the server is gone */
	case ECONNABORTED:      /* the connection was aborted */
		return MOUNTPOINT_STALE;
	default:
		return MOUNTPOINT_ERROR;
	}
}

void mountpoint_probe(const char *given, struct mountpoint *mp)
{
	struct stat st;

	memset(mp, 0, sizeof *mp);
	mp->path = realpath(given, NULL);
	if (!mp->path) {
		mp->err = errno;
		mp->state = state_of_errno(mp->err);
		return;
	}
	bool mounted = mountpoint_mounted(mp->path, mp->type, sizeof mp->type,
					  mp->source, sizeof mp->source);
	if (stat(mp->path, &st) < 0) {
		mp->err = errno;
		mp->state = state_of_errno(mp->err);
	} else if (!S_ISDIR(st.st_mode)) {
		mp->err = ENOTDIR;
		mp->state = MOUNTPOINT_MISSING;
	} else if (mounted && is_fuse(mp->type)) {
		mp->state = MOUNTPOINT_MOUNTED;
	}
}

void mountpoint_refuse(const char *given, const struct mountpoint *mp)
{
	switch (mp->state) {
	case MOUNTPOINT_MISSING:
		if (mp->err == ENOENT)
			fprintf(stderr, "emufs: %s: no such directory; make it "
				"first: mkdir %s\n", given, given);
		else
			fprintf(stderr, "emufs: %s: not a directory\n", given);
		break;
	case MOUNTPOINT_MOUNTED:
		fprintf(stderr, "emufs: %s: already mounted (%s from %s); "
			"unmount it first: fusermount3 -u %s\n", given,
			mp->type, mp->source, given);
		break;
	case MOUNTPOINT_STALE:
		fprintf(stderr, "emufs: %s: stale mount of a dead file system "
			"(%s%s%s, %s); remove it with: "
			"fusermount3 -u -z %s\n", given, mp->type,
			mp->type[0] ? ", " : "",
			mp->err == ENOTCONN ? "ENOTCONN" : "ECONNABORTED",
			strerror(mp->err), given);
		break;
	default:
		fprintf(stderr, "emufs: %s: %s\n", given, strerror(mp->err));
		break;
	}
}
