/* renode.c - the Renode connector: launch, lifecycle, serial channels,
 * the raw monitor and the gdb stub, all through the robot port (pins:
 * renode_pins.c; props/: renode_props.c; trace/: renode_trace.c).
 *
 * Launch: Renode starts headless with `--robot-server-port 0`, picks a
 * free port itself and writes it to <tmpdir>/renode-<pid>/robot_port, so
 * there is no window in which another process could take the port. The
 * tmpdir is a private directory in the instance's 0700 state directory
 * (TMPDIR, set in its environment): nobody else can plant a robot_port there,
 * and only this Renode writes one. The server accepts connections before
 * it knows its keywords (renode/renode#654), so the first keyword call is
 * retried until it answers or the start deadline passes. Then, through
 * ExecuteCommand: the machine and platform (or the script), the firmware,
 * the configured commands, a server-socket terminal per UART (telnet off)
 * connected to emufs, a gdb server, and `start` unless paused.
 *
 * Ports emufs picks (terminals, gdb): found by binding 127.0.0.1:0 and
 * closing; Renode then listens on that port on all interfaces. If another
 * process took the port in between, Renode's command fails and emufs tries
 * another. Renode's own robot port listens on all interfaces too
 * (its HttpListener prefix has a wildcard host): docs/renode.md says what
 * that means.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/connector.h"
#include "core/run.h"
#include "renode.h"
#include "renode_config.h"
#include "renode_parse.h"
#include "renode_pins.h"
#include "renode_props.h"
#include "renode_run.h"
#include "renode_snapshot.h"
#include "renode_trace.h"

/* Renode (.NET) takes seconds to start, load a platform and compile; every
 * launch step shares this deadline rather than the request timeout. */
#define RENODE_START_MS 30000
#define RENODE_PORT_TRIES 8
#define RENODE_POLL_MS 20

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- the private tmpdir -------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(flag == FTW_DP ? rmdir : unlink)(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A decimal port in a file Renode may still be writing: 0 until whole. */
static int read_port(const char *path)
{
	char buf[16];
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end;
	long p = strtol(buf, &end, 10);
	end += strspn(end, " \r\n");
	return end != buf && !*end && p > 0 && p < 65536 ? (int)p : 0;
}

/* <tmpdir>/renode-<pid>/robot_port; failing that, any renode-<n>
 * directory in the private tmpdir (a wrapper script that forks Renode
 * rather than exec'ing it has another pid). */
static int find_port(const char *tmpdir, int pid)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/renode-%d/robot_port", tmpdir, pid);
	int port = read_port(path);
	DIR *d = port ? NULL : opendir(tmpdir);
	struct dirent *e;
	while (d && !port && (e = readdir(d))) {
		if (strncmp(e->d_name, "renode-", 7))
			continue;
		snprintf(path, sizeof path, "%s/%s/robot_port", tmpdir,
			 e->d_name);
		port = read_port(path);
	}
	if (d)
		closedir(d);
	return port;
}

static int wait_port(struct run *r, const char *tmpdir, long long deadline)
{
	for (;;) {
		int port = find_port(tmpdir, run_pid(r));
		if (port)
			return port;
		if (run_exited(r))
			return -EIO;
		if (clock_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(RENODE_POLL_MS);
	}
}

/* ---- TCP ports and sockets ----------------------------------------- */

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	return sa;
}

/* A port free on 127.0.0.1 right now (the kernel's pick), or -errno. */
static int free_port(void)
{
	struct sockaddr_in sa = loopback(0);
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		 getsockname(fd, (struct sockaddr *)&sa, &sl) < 0
		 ? -errno : ntohs(sa.sin_port);
	close(fd);
	return rc;
}

/* Connect to 127.0.0.1:port before the deadline; a non-blocking fd. */
static int connect_by(struct run *r, int port, long long deadline)
{
	struct sockaddr_in sa = loopback(port);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (rc < 0 && errno == EINPROGRESS) {
			long long left = deadline - clock_now_ms();
			struct pollfd p = { fd, POLLOUT, 0 };
			int err = 0;
			socklen_t el = sizeof err;
			if (left > 0 && poll(&p, 1, (int)left) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
				       &el) == 0 && err == 0)
				rc = 0;
			else
				errno = err ? err : ETIMEDOUT;
		}
		if (rc == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof one);
			return fd;
		}
		int e = errno;
		close(fd);
		if (e != ECONNREFUSED || run_exited(r) || clock_now_ms() >= deadline)
			return -e;
		sleep_ms(RENODE_POLL_MS);
	}
}

/* ---- launch -------------------------------------------------------- */

struct boot {
	struct run *r;
	struct robot *rb;
	char *why;
	size_t wl;
};

/* One set-up line; on failure why names the line and Renode's reason. */
static int boot_exec(struct boot *b, const char *line)
{
	struct robot_result res;
	int rc = robot_execute(b->rb, line, &res);
	if (rc) {
		char e[300];
		snprintf(b->why, b->wl, "%s: %s", line,
			 robot_error_line(&res, e, sizeof e));
	}
	robot_result_clear(&res);
	return rc ? (rc == -ETIMEDOUT ? rc : -EIO) : 0;
}

static int boot_execf(struct boot *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int boot_execf(struct boot *b, const char *fmt, ...)
{
	char *line;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	int rc = boot_exec(b, line);
	free(line);
	return rc;
}

/* Retry a harmless first call until Renode answers it (#654). */
static int wait_ready(struct boot *b, long long deadline)
{
	for (;;) {
		struct robot_result res;
		int rc = robot_execute(b->rb, "version", &res);
		if (rc == 0 || res.status == ROBOT_FAIL) {
			char *v = renode_no_cr(res.ret);
			if (v)
				run_log(b->r, "renode: %.*s",
					     (int)strcspn(v, "\n"), v);
			free(v);
			robot_result_clear(&res);
			return 0;
		}
		char e[300];
		snprintf(b->why, b->wl, "Renode's robot port did not answer: "
			 "%s", robot_error_line(&res, e, sizeof e));
		robot_result_clear(&res);
		if (run_exited(b->r))
			return -EIO;
		if (clock_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(50);
	}
}

/* The machine: a platform in a new machine, or a script; the firmware
 * and the configured commands. */
static int boot_machine(struct boot *b)
{
	const struct renode_config *c = renode_config_of(b->r->target);
	const char *path = NULL;        /* one the monitor cannot express */
	char *tok = NULL;
	int rc = 0;
	if (c->platform) {
		if (!(tok = renode_path_token(path = c->platform)))
			goto bad_path;
		if ((rc = boot_execf(b, "mach create \"%s\"",
				     run_name(b->r))) ||
		    (rc = boot_execf(b, "machine LoadPlatformDescription %s",
				     tok)))
			goto out;
		free(tok);
		tok = NULL;
	} else {
		struct robot_result res;
		const char *arg = c->script;
		rc = robot_run_keyword(b->rb, "ExecuteScript", &arg, 1, &res);
		if (rc) {
			char e[300];
			snprintf(b->why, b->wl, "script %s: %s", c->script,
				 robot_error_line(&res, e, sizeof e));
			rc = rc == -ETIMEDOUT ? rc : -EIO;
		}
		robot_result_clear(&res);
		if (rc)
			goto out;
	}
	if (b->r->image) {       /* the target's firmware, or the user's */
		if (!(tok = renode_path_token(path = b->r->image)))
			goto bad_path;
		if ((rc = boot_execf(b, "sysbus LoadELF %s", tok)))
			goto out;
	}
	for (size_t i = 0; i < c->ncommands && rc == 0; i++)
		rc = boot_exec(b, c->commands[i]);
out:
	free(tok);
	return rc;
bad_path:
	snprintf(b->why, b->wl, "a path Renode's monitor cannot express "
		 "(';' or white space other than ' '): %s", path);
	return -EIO;
}

/* A command that listens on a port emufs picks: retried with another
 * port when it fails (most likely the port was taken meanwhile). */
static int boot_listen(struct boot *b, const char *fmt, const char *arg,
		       int *port)
{
	int rc = -EIO;
	for (int i = 0; i < RENODE_PORT_TRIES; i++) {
		int p = free_port();
		if (p < 0) {
			snprintf(b->why, b->wl, "no free port: %s",
				 strerror(-p));
			return -EIO;
		}
		char line[512];
		snprintf(line, sizeof line, fmt, p, arg);
		if ((rc = boot_exec(b, line)) == 0) {
			*port = p;
			return 0;
		}
		if (rc == -ETIMEDOUT || run_exited(b->r))
			break;
	}
	return rc;
}

/* Each UART: a server-socket terminal (telnet off) that emufs connects to,
 * then joined to the UART. Connected before `start`: nothing is lost. */
static int boot_uarts(struct boot *b, long long deadline)
{
	struct run *r = b->r;
	const struct cfg_target *t = r->target;
	int rc = 0;
	for (size_t i = 0; i < t->nchannels && rc == 0; i++) {
		const struct cfg_channel *ch = &t->channels[i];
		char term[32];
		int port = 0;
		snprintf(term, sizeof term, "emufs_uart%zu", i);
		if (!renode_path_ok(ch->path)) {
			snprintf(b->why, b->wl, "channel %s: \"%s\" is not a "
				 "peripheral path", ch->name, ch->path);
			rc = -EIO;
			break;
		}
		rc = boot_listen(b, "emulation CreateServerSocketTerminal %d "
				 "\"%s\" false", term, &port);
		if (rc)
			break;
		int fd = connect_by(r, port, deadline);
		if (fd < 0) {
			snprintf(b->why, b->wl, "channel %s: cannot connect to "
				 "Renode's terminal on port %d: %s", ch->name,
				 port, strerror(-fd));
			rc = -EIO;
			break;
		}
		if ((rc = run_attach_channel(r, i, fd, fd))) {
			close(fd);
			snprintf(b->why, b->wl, "channel %s: %s", ch->name,
				 strerror(-rc));
			break;
		}
		rc = boot_execf(b, "connector Connect %s %s", ch->path,
				term);
	}
	return rc;
}

static int renode_launch(struct run *r, bool paused, char *why, size_t wl)
{
	const struct cfg_target *t = r->target;
	const struct renode_config *c = renode_config_of(t);
	struct renode_run *rr = calloc(1, sizeof *rr);
	struct boot b = { r, NULL, why, wl };
	char *binary = NULL, *tmpenv = NULL;
	int rc = -ENOMEM;

	if (!rr)
		goto nomem;
	r->priv = rr;
	rr->cache = renode_cache_new();
	rr->in_level = calloc(t->npins ? t->npins : 1,
			      sizeof *rr->in_level);
	if (!rr->cache || !rr->in_level ||
	    asprintf(&rr->tmpdir, "%s/renode-tmp", run_dir(r)) < 0) {
		rr->tmpdir = NULL;
		goto nomem;
	}
	rc = -EIO;
	if (!(binary = process_find_binary(c->binary))) {
		snprintf(why, wl, "%s: %s", c->binary, strerror(errno));
		goto out;
	}
	remove_tree(rr->tmpdir);
	if (mkdir(rr->tmpdir, 0700) < 0 ||
	    asprintf(&tmpenv, "TMPDIR=%s", rr->tmpdir) < 0) {
		snprintf(why, wl, "%s: %s", rr->tmpdir, strerror(errno));
		tmpenv = NULL;
		goto out;
	}
	char *argv[] = { binary, "--disable-xwt", "--hide-log",
			 "--robot-server-port", "0", NULL };
	char *env[] = { tmpenv, NULL };
	if ((rc = run_spawn(r, argv, env, why, wl)))
		goto out;

	long long deadline = clock_now_ms() + RENODE_START_MS;
	int port = wait_port(r, rr->tmpdir, deadline);
	if (port < 0) {
		rc = port;
		snprintf(why, wl, "Renode %s robot_port in %s",
			 rc == -EIO ? "exited before it wrote"
				    : "did not write", rr->tmpdir);
		goto out;
	}
	run_log(r, "renode: robot port %d", port);
	rr->port = port;
	/* Set-up calls may take long (platform, ELF): the start deadline. */
	if (!(b.rb = robot_new("127.0.0.1", port, RENODE_START_MS)) ||
	    !(rr->rb = robot_new("127.0.0.1", port, r->timeout_ms))) {
		rc = -ENOMEM;
		goto nomem;
	}
	if ((rc = wait_ready(&b, deadline)))
		goto out;
	renode_trace_attach(r, b.rb);     /* its log, before it logs much */
	if ((rc = boot_machine(&b)) || (rc = boot_uarts(&b, deadline)))
		goto out;
	if (boot_listen(&b, "machine StartGdbServer %d false%s", "",
			&rr->gdb_port)) {
		run_log(r, "renode: no gdb server: %s", why);
		why[0] = '\0';
		rr->gdb_port = 0;
	}
	if (!paused && (rc = boot_exec(&b, "start")))
		goto out;
	rc = 0;
	goto out;
nomem:
	snprintf(why, wl, "out of memory");
out:
	robot_free(b.rb);
	free(tmpenv);
	free(binary);
	return rc;
}

/* ---- lifecycle ----------------------------------------------------- */

static int renode_quit(struct run *r, int timeout_ms)
{
	struct renode_run *rr = r->priv;
	if (!rr || !rr->port)
		return -ESRCH;
	/* stop_remote_server: Renode answers, stops its server and exits. */
	struct robot *rb = robot_new("127.0.0.1", rr->port, timeout_ms);
	int rc = rb ? robot_stop_server(rb) : -ENOMEM;
	robot_free(rb);
	return rc;
}

static int renode_reset(struct run *r)
{
	/* The machine's reset; ResetEmulation would destroy the machine. */
	return renode_exec_logged(r, "reset", "machine Reset", NULL);
}

static int renode_pause(struct run *r)
{
	return renode_exec_logged(r, "pause", "pause", NULL);
}

static int renode_resume(struct run *r)
{
	return renode_exec_logged(r, "resume", "start", NULL);
}

/* Calls are synchronous with deadlines and fail fast once the process
 * is gone: nobody waits on this connector to be woken. */
static void renode_shutdown(struct run *r)
{
}

static void renode_release(struct run *r)
{
	struct renode_run *rr = r->priv;
	if (!rr)
		return;
	robot_free(rr->rb);
	renode_cache_free(rr->cache);
	if (rr->tmpdir)
		remove_tree(rr->tmpdir);   /* Renode's, if it was killed */
	free(rr->tmpdir);
	free(rr->in_level);
	free(rr);
	r->priv = NULL;
}

/* ---- the raw monitor and gdb --------------------------------------- */

static int renode_raw(struct run *r, const char *cmd, size_t len,
		      char **reply)
{
	if (len && cmd[len - 1] == '\n')
		len--;
	if (len && cmd[len - 1] == '\r')
		len--;
	if (!len || memchr(cmd, '\n', len) || memchr(cmd, '\0', len)) {
		run_log(r, "monitor: expected one monitor line");
		return -EINVAL;
	}
	char *line = strndup(cmd, len), *out = NULL;
	if (!line)
		return -ENOMEM;
	struct robot_result res;
	int rc = renode_exec(r, line, &out, &res);
	if (rc == -EINVAL) {
		/* The monitor's complaint is its answer, as at its prompt. */
		out = renode_no_cr(res.error);
		rc = out ? 0 : -ENOMEM;
	} else if (rc) {
		char why[300];
		run_log(r, "monitor: %s: %s", line,
			     robot_error_line(&res, why, sizeof why));
	}
	robot_result_clear(&res);
	free(line);
	size_t n = out ? strlen(out) : 0;
	if (rc == 0 && n && out[n - 1] != '\n') {
		char *grown = realloc(out, n + 2);
		if (!grown) {
			rc = -ENOMEM;
		} else {
			out = grown;
			strcpy(out + n, "\n");
		}
	}
	if (rc) {
		free(out);
		return rc;
	}
	*reply = out;
	return 0;
}

static int renode_gdb_address(struct run *r, char *buf, size_t len)
{
	struct renode_run *rr = r->priv;
	if (!rr || !rr->gdb_port)
		return -ENOENT;
	snprintf(buf, len, "127.0.0.1:%d", rr->gdb_port);
	return 0;
}

static const struct connector_ops renode_connector = {
	.launch = renode_launch,
	.quit = renode_quit,
	.reset = renode_reset,
	.pause = renode_pause,
	.resume = renode_resume,
	.shutdown = renode_shutdown,
	.release = renode_release,
	.prop_lookup = renode_prop_lookup,
	.prop_list = renode_prop_list,
	.prop_get = renode_prop_get,
	.prop_set = renode_prop_set,
	.pin_get = renode_pin_get,
	.pin_set = renode_pin_set,
	.raw = renode_raw,
	.gdb_address = renode_gdb_address,
	.snapshot_save = renode_snapshot_save,
	.snapshot_load = renode_snapshot_load,
	.snapshot_key = renode_snapshot_key,
	.trace_list = renode_trace_list,
	.trace_set = renode_trace_set,
};

const struct emulator renode_emulator = {
	.name = "renode",
	.conn = &renode_connector,
	.raw_file = "monitor",
	.parse = renode_config_parse,
	.free = renode_config_free,
	.parse_channel = renode_config_channel,
	.pin_key = "renode",
	.pin_keys = renode_config_pin_keys,
	.parse_pin = renode_config_pin,
	.shim_pins = false,
	.image_of = renode_config_image,
	.accepts_image = renode_config_accepts_image,
};
