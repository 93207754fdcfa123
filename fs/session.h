/* session.h - the FUSE session (session.c): mount, serve, unmount. */
#ifndef EMUFS_FS_SESSION_H
#define EMUFS_FS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

struct emufs_fs;
struct fuse_session;

/* A session serving fs, mounted on mountpoint (absolute; shown: as the
 * user gave it, for messages), its fd close-on-exec; source is what the
 * mount table shows as the mount's source (the config's path), fuse_opts
 * the user's -o options, escaped. 0, or the exit status after a
 * one-line message: 2 for bad -o options, 1 if it cannot mount. */
int fs_session_new(struct emufs_fs *fs, const char *argv0,
		   const char *source, const char *fuse_opts, bool debug,
		   const char *mountpoint, const char *shown,
		   struct fuse_session **out);
/* How a signal ends the mount: begin(opaque) ends follow/'s reads (end
 * of file); the workers serve on while open(opaque), the number of
 * follow/ files still open, goes down: until 0, until none closed for
 * idle_ms, or for max_ms in all. However the session ends, quiet(opaque)
 * runs before the workers stop: it stops what may wait in the kernel for
 * a request only a worker would read (props/'s notifications). */
struct fs_session_end {
	void (*begin)(void *opaque);
	size_t (*open)(void *opaque);
	void (*quiet)(void *opaque);
	void *opaque;
	int idle_ms, max_ms;
};
/* Serve requests until unmounted or signalled (SIGINT, SIGTERM, SIGHUP,
 * handled here; main ignores SIGPIPE); the exit status: 0 for an
 * unmount or a signal, 1 for an error. */
int fs_session_loop(struct fuse_session *se, const struct fs_session_end *end);
/* After the loop, once follow/'s blocked readers were answered end of
 * file: serve what open files send on their way out (a last read, the
 * FLUSH and RELEASE of their close) while busy(opaque) says some are
 * left, so they see a clean end and not ECONNABORTED. Ends once nothing
 * came for idle_ms (the rest are not closing), or after max_ms. One
 * thread. */
void fs_session_drain(struct fuse_session *se, bool (*busy)(void *),
		      void *opaque, int idle_ms, int max_ms);

#endif
