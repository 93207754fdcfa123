/* qemu_attach.h - attaching to a QEMU someone else started
 * (targets.*.attach, interface.md 6): qemu_attach.c. */
#ifndef EMUFS_QEMU_ATTACH_H
#define EMUFS_QEMU_ATTACH_H

#include <stddef.h>

struct run;

/* The launch of an attached target: connect to its QMP and serial
 * endpoints (TLS clients with settings.tls), and leave the machine as it
 * was, r->found_running saying how that is. Within the request timeout;
 * -EIO with one line in why naming the endpoint. r->priv is the run's
 * qemu_run already. */
int qemu_attach(struct run *r, char *why, size_t whylen);

#endif
