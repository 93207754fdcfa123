/* qmp_reply.h - the reply side of a QMP connection (qmp_reply.c): what the
 * I/O loop calls when QEMU's socket turns readable. Its own header, and
 * not qmp.h's, so that qmp_reply.c need not include qmp.h: the request
 * side (qmp.c) calls into the reply side (a lone requester reads its own
 * reply), never the other way round. qmp.h includes this for its users. */
#ifndef EMUFS_QEMU_QMP_REPLY_H
#define EMUFS_QEMU_QMP_REPLY_H

struct qmp;

/* Read what is available, up to a budget of a few hundred KB per call (so
 * a flood from one QEMU cannot hold the caller's loop: with a level-
 * triggered poll the rest comes at the next call), parse whole lines,
 * complete requests, deliver events. Partial lines are kept for the next
 * call; lines that are not JSON objects are counted and skipped. Returns
 * 0, or -1 once the peer closed or the socket failed: then every waiting
 * and every later request fails with -EIO. */
int qmp_on_readable(struct qmp *q);

#endif
