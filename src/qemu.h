/* qemu.h - what the QEMU connector's files share (qemu.c: launch and
 * lifecycle; qemu_qom.c: the QOM tree as props/). Not for other modules:
 * they go through connector.h. */
#ifndef EMUFS_QEMU_H
#define EMUFS_QEMU_H

#include <pthread.h>
#include <stdatomic.h>

#include "connector.h"

struct qmp;
struct io_watch;
struct qom_cache;

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
};

/* qemu.c */
struct qmp *qemu_qmp(struct run *r);

/* qemu_qom.c */
struct qom_cache *qom_cache_new(void);
void qom_cache_free(struct qom_cache *c);
int qemu_prop_lookup(struct run *r, const char *rel, struct prop_info *info);
int qemu_prop_list(struct run *r, const char *rel, struct prop_entry **ents,
		   size_t *n);
int qemu_prop_get(struct run *r, const char *rel, char **text);
int qemu_prop_set(struct run *r, const char *rel, const char *text,
		  size_t len);
int qemu_pin_get(struct run *r, const struct cfg_pin *pin, int *level);
int qemu_pin_set(struct run *r, const struct cfg_pin *pin, int level);

#endif
