/* epoll_probe.h - whether an fd of this process is on any epoll set, as
 * the kernel lists it in /proc/self/fdinfo of each epoll fd ("tfd: N").
 * For the tests of what ioloop_ignore() takes off epoll. */
#ifndef EMUFS_TEST_EPOLL_PROBE_H
#define EMUFS_TEST_EPOLL_PROBE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool fd_on_epoll(int fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool on = false;

	if (!d)
		return false;
	while (!on && (e = readdir(d))) {
		char path[300], link[64], line[256];
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]"))
			continue;
		snprintf(path, sizeof path, "/proc/self/fdinfo/%s", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (!on && fgets(line, sizeof line, f)) {
			int tfd;
			on = sscanf(line, "tfd: %d", &tfd) == 1 && tfd == fd;
		}
		fclose(f);
	}
	closedir(d);
	return on;
}

#endif
