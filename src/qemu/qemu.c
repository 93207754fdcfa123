/* qemu.c - the QEMU connector: launch over an argv array, control over QMP.
 *
 * emufs listens on unix sockets in the instance's 0700 state directory and
 * QEMU connects to them as a client (server=off): the QMP monitor and every
 * serial channel. QEMU connects while it initialises, before any CPU runs,
 * and starts with -S; emufs lets the CPUs go (`cont`) only once every
 * channel is attached, so not a byte the guest prints is lost.
 *
 * With a preconfig file QEMU also starts with --preconfig: emufs runs the
 * file's lines over QMP before the machine is built, then
 * x-exit-preconfig. The gdb stub listens on 127.0.0.1, on a port QEMU
 * picks; query-chardev tells which.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/connector.h"
#include "core/ioloop.h"
#include "core/run.h"
#include "overlay.h"
#include "preconfig.h"
#include "qemu.h"
#include "qemu_config.h"
#include "qmp.h"

struct qmp *qemu_qmp(struct run *r)
{
	struct qemu_run *q = r->priv;
	return q ? q->qmp : NULL;
}

/* ---- argv ---------------------------------------------------------- */

struct argv {
	char **v;
	size_t n, cap;
	int failed;
};

static void argv_add(struct argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void argv_add(struct argv *a, const char *fmt, ...)
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

static void argv_free(struct argv *a)
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

static int sock_path(struct run *r, const char *name, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, "%s/%s.sock", run_dir(r), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void add_chardev(struct argv *a, const char *id, const char *path)
{
	char *p = opt_escape(path);
	if (!p) {
		a->failed = 1;
		return;
	}
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=%s,path=%s,server=off", id, p);
	free(p);
}

static int build_argv(struct run *r, const char *binary, struct argv *a)
{
	const struct cfg_target *t = r->target;
	const struct qemu_config *q = qemu_config_of(t);
	struct qemu_run *qr = r->priv;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

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
	argv_add(a, "tcp:127.0.0.1:0");
	if (q->preconfig)
		argv_add(a, "--preconfig");
	if (sock_path(r, "qmp", path, sizeof path))
		return -ENAMETOOLONG;
	add_chardev(a, "emufs-qmp", path);
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
		if (sock_path(r, c->name, path, sizeof path))
			return -ENAMETOOLONG;
		add_chardev(a, id, path);
	}
	if (q->kernel) {
		argv_add(a, "-kernel");
		argv_add(a, "%s", q->kernel);
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

/* ---- sockets ------------------------------------------------------- */

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 4) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Accept QEMU's connection on lfd before the deadline; -EIO if the
 * process ends first. */
static int accept_by(struct run *r, int lfd, long long deadline)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (run_exited(r))
			return -EIO;
		long long left = deadline - clock_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p[2] = { { lfd, POLLIN, 0 },
				       { run_exit_fd(r), POLLIN, 0 } };
		poll(p, 2, left > 100 ? 100 : (int)left);
	}
}

/* ---- QMP plumbing -------------------------------------------------- */

static void on_qmp_event(void *opaque, const char *line, json_t *ev)
{
	struct run *r = opaque;
	run_emulator_event(r, line, json_string_value(json_object_get(ev,
								      "event")));
}

static void on_qmp_readable(void *opaque, uint32_t events)
{
	/* Held while we run: once the watch is gone (our EOF), a thread
	 * finishing the run no longer waits for us (see instance.c). */
	struct run *r = run_get(opaque);
	struct qemu_run *q = r->priv;
	if (qmp_on_readable(q->qmp) < 0)       /* EOF: stop watching */
		ioloop_remove(atomic_exchange(&q->qmp_watch, NULL));
	run_put(r);
}

static int execute(struct run *r, const char *cmd)
{
	struct qmp *q = qemu_qmp(r);
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
		int e = qmp_execute(qemu_qmp(r), cmd, args, r->timeout_ms,
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
		int rc = overlay_create("qemu-img", q->drives[i].file,
					q->drives[i].format, qr->overlays[i],
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

/* ---- the connector ------------------------------------------------- */

static int qemu_launch(struct run *r, bool paused, char *why, size_t wl)
{
	const struct cfg_target *t = r->target;
	struct qemu_run *q = calloc(1, sizeof *q);
	struct argv a = { 0 };
	int *lfds = calloc(t->nchannels + 1, sizeof *lfds);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *binary = NULL;
	int rc = -ENOMEM;

	r->priv = q;       /* released with the run, whatever happens */
	if (!q || !lfds || !(q->qom = qom_cache_new())) {
		snprintf(why, wl, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= t->nchannels; i++)
		lfds[i] = -1;
	binary = process_find_binary(qemu_config_of(t)->binary);
	if (!binary) {
		snprintf(why, wl, "%s: %s", qemu_config_of(t)->binary, strerror(errno));
		rc = -EIO;
		goto out;
	}
	if ((rc = make_overlays(r, why, wl)))
		goto out;
	if ((rc = build_argv(r, binary, &a))) {
		snprintf(why, wl, "cannot build the command line: %s",
			 strerror(-rc));
		goto out;
	}
	/* Listen before spawning: QEMU connects during its start-up. */
	for (size_t i = 0; i <= t->nchannels; i++) {
		const char *name = i == 0 ? "qmp" : t->channels[i - 1].name;
		sock_path(r, name, path, sizeof path);
		if ((lfds[i] = listen_at(path)) < 0) {
			rc = lfds[i];
			snprintf(why, wl, "%s: %s", path, strerror(-rc));
			goto out;
		}
	}
	if ((rc = run_spawn(r, a.v, NULL, why, wl)))
		goto out;

	long long deadline = clock_now_ms() + r->timeout_ms;
	int fd = accept_by(r, lfds[0], deadline);
	if (fd < 0) {
		rc = fd;
		snprintf(why, wl, "QEMU %s its QMP socket",
			 rc == -EIO ? "exited before it connected"
				    : "did not connect");
		goto out;
	}
	q->qmp = qmp_new(fd, on_qmp_event, r);
	if (!q->qmp) {
		close(fd);
		rc = -ENOMEM;
		goto out;
	}
	q->qmp_watch = ioloop_add(run_loop(r), fd, EPOLLIN,
				  on_qmp_readable, r);
	struct qmp_error err;
	if (!q->qmp_watch ||
	    (rc = qmp_handshake(q->qmp, r->timeout_ms))) {
		snprintf(why, wl, "QMP handshake failed: %s",
			 strerror(rc ? -rc : EIO));
		rc = rc ? rc : -EIO;
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
	find_gdb(r, q->gdb, sizeof q->gdb);
	for (size_t i = 0; i < t->nchannels && rc == 0; i++) {
		int cfd = accept_by(r, lfds[i + 1], deadline);
		if (cfd < 0) {
			rc = cfd;
			snprintf(why, wl, "QEMU did not connect channel %s",
				 t->channels[i].name);
		} else if ((rc = run_attach_channel(r, i, cfd))) {
			close(cfd);
			snprintf(why, wl, "channel %s: %s",
				 t->channels[i].name, strerror(-rc));
		}
	}
	if (rc)
		goto out;
	if (!paused &&
	    (rc = qmp_execute(q->qmp, "cont", NULL, r->timeout_ms, NULL,
			      &err))) {
		snprintf(why, wl, "cont: %s: %s", err.cls, err.desc);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; lfds && i <= t->nchannels; i++) {
		if (lfds[i] < 0)
			continue;
		close(lfds[i]);
		const char *name = i == 0 ? "qmp" : t->channels[i - 1].name;
		if (sock_path(r, name, path, sizeof path) == 0)
			unlink(path);
	}
	free(lfds);
	free(binary);
	argv_free(&a);
	return rc;
}

static int qemu_quit(struct run *r, int timeout_ms)
{
	struct qmp *q = qemu_qmp(r);
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

static void qemu_shutdown(struct run *r)
{
	struct qemu_run *q = r->priv;
	if (!q)
		return;
	ioloop_remove(atomic_exchange(&q->qmp_watch, NULL));
	if (q->qmp)
		qmp_shutdown(q->qmp);
	remove_overlays(q);
}

static void qemu_release(struct run *r)
{
	struct qemu_run *q = r->priv;
	if (!q)
		return;
	ioloop_remove(atomic_exchange(&q->qmp_watch, NULL));
	if (q->qmp)
		qmp_free(q->qmp);
	qom_cache_free(q->qom);
	remove_overlays(q);
	for (size_t i = 0; q->overlays && i < q->ndrives; i++)
		free(q->overlays[i]);
	free(q->overlays);
	free(q);
	r->priv = NULL;
}

/* The qmp file: a client's JSON command, its reply line. */
static int qemu_raw(struct run *r, const char *cmd, size_t len, char **reply)
{
	struct qmp *q = qemu_qmp(r);
	json_error_t jerr;
	if (!q)
		return -ESRCH;
	json_t *obj = json_loadb(cmd, len, 0, &jerr);
	if (!obj) {
		run_log(r, "write to qmp refused: bad JSON: %s",
			     jerr.text);
		return -EINVAL;
	}
	int rc = qmp_execute_raw(q, obj, r->timeout_ms, reply);
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
	.pin_set = qemu_pin_set,
	.raw = qemu_raw,
	.gdb_address = qemu_gdb_address,
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
};
