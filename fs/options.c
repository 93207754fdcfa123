/* options.c - the command line (options.h).
 *
 * libfuse's fuse_opt_parse reads `-c FILE` and `-o config=FILE` alike and
 * splits -o lists as every FUSE file system does: a comma inside a value
 * is written `\,`. An -o option that is not emufs's goes to libfuse if
 * libfuse knows it; the options mount(8) and fstab hand to every file
 * system (noauto, _netdev, x-systemd.*, relatime, ...) are accepted and
 * have no effect; any other is refused, named, before anything happens.
 */
#include <fuse_lowlevel.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "options.h"

enum {
	KEY_CONFIG,
	KEY_STATE_DIR,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_HELP,
	KEY_VERSION,
};

static const struct fuse_opt option_table[] = {
	/* "-c ": `-c FILE` or `-cFILE`; "--state-dir " also matches
	 * `--state-dir=DIR` (value_of drops the '='). */
	FUSE_OPT_KEY("-c ", KEY_CONFIG),
	FUSE_OPT_KEY("config=", KEY_CONFIG),
	FUSE_OPT_KEY("--state-dir ", KEY_STATE_DIR),
	FUSE_OPT_KEY("state_dir=", KEY_STATE_DIR),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	/* mount(8)'s own, which reach a helper when written by hand or
	 * through systemd (mount.fuse3 drops some of them itself) */
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
	/* VFS flags mount(8) passes on and libfuse does not take: emufs
	 * keeps no access times and has no device nodes to version */
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("norelatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("strictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nostrictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("lazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nolazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("diratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nodiratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("iversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noiversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("mand", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nomand", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("silent", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("loud", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

static void usage(FILE *to)
{
	fprintf(to,
		"usage: emufs [-c CONFIG] [--state-dir DIR] [-f] [-d] "
		"[-o OPT[,OPT...]] MOUNTPOINT\n"
		"       emufs CONFIG MOUNTPOINT [-o OPT[,OPT...]]\n"
		"\n"
		"Presents emulator instances (QEMU, Renode) as files.\n"
		"\n"
		"  -c CONFIG         JSON configuration (see emufs(1)); "
		"also -o config=CONFIG\n"
		"  --state-dir DIR   sockets and logs (default "
		"${XDG_RUNTIME_DIR:-/tmp}/emufs-$UID/<mount id>);\n"
		"                    also -o state_dir=DIR\n"
		"  -f                stay in the foreground\n"
		"  -d                debug output (implies -f)\n"
		"  -o OPT[,OPT...]   FUSE mount options (allow_other, ...); "
		"a comma in a value: \\,\n"
		"  -h, --help        this text\n"
		"  -V, --version     the version\n"
		"\n"
		"Mount from fstab: CONFIG MOUNTPOINT fuse.emufs defaults 0 0\n"
		"Unmount with: fusermount3 -u MOUNTPOINT\n");
}

/* What the parse collects besides the options themselves. */
struct parse {
	struct emufs_options *o;
	char *positional[2];    /* [SOURCE] MOUNTPOINT */
	int npositional;
	bool help, version;
};

/* The value of a matched option: `config=V`, `state_dir=V`, `-cV`,
 * `--state-dirV` (the parser joins `-c V`) or `--state-dir=V`. */
static const char *value_of(const char *arg)
{
	if (arg[0] != '-')
		return strchr(arg, '=') + 1;
	const char *v = arg[1] == '-' ? arg + strlen("--state-dir") : arg + 2;
	return *v == '=' ? v + 1 : v;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Set *slot to value; the same setting given twice must agree (the
 * source argument and -o config= name the same file, say). */
static int set_once(char **slot, const char *value, const char *what)
{
	if (!*value) {
		fprintf(stderr, "emufs: %s: empty\n", what);
		return -1;
	}
	if (*slot) {
		if (strcmp(*slot, value) && !same_file(*slot, value)) {
			fprintf(stderr, "emufs: %s given twice: %s and %s\n",
				what, *slot, value);
			return -1;
		}
		return 0;
	}
	return (*slot = strdup(value)) ? 0 : -1;
}

static void log_nothing(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

/* Whether libfuse takes the -o option opt: asked of the installed
 * libfuse itself, with a session made and at once destroyed (it opens
 * nothing), rather than of a copy of its option list that would age. */
static bool fuse_knows(const char *opt)
{
	static const struct fuse_lowlevel_ops no_ops;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char *escaped = NULL;
	bool known = false;

	if (!fuse_opt_add_opt_escaped(&escaped, opt) &&
	    !fuse_opt_add_arg(&args, "emufs") &&
	    !fuse_opt_add_arg(&args, "-o") &&
	    !fuse_opt_add_arg(&args, escaped)) {
		/* libfuse would print its own line; emufs prints one */
		fuse_set_log_func(log_nothing);
		struct fuse_session *se = fuse_session_new(&args, &no_ops,
							   sizeof no_ops,
							   NULL);
		fuse_set_log_func(NULL);
		known = se != NULL;
		if (se)
			fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	free(escaped);
	return known;
}

/* fuse_opt_parse's callback: 0 drops arg (taken), -1 ends the parse
 * (after a message). */
static int parse_one(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct parse *p = data;
	struct emufs_options *o = p->o;
	(void)outargs;

	switch (key) {
	case KEY_CONFIG:
		return set_once(&o->config, value_of(arg), "config");
	case KEY_STATE_DIR:
		return set_once(&o->state_dir, value_of(arg), "state_dir");
	case KEY_FOREGROUND:
		o->foreground = true;
		return 0;
	case KEY_DEBUG:
		o->debug = o->foreground = true;
		return 0;
	case KEY_HELP:
		p->help = true;
		return 0;
	case KEY_VERSION:
		p->version = true;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (p->npositional == 2) {
			fprintf(stderr, "emufs: too many arguments: %s\n", arg);
			return -1;
		}
		if (!(p->positional[p->npositional] = strdup(arg)))
			return -1;
		p->npositional++;
		return 0;
	default:        /* FUSE_OPT_KEY_OPT: nobody above took it */
		if (!strncmp(arg, "x-", 2))
			return 0;       /* x-systemd.*, x-gvfs-*: not ours */
		if (arg[0] == '-' || !fuse_knows(arg)) {
			fprintf(stderr, "emufs: unknown option: %s "
				"(see emufs --help)\n", arg);
			return -1;
		}
		return fuse_opt_add_opt_escaped(&o->fuse_opts, arg);
	}
}

int options_parse(int argc, char **argv, struct emufs_options *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct parse p = { .o = o };
	int status = -1;

	memset(o, 0, sizeof *o);
	if (fuse_opt_parse(&args, &p, option_table, parse_one)) {
		status = 2;
	} else if (p.help) {
		usage(stdout);
		status = 0;
	} else if (p.version) {
		printf("emufs %s\n", EMUFS_VERSION);
		status = 0;
	} else if (p.npositional == 0) {
		fprintf(stderr, "emufs: no mount point given\n");
		usage(stderr);
		status = 2;
	} else if (p.npositional == 2 &&
		   set_once(&o->config, p.positional[0], "config")) {
		status = 2;     /* mount.fuse3's source: the config */
	} else {
		o->mountpoint = p.positional[p.npositional - 1];
		p.positional[p.npositional - 1] = NULL;
	}
	fuse_opt_free_args(&args);
	free(p.positional[0]);
	free(p.positional[1]);
	return status;
}

void options_free(struct emufs_options *o)
{
	free(o->config);
	free(o->state_dir);
	free(o->mountpoint);
	free(o->fuse_opts);
	memset(o, 0, sizeof *o);
}
