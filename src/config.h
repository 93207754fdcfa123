/* config.h - the emufs JSON configuration (interface.md section 2) as
 * plain structs.
 *
 * config_load() reads and validates the whole file before anything is
 * mounted; every error names the file, the JSON path of the problem and
 * what was expected, in one line, e.g.
 *   emufs.json: targets.demo.qemu.machine: expected a string
 * Relative file paths (kernel, preconfig, drives, renode files) are made
 * absolute against the config file's own directory.
 */
#ifndef EMUFS_CONFIG_H
#define EMUFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum emu_kind { EMU_QEMU, EMU_RENODE };
enum pin_backend { PIN_QOM, PIN_SHIM, PIN_RENODE };
enum pin_dir { PIN_IN, PIN_OUT };

struct cfg_drive {
	char *file;          /* absolute */
	char *format;        /* default "raw" */
	char *iface;         /* JSON "if"; NULL: QEMU's default */
	bool overlay;
};

struct cfg_qemu {
	char *binary;        /* required; looked up in PATH if no '/' */
	char *machine;       /* required */
	char *kernel;        /* absolute or NULL */
	char *preconfig;     /* absolute or NULL */
	char **args;         /* extra argv, passed as is */
	size_t nargs;
	struct cfg_drive *drives;
	size_t ndrives;
};

struct cfg_renode {
	char *binary;        /* required */
	char *platform;      /* one of platform/script is required */
	char *script;
	char *firmware;
	char **commands;     /* monitor lines run after loading */
	size_t ncommands;
};

struct cfg_channel {
	char *name;          /* file name, e.g. "serial0" */
	int qemu_index;      /* QEMU: n-th -serial; -1 for Renode */
	char *renode_uart;   /* Renode: peripheral path, e.g. sysbus.usart2 */
};

struct cfg_pin {
	char *name;
	enum pin_backend backend;
	enum pin_dir dir;
	char *object;        /* qom: QOM path; renode: peripheral path */
	char *property;      /* qom: property name */
	char *channel;       /* shim: channel name (one of the target's) */
	int pin;             /* shim, renode: pin number */
};

struct cfg_target {
	char *name;
	enum emu_kind emulator;
	struct cfg_qemu qemu;      /* valid when emulator == EMU_QEMU */
	struct cfg_renode renode;  /* valid when emulator == EMU_RENODE */
	struct cfg_channel *channels;
	size_t nchannels;
	struct cfg_pin *pins;
	size_t npins;
};

struct cfg_instance {
	char *name;
	char *target;        /* name of a target in the same config */
	bool autostart;
};

/* Defaults of the optional top-level "settings" object. */
#define CONFIG_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define CONFIG_DEFAULT_LOG_CAP (64LL * 1024 * 1024)

struct emufs_config {
	char *path;          /* the config file as given */
	char *dir;           /* its directory, absolute */
	int request_timeout_ms;   /* settings.request_timeout_ms */
	long long log_cap;        /* settings.log_cap_bytes, per log file */
	struct cfg_target *targets;
	size_t ntargets;
	struct cfg_instance *instances;  /* one per target when absent */
	size_t ninstances;
};

/* Load and validate PATH. On error returns -1 and writes one line (no
 * trailing newline) to err. */
int config_load(const char *path, struct emufs_config **out,
		char *err, size_t errlen);
/* Same, from text in memory; path names the file in messages and its
 * directory anchors relative paths. */
int config_parse(const char *text, size_t len, const char *path,
		 struct emufs_config **out, char *err, size_t errlen);
/* An empty configuration (no targets, no instances) with defaults. */
struct emufs_config *config_empty(void);
void config_free(struct emufs_config *cfg);

const struct cfg_target *config_find_target(const struct emufs_config *cfg,
					    const char *name);

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes. */
bool config_name_valid(const char *name);
/* The names channels and pins may not take: the fixed files of an
 * instance directory (NULL-terminated) and any name ending in the
 * suffix (a channel's pty link). */
extern const char *const config_reserved_names[];
#define CONFIG_RESERVED_SUFFIX ".pty"
bool config_name_reserved(const char *name);

#endif
