/* qemu_argv.h - QEMU's command line for a run, as an argv array (no
 * shell): the machine, -S, the QMP monitor and serial chardevs as clients
 * of emufs's sockets (qemu_sock.h), drives (or their overlays), the
 * target's own args.
 */
#ifndef EMUFS_QEMU_ARGV_H
#define EMUFS_QEMU_ARGV_H

#include <stddef.h>

struct run;

struct qemu_argv {
	char **v;                /* NULL-terminated once n > 0 */
	size_t n, cap;
	int failed;              /* out of memory on the way */
};

/* binary and its options for r (its target and overlays) into a (zeroed
 * by the caller); 0, -ENAMETOOLONG, -ENOMEM. qemu_argv_free() it in any
 * case. */
int qemu_argv_build(struct run *r, const char *binary, struct qemu_argv *a);
void qemu_argv_free(struct qemu_argv *a);

#endif
