/* qemu_run.h - the QEMU connector's state of one run (run->priv), shared
 * by its files: qemu.c (launch and lifecycle), qemu_link.c (the QMP
 * link), qemu_argv.c (the command line), qemu_qom.c (props/ and pins).
 * Not for other modules: they go through connector.h.
 */
#ifndef EMUFS_QEMU_RUN_H
#define EMUFS_QEMU_RUN_H

#include <stddef.h>

#include "core/connector.h"
#include "qemu_sock.h"

struct qmp;
struct io_watch;
struct qom_cache;
struct gdb_relay;

/* QMP events read but not yet in `events`: their lines, each ending in
 * '\n', and their names, each ending in '\0' (I/O loop thread only). */
struct qemu_events {
	char *lines, *names;
	size_t len, cap, nlen, ncap;
};

struct qemu_run {
	struct qmp *qmp;
	struct qemu_events events;
	struct io_watch *_Atomic qmp_watch;  /* see run's watches */
	struct io_watch *_Atomic lost_watch; /* QMP lost, QEMU alive: kill */
	struct qom_cache *qom;     /* qom-list results of this run */
	char **overlays;           /* per drive: its overlay, or NULL */
	size_t ndrives;
	char gdb[64];              /* "127.0.0.1:PORT", set at launch */
	/* A launched or attached QEMU's stub relayed to gdb's port (qemu_link.c);
	 * taken (NULL) by whoever frees it. */
	struct gdb_relay *_Atomic gdb_relay;
	char *argv_text;           /* the command line, for snapshots'
				    * key; set at launch */
	char *snapshot_key;        /* the key, once asked (qemu_snapshot.c;
				    * under the instance's claim) */
	struct qemu_links links;   /* during the launch only */
	/* A launched QEMU's serial links, watched for a hang-up
	 * (qemu_link.c): one per channel, made during the launch. */
	struct qemu_hup *hups;
	size_t nhups;
	/* The link whose loss armed lost_watch ("QMP", a channel's name;
	 * I/O loop thread only). */
	const char *lost_link;
	struct qemu_relays relays;   /* settings.tls: until qemu_release */
};

/* A dup of a serial link's socket, watched for its hang-up. */
struct qemu_hup {
	struct run *run;
	const char *name;                 /* the channel's (the target's) */
	int fd;
	struct io_watch *_Atomic watch;
};

/* The run's QMP connection, or NULL before launch got that far. */
struct qmp *qemu_run_qmp(struct run *r);

#endif
