/* config.h - the emufs JSON configuration (docs/reference.md section 2) as
 * plain structs.
 *
 * config_load() reads and validates the whole file before anything is
 * mounted; every error names the file, the JSON path of the problem and
 * what was expected, in one line, e.g.
 *   emufs.json: targets.demo.qemu.machine: expected a string
 * Relative file paths (kernel, preconfig, drives, renode files) are made
 * absolute against the config file's own directory.
 *
 * config_load.c reads the file and its top level (settings, instances),
 * config_target.c a target's common part (serial, gpio), and each
 * emulator its own section (emulator.h); config.c has the structs'
 * look-ups and their freeing.
 */
#ifndef EMUFS_CONFIG_H
#define EMUFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct emulator;

enum pin_backend {
	PIN_SHIM,            /* the line protocol on a serial channel */
	PIN_EMULATOR,        /* the emulator's own (QOM, a Renode port) */
};
enum pin_dir { PIN_IN, PIN_OUT };

struct cfg_channel {
	char *name;          /* file name, e.g. "serial0" */
	/* The UART behind it, as its emulator identifies UARTs: */
	int index;           /* by number (QEMU: the n-th -serial), or -1 */
	char *path;          /* by name (Renode: sysbus.usart2), or NULL */
};

struct cfg_pin {
	char *name;
	enum pin_backend backend;
	enum pin_dir dir;
	char *object;        /* emulator: its object (QOM path, peripheral) */
	char *property;      /* emulator: a property of it (QOM), or NULL */
	char *channel;       /* shim: channel name (one of the target's) */
	int pin;             /* shim, emulator: pin number, or -1 */
};

/* A TCP endpoint of an attached emulator (targets.*.attach): "HOST:PORT"
 * split, for getaddrinfo(); an IPv6 literal is written "[::1]:PORT". */
struct cfg_endpoint {
	char *host;
	char *port;
	char *text;          /* as the config gives it, for messages */
};

/* targets.*.attach: an emulator someone else started, reached at its
 * QMP and serial endpoints (QEMU the server, emufs the client). */
struct cfg_attach {
	struct cfg_endpoint qmp;
	struct cfg_endpoint *serial;  /* per channel, in channels' order */
	struct cfg_endpoint gdb;      /* host NULL: none given */
};

struct cfg_target {
	char *name;
	const struct emulator *emulator;   /* from the table of emulators */
	void *emu;           /* its section (targets.*.<emulator>), in the
			      * emulator's own struct (qemu_config.h, ...) */
	struct cfg_channel *channels;
	size_t nchannels;
	struct cfg_pin *pins;
	size_t npins;
	/* targets.*.launcher: the argv prefix the emulator is started
	 * through (srun ...), or NULL: a child of emufs. With one, the
	 * emulator's links come back over TCP to listen. */
	char **launcher;
	size_t nlauncher;
	const char *listen;  /* settings.listen (the config's, not owned) */
	const char *tls_dir; /* settings.tls.dir, absolute, or NULL (the
			      * config's, not owned) */
	/* targets.*.attach, or NULL: emufs starts the emulator. With one,
	 * the channels are attach.serial's and the emulator's section
	 * holds nothing (there is nothing to start). */
	struct cfg_attach *attach;
};

struct cfg_instance {
	char *name;
	char *target;        /* name of a target in the same config */
	bool autostart;
};

/* Defaults of the optional top-level "settings" object. */
#define CONFIG_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define CONFIG_DEFAULT_LOG_CAP (64LL * 1024 * 1024)
/* A save writes all of guest RAM: longer than a request. */
#define CONFIG_DEFAULT_SNAPSHOT_TIMEOUT_MS 60000
/* Where a launched emulator's links come back to. */
#define CONFIG_DEFAULT_LISTEN "127.0.0.1"

struct emufs_config {
	char *path;          /* the config file as given */
	char *dir;           /* its directory, absolute */
	int request_timeout_ms;   /* settings.request_timeout_ms */
	long long log_cap;        /* settings.log_cap_bytes, per log file */
	int snapshot_timeout_ms;  /* settings.snapshot_timeout_ms */
	char *listen;             /* settings.listen: an IP address */
	char *tls_dir;            /* settings.tls.dir, or NULL: plain TCP */
	struct cfg_target *targets;
	size_t ntargets;
	struct cfg_instance *instances;  /* one per target when absent */
	size_t ninstances;
};

/* An empty configuration (no targets, no instances) with defaults. */
struct emufs_config *config_empty(void);
void config_free(struct emufs_config *cfg);

const struct cfg_target *config_find_target(const struct emufs_config *cfg,
					    const char *name);

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes. */
bool config_name_valid(const char *name);
/* A name an instance's own files use (docs/reference.md section 3: ctl,
 * state, ..., every emulator's raw file, *.pty), so no channel or pin may
 * take it. */
bool config_name_reserved(const char *name);
/* Whether addr (an IPv4 or IPv6 literal) is a loopback address
 * (127.0.0.0/8, ::1); false for anything else. */
bool config_addr_loopback(const char *addr);
/* The fixed names of an instance directory, NULL-terminated (the FUSE
 * adapter's table of file kinds is checked against it), and the suffix
 * of the channels' pty links. */
extern const char *const config_reserved_names[];
#define CONFIG_RESERVED_SUFFIX ".pty"

#endif
