/* qemu.c - the QEMU connector: a run's launch and lifecycle.
 *
 * A launch: the command line (qemu_argv.c) with -S, sockets QEMU connects
 * to as a client (qemu_sock.c), the QMP link (qemu_link.c), then, with a
 * preconfig file (QEMU also started with --preconfig), the file's lines
 * over QMP before the machine is built and x-exit-preconfig; the gdb
 * address from query-chardev; every channel attached; only then `cont`,
 * so not a byte the guest prints is lost. Then quit, reset, pause, resume
 * and the raw qmp file, each one QMP command; props/ and pins are
 * qemu_qom.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bignum.h"
#include "core/clock.h"
#include "core/connector.h"
#include "core/run.h"
#include "core/tlsrelay.h"
#include "core/ioloop.h"
#include "overlay.h"
#include "preconfig.h"
#include "qemu.h"

#include "qemu_argv.h"
#include "qemu_attach.h"
#include "qemu_config.h"
#include "qemu_link.h"
#include "qemu_pins.h"
#include "qemu_qom.h"
#include "qemu_qom_cache.h"
#include "qemu_run.h"
#include "qemu_snapshot.h"
#include "qemu_sock.h"
#include "qemu_trace.h"
#include "qmp.h"

static int execute(struct run *r, const char *cmd)
{
	struct qmp *q = qemu_run_qmp(r);
	struct qmp_error err;
	if (!q)
		return -ESRCH;
	int rc = qmp_execute(q, cmd, NULL, r->timeout_ms, NULL, &err);
	if (rc)
		run_log(r, "qmp %s: %s: %s", cmd, err.cls,
			     err.desc);
	return rc;
}

/* ---- preconfig, overlays, gdb --------------------------------------- */

#define PRECONFIG_MAX_BYTES (1024 * 1024)

/* Run the preconfig file's lines in order; the first failure ends it. */
static int run_preconfig(struct run *r, const char *file, char *why,
			 size_t wl)
{
	FILE *f = fopen(file, "re");
	if (!f) {
		snprintf(why, wl, "preconfig %s: %s", file, strerror(errno));
		return -EIO;
	}
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	int lineno = 0, rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		total += n;
		if (total > PRECONFIG_MAX_BYTES) {
			snprintf(why, wl, "preconfig %s: larger than %d bytes",
				 file, PRECONFIG_MAX_BYTES);
			rc = -EIO;
			break;
		}
		if (n && line[n - 1] == '\n')
			n--;
		char *cmd, perr[160];
		json_t *args;
		int p = preconfig_parse_line(line, n, &cmd, &args, perr,
					     sizeof perr);
		if (p == 1)
			continue;
		if (p < 0) {
			snprintf(why, wl, "preconfig %s:%d: %s", file, lineno,
				 perr);
			rc = -EIO;
			break;
		}
		struct qmp_error err;
		int e = qmp_execute(qemu_run_qmp(r), cmd, args, r->timeout_ms,
				    NULL, &err);
		if (e) {
			snprintf(why, wl, "preconfig %s:%d: %s: %s: %s", file,
				 lineno, cmd, err.cls, err.desc);
			rc = -EIO;
		}
		free(cmd);
		json_decref(args);
	}
	free(line);
	fclose(f);
	return rc;
}

static int make_overlays(struct run *r, char *why, size_t wl)
{
	const struct qemu_config *q = qemu_config_of(r->target);
	struct qemu_run *qr = r->priv;
	qr->overlays = calloc(q->ndrives + 1, sizeof *qr->overlays);
	if (!qr->overlays)
		return -ENOMEM;
	qr->ndrives = q->ndrives;
	for (size_t i = 0; i < q->ndrives; i++) {
		if (!q->drives[i].overlay)
			continue;
		if (asprintf(&qr->overlays[i], "%s/drive%zu.qcow2",
			     run_dir(r), i) < 0) {
			qr->overlays[i] = NULL;
			return -ENOMEM;
		}
		/* Never written through: the name may be a snapshot's disk
		 * an earlier run linked (qemu_snapshot.c). */
		unlink(qr->overlays[i]);
		int rc = r->snapshot ? qemu_snapshot_disk(r, i, qr->overlays[i],
							  why, wl)
				     : overlay_create("qemu-img",
						      q->drives[i].file,
						      q->drives[i].format,
						      qr->overlays[i],
						      r->timeout_ms, why, wl);
		if (rc)
			return rc;
	}
	return 0;
}

static void remove_overlays(struct qemu_run *qr)
{
	for (size_t i = 0; qr->overlays && i < qr->ndrives; i++)
		if (qr->overlays[i])
			unlink(qr->overlays[i]);
}

/* Where QEMU's gdb stub listens: the "gdb" chardev of query-chardev,
 * "disconnected:tcp:127.0.0.1:PORT,server=on". Asked at start (one round
 * trip), so reading `gdb` never waits on the emulator. */
static void find_gdb(struct run *r, char *out, size_t len)
{
	struct qemu_run *qr = r->priv;
	json_t *ret = NULL;
	if (qmp_execute(qr->qmp, "query-chardev", NULL, r->timeout_ms, &ret,
			NULL))
		return;
	size_t i;
	json_t *c;
	json_array_foreach(ret, i, c) {
		const char *label = json_string_value(json_object_get(c,
								      "label"));
		const char *fn = json_string_value(json_object_get(c,
								   "filename"));
		const char *tcp = fn ? strstr(fn, "tcp:") : NULL;
		if (!label || strcmp(label, "gdb") || !tcp)
			continue;
		snprintf(out, len, "%.*s", (int)strcspn(tcp + 4, ","), tcp + 4);
	}
	json_decref(ret);
}

/* A launched QEMU's gdb stub, dialled back like its other links,
 * relayed to a loopback port (qemu_link_gdb). */
static int launch_gdb_link(struct run *r, long long deadline, char *why,
			   size_t wl)
{
	struct qemu_run *q = r->priv;
	int fd = qemu_links_gdb(r, &q->links, deadline);
	int rc = fd < 0 ? fd : qemu_link_gdb(r, fd);
	if (rc == -EPROTO)
		snprintf(why, wl, "%s", q->links.tls_why);
	else if (rc)
		snprintf(why, wl, "gdb link: %s", strerror(-rc));
	return rc ? -EIO : 0;
}

/* QEMU's reason, when the QMP link's TLS relay ended with one, appended
 * to why: QEMU ends every link when it refuses emufs's server
 * certificate, so whatever failed after the QMP link (another link, the
 * handshake) failed because of it, and the log must say that first
 * cause rather than its consequence. */
static void add_qmp_tls_cause(struct run *r, char *why, size_t wl)
{
	struct qemu_run *q = r->priv;
	char tls[200] = "";
	if (q->relays.n)      /* the QMP link's relay: the first */
		tls_relay_error(q->relays.v[0], tls, sizeof tls);
	size_t n = strlen(why);        /* < wl: why is a string in it */
	if (tls[0])
		snprintf(why + n, wl - n, "; the QMP link's TLS: %s (QEMU ends the "
			 "link when emufs's server certificate does not name "
			 "%s)", tls, r->target->listen);
}

/* The command line as one line, words separated by spaces: what a
 * snapshot of the run is bound to. malloc'd, or NULL. */
static char *join_argv(const struct qemu_argv *a)
{
	size_t len = 1;
	for (size_t i = 0; i < a->n && a->v[i]; i++)
		len += strlen(a->v[i]) + 1;
	char *s = malloc(len), *p = s;
	for (size_t i = 0; s && i < a->n && a->v[i]; i++)
		p += sprintf(p, "%s%s", i ? " " : "", a->v[i]);
	if (s)
		*p = '\0';
	return s;
}

/* How long QEMU has to dial its QMP link: the request timeout; for a
 * launched QEMU at least LAUNCH_CONNECT_MS, since a scheduler starts a
 * job step when it can (srun takes 1-3 s on an idle one-node cluster).
 * A launcher that ends first still ends the wait at once. */
#define LAUNCH_CONNECT_MS 30000

static int connect_wait_ms(const struct run *r)
{
	if (r->target->launcher && r->timeout_ms < LAUNCH_CONNECT_MS)
		return LAUNCH_CONNECT_MS;
	return r->timeout_ms;
}

/* ---- the connector ------------------------------------------------- */

static int qemu_launch(struct run *r, bool paused, char *why, size_t wl)
{
	const struct cfg_target *t = r->target;
	struct qemu_run *q = calloc(1, sizeof *q);
	struct qemu_argv a = { 0 };
	char path[PATH_MAX];
	char *binary = NULL;
	int rc = -ENOMEM;

	r->priv = q;       /* released with the run, whatever happens */
	if (q)
		q->links.qmp_fd = -1;
	if (!q || !(q->qom = qom_cache_new())) {
		snprintf(why, wl, "out of memory");
		goto out;
	}
	if (t->attach)           /* someone else started it */
		return qemu_attach(r, why, wl);
	binary = process_find_binary(qemu_config_of(t)->binary);
	if (!binary) {
		snprintf(why, wl, "%s: %s", qemu_config_of(t)->binary, strerror(errno));
		rc = -EIO;
		goto out;
	}
	if ((rc = make_overlays(r, why, wl)))
		goto out;
	/* Listen and make the FIFOs before spawning: QEMU connects and
	 * opens them during its start-up; the command line names them. */
	q->links.relays = &q->relays;
	if ((rc = qemu_links_open(r, &q->links, why, wl)))
		goto out;
	if ((rc = qemu_argv_build(r, binary, &a))) {
		snprintf(why, wl, "cannot build the command line: %s",
			 strerror(-rc));
		goto out;
	}
	if (!(q->argv_text = join_argv(&a))) {
		rc = -ENOMEM;
		snprintf(why, wl, "out of memory");
		goto out;
	}
	/* The trace FIFO's reader, before QEMU opens it (-D) to write; a
	 * launched QEMU has none (qemu_trace.c). */
	if (!t->launcher &&
	    ((rc = qemu_trace_path(r, path, sizeof path)) ||
	     (rc = run_attach_trace(r, path)))) {
		snprintf(why, wl, "trace: %s", strerror(-rc));
		goto out;
	}
	if ((rc = run_spawn(r, a.v, NULL, why, wl)))
		goto out;

	long long deadline = clock_now_ms() + connect_wait_ms(r);
	int fd = qemu_links_qmp(r, &q->links, deadline);
	if (fd < 0) {
		rc = fd;
		if (rc == -EPROTO) {
			snprintf(why, wl, "%s", q->links.tls_why);
			rc = -EIO;
		} else {
			snprintf(why, wl, "QEMU %s its QMP socket",
				 rc == -EIO ? "exited before it connected"
					    : "did not connect");
		}
		goto out;
	}
	rc = qemu_link_open(r, fd);
	if (rc == -ENOMEM)
		goto out;
	if (rc) {
		snprintf(why, wl, "QMP handshake failed: %s", strerror(-rc));
		goto out;
	}
	/* Every link before the QMP handshake: QEMU dialled each chardev
	 * during its start-up, so with TLS no link's handshake waits behind
	 * the monitor's first answer. (Whether QEMU 7.2 needs this order
	 * was not isolated: the stall then seen was the one of core/
	 * tlsrelay.h, one byte per record.) */
	for (size_t i = 0; i < t->nchannels && rc == 0; i++) {
		int cfd, cwfd;
		if ((rc = qemu_links_channel(r, &q->links, i, deadline, &cfd,
					     &cwfd)) == 0 &&
		    ((q->links.tcp && (rc = qemu_link_watch_hup(r, i, cfd))) ||
		     (rc = run_attach_channel(r, i, cfd, cwfd)))) {
			close(cfd);
			if (cwfd != cfd)
				close(cwfd);
		}
		if (rc == -EPROTO) {
			snprintf(why, wl, "%s", q->links.tls_why);
			rc = -EIO;
		} else if (rc)
			snprintf(why, wl, "channel %s: %s",
				 t->channels[i].name, strerror(-rc));
	}
	if (rc == 0 && q->links.tcp)
		rc = launch_gdb_link(r, deadline, why, wl);
	if (rc) {
		add_qmp_tls_cause(r, why, wl);
		goto out;
	}
	struct qmp_error err;
	if ((rc = qmp_handshake(q->qmp, r->timeout_ms))) {
		snprintf(why, wl, "QMP handshake failed: %s", strerror(-rc));
		add_qmp_tls_cause(r, why, wl);
		goto out;
	}
	if (qemu_config_of(t)->preconfig &&
	    ((rc = run_preconfig(r, qemu_config_of(t)->preconfig, why, wl)) ||
	     (rc = qmp_execute(q->qmp, "x-exit-preconfig", NULL,
			       r->timeout_ms, NULL, &err)))) {
		if (!why[0])
			snprintf(why, wl, "x-exit-preconfig: %s: %s", err.cls,
				 err.desc);
		rc = -EIO;
		goto out;
	}
	if (!q->links.tcp)       /* a launched one's is the relay's */
		find_gdb(r, q->gdb, sizeof q->gdb);
	if (!paused &&
	    (rc = qmp_execute(q->qmp, "cont", NULL, r->timeout_ms, NULL,
			      &err))) {
		snprintf(why, wl, "cont: %s: %s", err.cls, err.desc);
		goto out;
	}
	rc = 0;
out:
	if (q)
		qemu_links_close(r, &q->links);
	/* QEMU opened its -D log during its start-up, before QMP: the name
	 * has done its job. */
	if (qemu_trace_path(r, path, sizeof path) == 0)
		unlink(path);
	free(binary);
	qemu_argv_free(&a);
	return rc;
}

static int qemu_quit(struct run *r, int timeout_ms)
{
	struct qmp *q = qemu_run_qmp(r);
	return q ? qmp_execute_final(q, "quit", timeout_ms) : -ESRCH;
}

static int qemu_reset(struct run *r)
{
	return execute(r, "system_reset");
}

static int qemu_pause(struct run *r)
{
	return execute(r, "stop");
}

static int qemu_resume(struct run *r)
{
	return execute(r, "cont");
}

/* The run's watches on the I/O loop: the QMP link and its lost-link
 * timer. Idempotent: shutdown and release both call it. */
static void unwatch(struct qemu_run *q)
{
	qemu_link_unwatch(q);
	qemu_link_unwatch_hups(q, false);
	qemu_link_unwatch_gdb(q);
	ioloop_remove(atomic_exchange(&q->lost_watch, NULL));
}

static void qemu_shutdown(struct run *r)
{
	struct qemu_run *q = r->priv;
	if (!q)
		return;
	unwatch(q);
	if (q->qmp)
		qmp_shutdown(q->qmp);
	remove_overlays(q);
	/* The run is over: no listing of it is asked again (run_close
	 * tells the adapter; no cache: the launch failed before any). */
	if (q->qom)
		qom_cache_invalidate(q->qom);
}

static void qemu_release(struct run *r)
{
	struct qemu_run *q = r->priv;
	if (!q)
		return;
	unwatch(q);
	qemu_link_unwatch_hups(q, true);
	if (q->qmp)
		qmp_free(q->qmp);
	qemu_relays_free(&q->relays);
	qom_cache_free(q->qom);
	free(q->events.lines);
	free(q->events.names);
	remove_overlays(q);
	for (size_t i = 0; q->overlays && i < q->ndrives; i++)
		free(q->overlays[i]);
	free(q->overlays);
	free(q->argv_text);
	free(q->snapshot_key);
	free(q);
	r->priv = NULL;
}

/* After a command through the qmp file (answered, failed or timed out:
 * it may have run): QEMU announces no object-add, object-del or qom-set
 * of a link, so props/ forgets what such a command may have changed. */
static void raw_changes_tree(struct run *r, json_t *cmd)
{
	struct qom_cache *c = ((struct qemu_run *)r->priv)->qom;
	const char *ex = json_string_value(json_object_get(cmd, "execute"));
	json_t *args = json_object_get(cmd, "arguments");
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *prop = json_string_value(json_object_get(args,
							     "property"));
	if (!qom_command_may_change_tree(ex))
		return;
	if (!strcmp(ex, "qom-set") && path && prop)
		qom_cache_forget_link(c, path, prop);  /* only a link's */
	else
		qom_cache_invalidate(c);
	run_props_changed(r);
}

/* The qmp file: a client's JSON command, its reply line. */
static int qemu_raw(struct run *r, const char *cmd, size_t len, char **reply)
{
	struct qmp *q = qemu_run_qmp(r);
	json_error_t jerr;
	if (!q)
		return -ESRCH;
	/* Exact integers past INT64_MAX too (a uint64 qom-set). */
	json_t *obj = bignum_loadb(cmd, len, 0, &jerr);
	if (!obj) {
		run_log(r, "write to qmp refused: bad JSON: %s",
			     jerr.text);
		return -EINVAL;
	}
	int rc = qmp_execute_raw(q, obj, r->timeout_ms, reply);
	raw_changes_tree(r, obj);
	json_decref(obj);
	if (rc == -EINVAL)
		run_log(r, "write to qmp refused: expected an "
			     "object with a string \"execute\", and no Unicode "
			     "noncharacters (QEMU refuses them)");
	else if (rc)
		run_log(r, "qmp: %s", strerror(-rc));
	return rc;
}

static int qemu_gdb_address(struct run *r, char *buf, size_t len)
{
	struct qemu_run *q = r->priv;
	if (!q || !q->gdb[0])
		return -ENOENT;
	snprintf(buf, len, "%s", q->gdb);     /* set before the run began */
	return 0;
}

static const struct connector_ops qemu_connector = {
	.launch = qemu_launch,
	.quit = qemu_quit,
	.reset = qemu_reset,
	.pause = qemu_pause,
	.resume = qemu_resume,
	.shutdown = qemu_shutdown,
	.release = qemu_release,
	.prop_lookup = qemu_prop_lookup,
	.prop_list = qemu_prop_list,
	.prop_get = qemu_prop_get,
	.prop_set = qemu_prop_set,
	.pin_get = qemu_pin_get,
	.pin_get_begin = qemu_pin_get_begin,
	.pin_get_end = qemu_pin_get_end,
	.pin_set = qemu_pin_set,
	.raw = qemu_raw,
	.gdb_address = qemu_gdb_address,
	.snapshot_save = qemu_snapshot_save,
	.snapshot_load = qemu_snapshot_load,
	.snapshot_key = qemu_snapshot_key,
	.trace_list = qemu_trace_list,
	.trace_set = qemu_trace_set,
};

const struct emulator qemu_emulator = {
	.name = "qemu",
	.conn = &qemu_connector,
	.raw_file = "qmp",
	.parse = qemu_config_parse,
	.free = qemu_config_free,
	.parse_channel = qemu_config_channel,
	.pin_key = "qom",
	.pin_keys = qemu_config_pin_keys,
	.parse_pin = qemu_config_pin,
	.shim_pins = true,
	.image_of = qemu_config_image,
	.serial_escape = 0x01,        /* the mux chardev's (qemu_argv.c) */
	.tcp_links = true,
	.attach = true,
};
