/* qemu_argv.c - QEMU's command line for a run (see qemu_argv.h).
 *
 * QEMU starts with -S and connects, as a client (server=off), to emufs's
 * sockets for the QMP monitor and every serial channel while it
 * initialises (TCP ports for a launched QEMU: qemu_sock.h); emufs lets
 * the CPUs go only once every channel is attached.
 * The gdb stub listens on 127.0.0.1, on a port QEMU picks; a launched
 * QEMU's stub dials emufs like its other links, and emufs relays it to a
 * loopback port of its own (core/gdbrelay.h).
 */
#include "qemu_argv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/run.h"
#include "qemu_config.h"
#include "qemu_run.h"
#include "qemu_sock.h"
#include "qemu_trace.h"

static void argv_add(struct qemu_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void argv_add(struct qemu_argv *a, const char *fmt, ...)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof *v);
		if (!v) {
			a->failed = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&a->v[a->n], fmt, ap) < 0)
		a->failed = 1;
	else
		a->v[++a->n] = NULL;
	va_end(ap);
}

void qemu_argv_free(struct qemu_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* QEMU's option syntax splits on ',': a comma in a value is written ",,".
 * Paths from the config and the state directory go through this, so no
 * file name can smuggle in an option. */
static char *opt_escape(const char *s)
{
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n; i++)
		extra += s[i] == ',';
	char *out = malloc(n + extra + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		*o++ = s[i];
		if (s[i] == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* A serial channel is QEMU's pipe chardev on two FIFOs emufs made
 * (qemu_sock.c), not a socket: the guest's UART hands QEMU one byte at a
 * time and QEMU writes each at once. On a unix stream socket every such
 * write is a buffer (skb) of its own, ~1 KiB of the 208 KiB send buffer,
 * so ~250 bytes in flight fill it, and QEMU then sleeps 100 us per retry
 * with the guest stopped; a pipe packs the bytes into its pages, 64 KiB
 * in flight, like `-serial stdio` (docs/performance.md, the bulk row).
 *
 * mux: it goes through a mux chardev, whose escape (0x01,
 * qemu_emulator.serial_escape) lets emufs send a BREAK ("\x01b"); every
 * 0x01 of the user's input is sent doubled (channel.c), so no byte the
 * user writes is ever a mux command ("\x01x" would quit QEMU). */
static void add_chardev(struct qemu_argv *a, const char *backend,
			const char *id, const char *path, bool mux)
{
	char *p = opt_escape(path);
	if (!p) {
		a->failed = 1;
		return;
	}
	argv_add(a, "-chardev");
	argv_add(a, "%s,id=%s,path=%s%s%s", backend, id, p,
		 strcmp(backend, "socket") ? "" : ",server=off",
		 mux ? ",mux=on" : "");
	free(p);
}

/* A launched QEMU's link: it dials emufs's port on settings.listen (an
 * address literal: no ',' to escape). Serial bytes over TCP go one
 * segment per write as over a unix socket, but Nagle packs them while
 * one is unacknowledged. */
static void add_tcp_chardev(struct qemu_argv *a, const struct run *r,
			    const char *id, int port, bool mux)
{
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=%s,host=%s,port=%d,server=off%s%s", id,
		 r->target->listen, port, mux ? ",mux=on" : "",
		 r->target->tls_dir ? ",tls-creds=emufs-tls" : "");
}

/* With settings.tls, every TCP link is TLS: QEMU's client credentials
 * from the same directory (its client pair, and the CA that must have
 * signed emufs's server certificate, which must name settings.listen). */
static void add_tls_creds(struct qemu_argv *a, const struct run *r)
{
	char *dir = opt_escape(r->target->tls_dir);
	if (!dir) {
		a->failed = 1;
		return;
	}
	argv_add(a, "-object");
	argv_add(a, "tls-creds-x509,id=emufs-tls,dir=%s,endpoint=client,"
		 "verify-peer=on", dir);
	free(dir);
}

int qemu_argv_build(struct run *r, const char *binary, struct qemu_argv *a)
{
	const struct cfg_target *t = r->target;
	const struct qemu_config *q = qemu_config_of(t);
	struct qemu_run *qr = r->priv;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char fifo[PATH_MAX];

	argv_add(a, "%s", binary);
	argv_add(a, "-machine");
	argv_add(a, "%s", q->machine);
	argv_add(a, "-S");
	argv_add(a, "-no-user-config");
	argv_add(a, "-display");
	argv_add(a, "none");
	argv_add(a, "-monitor");
	argv_add(a, "none");
	argv_add(a, "-parallel");
	argv_add(a, "none");
	argv_add(a, "-gdb");
	argv_add(a, "%s", qr->links.tcp ? "chardev:emufs-gdb"
					: "tcp:127.0.0.1:0");
	if (q->preconfig)
		argv_add(a, "--preconfig");
	/* Trace output (qemu_trace.c): into emufs's FIFO, LOG_TRACE on,
	 * every event off. Not for a launched QEMU: the FIFO is in the
	 * state directory, which its node need not see. */
	if (!qr->links.tcp) {
		if (qemu_trace_path(r, path, sizeof path))
			return -ENAMETOOLONG;
		argv_add(a, "-D");
		argv_add(a, "%s", path);
		argv_add(a, "-d");
		argv_add(a, "trace:emufs-no-event*");
	}
	if (qr->links.tcp && r->target->tls_dir)
		add_tls_creds(a, r);
	if (qr->links.tcp) {
		/* The gdb link before the serial ones: QEMU's last TCP link
		 * stays a serial one (test_slurm.sh relies on it). */
		add_tcp_chardev(a, r, "emufs-qmp", qr->links.qmp_port, false);
		add_tcp_chardev(a, r, "emufs-gdb", qr->links.gdb_port, false);
	} else {
		if (qemu_sock_path(r, "qmp", path, sizeof path))
			return -ENAMETOOLONG;
		add_chardev(a, "socket", "emufs-qmp", path, false);
	}
	argv_add(a, "-mon");
	argv_add(a, "chardev=emufs-qmp,mode=control");

	/* One -serial per UART index up to the highest configured. */
	int top = -1;
	for (size_t i = 0; i < t->nchannels; i++)
		if (t->channels[i].index > top)
			top = t->channels[i].index;
	if (top < 0) {
		argv_add(a, "-serial");
		argv_add(a, "null");
	}
	for (int idx = 0; idx <= top; idx++) {
		const struct cfg_channel *c = NULL;
		for (size_t i = 0; i < t->nchannels; i++)
			if (t->channels[i].index == idx)
				c = &t->channels[i];
		argv_add(a, "-serial");
		if (!c) {
			argv_add(a, "null");
			continue;
		}
		char id[32];
		snprintf(id, sizeof id, "emufs-serial%d", idx);
		argv_add(a, "chardev:%s", id);
		if (qr->links.tcp) {
			add_tcp_chardev(a, r, id, qr->links.port[c - t->channels],
					true);
			continue;
		}
		if (qemu_fifo_path(r, c->name, fifo, sizeof fifo))
			return -ENAMETOOLONG;
		add_chardev(a, "pipe", id, fifo, true);
	}
	if (r->image) {          /* the target's kernel, or the user's */
		argv_add(a, "-kernel");
		argv_add(a, "%s", r->image);
	}
	/* Each one argument of its own: no option syntax to escape. */
	static const struct { const char *opt; size_t off; } kernel_opts[] = {
		{ "-initrd", offsetof(struct qemu_config, initrd) },
		{ "-dtb", offsetof(struct qemu_config, dtb) },
		{ "-append", offsetof(struct qemu_config, append) },
	};
	for (size_t i = 0; i < sizeof kernel_opts / sizeof *kernel_opts; i++) {
		const char *v = *(char *const *)((const char *)q +
						 kernel_opts[i].off);
		if (v) {
			argv_add(a, "%s", kernel_opts[i].opt);
			argv_add(a, "%s", v);
		}
	}
	for (size_t i = 0; i < q->ndrives; i++) {
		const struct qemu_drive *d = &q->drives[i];
		const char *file = qr->overlays[i] ? qr->overlays[i] : d->file;
		char *f = opt_escape(file);
		char *fmt = opt_escape(qr->overlays[i] ? "qcow2" : d->format);
		char *ifc = d->iface ? opt_escape(d->iface) : NULL;
		if (f && fmt && (ifc || !d->iface)) {
			argv_add(a, "-drive");
			argv_add(a, "file=%s,format=%s%s%s", f, fmt,
				 ifc ? ",if=" : "", ifc ? ifc : "");
		} else {
			a->failed = 1;
		}
		free(f);
		free(fmt);
		free(ifc);
	}
	for (size_t i = 0; i < q->nargs; i++)
		argv_add(a, "%s", q->args[i]);
	return a->failed ? -ENOMEM : 0;
}
