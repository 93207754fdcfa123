/* test_config.c - the JSON configuration (interface.md section 2): what
 * parses into which structs, and the exact one-line refusal for each kind
 * of mistake. Texts are written with ' for " to stay readable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_load.h"
#include "core/emulator.h"
#include "qemu/qemu_config.h"
#include "renode/renode_config.h"

#include "config_text.h"

#define QEMU_T(extra) \
	"{'targets': {'t': {'emulator': 'qemu', " \
	"'qemu': {'binary': 'qemu-system-arm', 'machine': 'm'}" extra "}}}"
/* A qemu target "t" and EXTRA at the top level. */
#define QEMU_TOP(extra) \
	"{'targets': {'t': {'emulator': 'qemu', " \
	"'qemu': {'binary': 'qemu-system-arm', 'machine': 'm'}}}" extra "}"
/* A qemu target with (or without) a kernel, and EXTRA in its qemu object. */
#define QEMU_T_KERNEL(extra) \
	"{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', " \
	"'machine': 'm', 'kernel': '/k'" extra "}}}}"
#define QEMU_T_NOKERNEL(extra) \
	"{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', " \
	"'machine': 'm'" extra "}}}}"
#define RENODE_T(extra) \
	"{'targets': {'r': {'emulator': 'renode', " \
	"'renode': {'binary': 'renode', 'script': 's.resc'}" extra "}}}"

static const char example[] =
	"{\n"
	"  'targets': {\n"
	"    'ast-demo': {\n"
	"      'emulator': 'qemu',\n"
	"      'qemu': {\n"
	"        'binary': 'qemu-system-arm',\n"
	"        'machine': 'ast2500-evb',\n"
	"        'kernel': 'firmware/demo.elf',\n"
	"        'args': ['-nic', 'none'],\n"
	"        'preconfig': 'ast-demo.qmp',\n"
	"        'drives': [ { 'file': 'flash.img', 'format': 'raw', 'if': 'mtd', 'overlay': true } ]\n"
	"      },\n"
	"      'serial': { 'serial0': 0 },\n"
	"      'gpio': {\n"
	"        'button': { 'qom': '/machine/soc/gpio', 'property': 'gpioA0', 'direction': 'in' },\n"
	"        'led':    { 'qom': '/machine/soc/gpio', 'property': 'gpioA1', 'direction': 'out' }\n"
	"      }\n"
	"    },\n"
	"    'stm32': {\n"
	"      'emulator': 'renode',\n"
	"      'renode': {\n"
	"        'binary': 'renode',\n"
	"        'platform': 'platforms/boards/stm32f4_discovery-kit.repl',\n"
	"        'firmware': 'firmware/stm32.elf',\n"
	"        'commands': []\n"
	"      },\n"
	"      'serial': { 'serial0': 'sysbus.usart2' },\n"
	"      'gpio': {\n"
	"        'button': { 'renode': 'sysbus.gpioPortA', 'pin': 0, 'direction': 'in' },\n"
	"        'led':    { 'renode': 'sysbus.gpioPortD', 'pin': 12, 'direction': 'out' }\n"
	"      }\n"
	"    }\n"
	"  },\n"
	"  'instances': {\n"
	"    'board0': { 'target': 'ast-demo' },\n"
	"    'board1': { 'target': 'ast-demo', 'autostart': true }\n"
	"  }\n"
	"}\n";

/* ---- what parses ---- */

static void test_example_parses_to_structs(void **state)
{
	struct emufs_config *cfg = parse_ok(example);
	const struct cfg_target *t;

	assert_string_equal(cfg->path, "/etc/emufs/demo.json");
	assert_string_equal(cfg->dir, "/etc/emufs");
	assert_int_equal(cfg->request_timeout_ms, CONFIG_DEFAULT_REQUEST_TIMEOUT_MS);
	assert_true(cfg->log_cap == CONFIG_DEFAULT_LOG_CAP);
	assert_int_equal(cfg->ntargets, 2);

	t = &cfg->targets[0];
	assert_string_equal(t->name, "ast-demo");
	assert_ptr_equal(t->emulator, emulator_find("qemu"));
	assert_string_equal(qemu_config_of(t)->binary, "qemu-system-arm");
	assert_string_equal(qemu_config_of(t)->machine, "ast2500-evb");
	assert_string_equal(qemu_config_of(t)->kernel, "/etc/emufs/firmware/demo.elf");
	assert_string_equal(qemu_config_of(t)->preconfig, "/etc/emufs/ast-demo.qmp");
	assert_int_equal(qemu_config_of(t)->nargs, 2);
	assert_string_equal(qemu_config_of(t)->args[0], "-nic");
	assert_string_equal(qemu_config_of(t)->args[1], "none");
	assert_int_equal(qemu_config_of(t)->ndrives, 1);
	assert_string_equal(qemu_config_of(t)->drives[0].file, "/etc/emufs/flash.img");
	assert_string_equal(qemu_config_of(t)->drives[0].format, "raw");
	assert_string_equal(qemu_config_of(t)->drives[0].iface, "mtd");
	assert_true(qemu_config_of(t)->drives[0].overlay);
	assert_int_equal(t->nchannels, 1);
	assert_string_equal(t->channels[0].name, "serial0");
	assert_int_equal(t->channels[0].index, 0);
	assert_null(t->channels[0].path);
	assert_int_equal(t->npins, 2);
	assert_string_equal(t->pins[0].name, "button");
	assert_int_equal(t->pins[0].backend, PIN_EMULATOR);
	assert_int_equal(t->pins[0].dir, PIN_IN);
	assert_string_equal(t->pins[0].object, "/machine/soc/gpio");
	assert_string_equal(t->pins[0].property, "gpioA0");
	assert_null(t->pins[0].channel);
	assert_string_equal(t->pins[1].name, "led");
	assert_int_equal(t->pins[1].dir, PIN_OUT);
	assert_string_equal(t->pins[1].property, "gpioA1");

	t = &cfg->targets[1];
	assert_string_equal(t->name, "stm32");
	assert_ptr_equal(t->emulator, emulator_find("renode"));
	assert_string_equal(renode_config_of(t)->binary, "renode");
	/* No such file next to the config: left for Renode to resolve. */
	assert_string_equal(renode_config_of(t)->platform,
			    "platforms/boards/stm32f4_discovery-kit.repl");
	assert_null(renode_config_of(t)->script);
	assert_string_equal(renode_config_of(t)->firmware, "/etc/emufs/firmware/stm32.elf");
	assert_int_equal(renode_config_of(t)->ncommands, 0);
	assert_int_equal(t->nchannels, 1);
	assert_string_equal(t->channels[0].name, "serial0");
	assert_int_equal(t->channels[0].index, -1);
	assert_string_equal(t->channels[0].path, "sysbus.usart2");
	assert_int_equal(t->npins, 2);
	assert_int_equal(t->pins[0].backend, PIN_EMULATOR);
	assert_string_equal(t->pins[0].object, "sysbus.gpioPortA");
	assert_int_equal(t->pins[0].pin, 0);
	assert_int_equal(t->pins[0].dir, PIN_IN);
	assert_string_equal(t->pins[1].object, "sysbus.gpioPortD");
	assert_int_equal(t->pins[1].pin, 12);
	assert_int_equal(t->pins[1].dir, PIN_OUT);

	assert_int_equal(cfg->ninstances, 2);
	assert_string_equal(cfg->instances[0].name, "board0");
	assert_string_equal(cfg->instances[0].target, "ast-demo");
	assert_false(cfg->instances[0].autostart);
	assert_string_equal(cfg->instances[1].name, "board1");
	assert_string_equal(cfg->instances[1].target, "ast-demo");
	assert_true(cfg->instances[1].autostart);

	assert_ptr_equal(config_find_target(cfg, "stm32"), &cfg->targets[1]);
	assert_ptr_equal(config_find_target(cfg, "ast-demo"), &cfg->targets[0]);
	assert_null(config_find_target(cfg, "nope"));
	assert_null(config_find_target(cfg, NULL));
	config_free(cfg);
}

static void test_instances_absent_one_per_target(void **state)
{
	struct emufs_config *cfg = parse_ok(
		"{'targets': {"
		"'zeta': {'emulator': 'qemu', 'qemu': {'binary': 'q', 'machine': 'm'}},"
		"'alpha': {'emulator': 'renode', 'renode': {'binary': 'r', 'platform': 'p.repl'}}}}");

	assert_int_equal(cfg->ninstances, 2);
	assert_string_equal(cfg->instances[0].name, "zeta");
	assert_string_equal(cfg->instances[0].target, "zeta");
	assert_false(cfg->instances[0].autostart);
	assert_string_equal(cfg->instances[1].name, "alpha");
	assert_string_equal(cfg->instances[1].target, "alpha");
	assert_false(cfg->instances[1].autostart);
	config_free(cfg);
}

static void test_instances_empty_means_none(void **state)
{
	struct emufs_config *cfg = parse_ok("{'targets': {'t': {'emulator': 'qemu', 'qemu': "
		       "{'binary': 'q', 'machine': 'm'}}}, 'instances': {}}");
	assert_int_equal(cfg->ntargets, 1);
	assert_int_equal(cfg->ninstances, 0);
	config_free(cfg);
}

static void test_empty_targets_allowed(void **state)
{
	struct emufs_config *cfg = parse_ok("{'targets': {}}");

	assert_int_equal(cfg->ntargets, 0);
	assert_int_equal(cfg->ninstances, 0);
	assert_int_equal(cfg->request_timeout_ms, CONFIG_DEFAULT_REQUEST_TIMEOUT_MS);
	assert_true(cfg->log_cap == CONFIG_DEFAULT_LOG_CAP);
	config_free(cfg);
}

static void test_settings(void **state)
{
	struct emufs_config *cfg = parse_ok(
		"{'targets': {}, 'settings': {'request_timeout_ms': 100, "
		"'log_cap_bytes': 4096}}");

	assert_int_equal(cfg->request_timeout_ms, 100);
	assert_true(cfg->log_cap == 4096);
	config_free(cfg);

	cfg = parse_ok("{'targets': {}, 'settings': {'request_timeout_ms': 600000}}");
	assert_int_equal(cfg->request_timeout_ms, 600000);
	assert_true(cfg->log_cap == CONFIG_DEFAULT_LOG_CAP);
	config_free(cfg);

	cfg = parse_ok("{'targets': {}, 'settings': {}}");
	assert_int_equal(cfg->request_timeout_ms, CONFIG_DEFAULT_REQUEST_TIMEOUT_MS);
	config_free(cfg);
}

static void test_insertion_order_kept(void **state)
{
	struct emufs_config *cfg = parse_ok(
		"{'targets': {"
		"'m': {'emulator': 'qemu', 'qemu': {'binary': 'q', 'machine': 'm'},"
		"  'serial': {'uart9': 3, 'con': 1, 'aux': 0},"
		"  'gpio': {'z': {'shim': 'con', 'pin': 7, 'direction': 'out'},"
		"           'b': {'shim': 'aux', 'pin': 0, 'direction': 'in'},"
		"           'k': {'qom': '/x', 'property': 'p', 'direction': 'in'}}},"
		"'c': {'emulator': 'qemu', 'qemu': {'binary': 'q', 'machine': 'm'}},"
		"'a': {'emulator': 'qemu', 'qemu': {'binary': 'q', 'machine': 'm'}}},"
		"'instances': {'y': {'target': 'a'}, 'x': {'target': 'm'},"
		"  'w': {'target': 'c', 'autostart': false}}}");
	const struct cfg_target *t = &cfg->targets[0];

	assert_int_equal(cfg->ntargets, 3);
	assert_string_equal(cfg->targets[0].name, "m");
	assert_string_equal(cfg->targets[1].name, "c");
	assert_string_equal(cfg->targets[2].name, "a");
	assert_int_equal(t->nchannels, 3);
	assert_string_equal(t->channels[0].name, "uart9");
	assert_int_equal(t->channels[0].index, 3);
	assert_string_equal(t->channels[1].name, "con");
	assert_string_equal(t->channels[2].name, "aux");
	assert_int_equal(t->npins, 3);
	assert_string_equal(t->pins[0].name, "z");
	assert_int_equal(t->pins[0].backend, PIN_SHIM);
	assert_string_equal(t->pins[0].channel, "con");
	assert_int_equal(t->pins[0].pin, 7);
	assert_null(t->pins[0].object);
	assert_string_equal(t->pins[1].name, "b");
	assert_string_equal(t->pins[2].name, "k");
	assert_int_equal(t->pins[2].pin, -1);
	assert_int_equal(cfg->ninstances, 3);
	assert_string_equal(cfg->instances[0].name, "y");
	assert_string_equal(cfg->instances[1].name, "x");
	assert_string_equal(cfg->instances[2].name, "w");
	config_free(cfg);
}

static void test_drive_defaults(void **state)
{
	struct emufs_config *cfg = parse_ok(
		"{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'drives': [{'file': '/abs/a.img'}, "
		"{'file': 'b.qcow2', 'format': 'qcow2', 'overlay': false}]}}}}");
	const struct qemu_config *q = qemu_config_of(&cfg->targets[0]);

	assert_int_equal(q->ndrives, 2);
	assert_string_equal(q->drives[0].file, "/abs/a.img");
	assert_string_equal(q->drives[0].format, "raw");
	assert_null(q->drives[0].iface);
	assert_false(q->drives[0].overlay);
	assert_string_equal(q->drives[1].file, "/etc/emufs/b.qcow2");
	assert_string_equal(q->drives[1].format, "qcow2");
	assert_false(q->drives[1].overlay);
	assert_null(q->kernel);
	assert_null(q->preconfig);
	assert_int_equal(q->nargs, 0);
	config_free(cfg);
}

static void test_relative_paths_from_memory(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 64];
	struct emufs_config *cfg;
	const char *text =
		"{'targets': {'t': {'emulator': 'qemu', 'qemu': {"
		"'binary': './bin/qemu', 'machine': 'm', 'kernel': './k.elf',"
		"'preconfig': '/abs/p.qmp', 'args': ['rel/not/a/path']}}}}";

	assert_non_null(getcwd(cwd, sizeof cwd));

	cfg = parse_ok_at(text, "sub/demo.json");
	snprintf(want, sizeof want, "%s/sub", cwd);
	assert_string_equal(cfg->dir, want);
	snprintf(want, sizeof want, "%s/sub/k.elf", cwd);
	assert_string_equal(qemu_config_of(&cfg->targets[0])->kernel, want);
	/* A binary with a '/' is a path too. */
	snprintf(want, sizeof want, "%s/sub/bin/qemu", cwd);
	assert_string_equal(qemu_config_of(&cfg->targets[0])->binary, want);
	assert_string_equal(qemu_config_of(&cfg->targets[0])->preconfig, "/abs/p.qmp");
	assert_string_equal(qemu_config_of(&cfg->targets[0])->args[0], "rel/not/a/path");
	config_free(cfg);

	cfg = parse_ok_at(text, "demo.json");
	assert_string_equal(cfg->dir, cwd);
	config_free(cfg);

	cfg = parse_ok_at(text, "./demo.json");
	assert_string_equal(cfg->dir, cwd);
	config_free(cfg);

	cfg = parse_ok_at(text, "/demo.json");
	assert_string_equal(cfg->dir, "/");
	assert_string_equal(qemu_config_of(&cfg->targets[0])->kernel, "/k.elf");
	config_free(cfg);
}

static void test_binary_without_slash_kept_for_path_lookup(void **state)
{
	struct emufs_config *cfg = parse_ok(QEMU_T(""));

	assert_string_equal(qemu_config_of(&cfg->targets[0])->binary, "qemu-system-arm");
	config_free(cfg);
}

/* A scratch directory with a config file in it; removed by the test. */
struct scratch {
	char dir[64];
	char real[PATH_MAX];
	char file[128];
};

static void scratch_make(struct scratch *s, const char *text)
{
	FILE *f;
	char *body = dq(text);

	strcpy(s->dir, "/tmp/emufs-test-config-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	assert_non_null(realpath(s->dir, s->real));
	snprintf(s->file, sizeof s->file, "%s/emufs.json", s->dir);
	f = fopen(s->file, "w");
	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	free(body);
}

static void scratch_remove(struct scratch *s, const char *extra)
{
	char p[256];

	if (extra) {
		snprintf(p, sizeof p, "%s/%s", s->dir, extra);
		unlink(p);
	}
	unlink(s->file);
	rmdir(s->dir);
}

static void test_load_resolves_against_config_dir(void **state)
{
	struct scratch s;
	struct emufs_config *cfg = NULL;
	char err[512] = "", want[PATH_MAX + 64], p[256];
	FILE *f;

	scratch_make(&s,
		"{'targets': {"
		"'own': {'emulator': 'renode', 'renode': {'binary': 'renode',"
		"  'platform': 'board.repl', 'script': 'run.resc', 'firmware': 'fw.elf',"
		"  'commands': ['emulation CreateServerSocketTerminal 3456 \\'t\\'', '']}},"
		"'sys': {'emulator': 'renode', 'renode': {'binary': 'renode',"
		"  'platform': 'platforms/cpus/stm32f4.repl'}}}}");
	snprintf(p, sizeof p, "%s/board.repl", s.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);

	assert_int_equal(config_load(s.file, &cfg, err, sizeof err), 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, s.file);
	assert_string_equal(cfg->dir, s.real);
	/* board.repl exists next to the config: made absolute. */
	snprintf(want, sizeof want, "%s/board.repl", s.real);
	assert_string_equal(renode_config_of(&cfg->targets[0])->platform, want);
	snprintf(want, sizeof want, "%s/run.resc", s.real);
	assert_string_equal(renode_config_of(&cfg->targets[0])->script, want);
	snprintf(want, sizeof want, "%s/fw.elf", s.real);
	assert_string_equal(renode_config_of(&cfg->targets[0])->firmware, want);
	assert_int_equal(renode_config_of(&cfg->targets[0])->ncommands, 2);
	assert_string_equal(renode_config_of(&cfg->targets[0])->commands[0],
			    "emulation CreateServerSocketTerminal 3456 \"t\"");
	assert_string_equal(renode_config_of(&cfg->targets[0])->commands[1], "");
	/* No such file here: one of Renode's own, kept as written. */
	assert_string_equal(renode_config_of(&cfg->targets[1])->platform,
			    "platforms/cpus/stm32f4.repl");
	config_free(cfg);
	scratch_remove(&s, "board.repl");
}

/* qemu.initrd and qemu.dtb are resolved like kernel (unlike paths inside
 * args) and must be readable files at load; append is a string. */
static void test_qemu_initrd_dtb_append(void **state)
{
	struct scratch s;
	struct emufs_config *cfg = NULL;
	char err[1024] = "", want[2 * PATH_MAX + 256], p[PATH_MAX + 64];
	FILE *f;

	scratch_make(&s, "{'targets': {'t': {'emulator': 'qemu', 'qemu': {"
		"'binary': 'q', 'machine': 'virt', 'kernel': 'Image', "
		"'initrd': 'emufs.json', 'dtb': './emufs.json', "
		"'append': 'console=ttyAMA0 root=/dev/ram'}}}}");
	assert_int_equal(config_load(s.file, &cfg, err, sizeof err), 0);
	const struct qemu_config *q = qemu_config_of(&cfg->targets[0]);
	snprintf(want, sizeof want, "%s/emufs.json", s.real);
	assert_string_equal(q->initrd, want);
	assert_string_equal(q->dtb, want);     /* "./" joined away */
	assert_string_equal(q->append, "console=ttyAMA0 root=/dev/ram");
	config_free(cfg);

	/* a file that is not there: refused at load, naming the key */
	f = fopen(s.file, "w");
	assert_non_null(f);
	fputs("{\"targets\": {\"t\": {\"emulator\": \"qemu\", \"qemu\": {"
	      "\"binary\": \"q\", \"machine\": \"virt\", \"kernel\": \"Image\", "
	      "\"dtb\": \"no.dtb\"}}}}", f);
	fclose(f);
	cfg = NULL;
	assert_int_equal(config_load(s.file, &cfg, err, sizeof err), -1);
	assert_null(cfg);
	snprintf(want, sizeof want, "%s: targets.t.qemu.dtb: expected a readable "
		 "file, got \"%s/no.dtb\" (No such file or directory)", s.file,
		 s.real);
	assert_string_equal(err, want);
	/* a directory is no file */
	snprintf(p, sizeof p, "%s/d", s.dir);
	assert_int_equal(mkdir(p, 0700), 0);
	f = fopen(s.file, "w");
	assert_non_null(f);
	fputs("{\"targets\": {\"t\": {\"emulator\": \"qemu\", \"qemu\": {"
	      "\"binary\": \"q\", \"machine\": \"virt\", \"kernel\": \"Image\", "
	      "\"initrd\": \"d\"}}}}", f);
	fclose(f);
	assert_int_equal(config_load(s.file, &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, "targets.t.qemu.initrd: expected a readable "
			       "file"));
	assert_non_null(strstr(err, "(not a regular file)"));
	rmdir(p);
	scratch_remove(&s, NULL);

	refused(QEMU_T_KERNEL(", 'append': 3"),
		"demo.json: targets.t.qemu.append: expected a string, got an "
		"integer");
	refused(QEMU_T_KERNEL(", 'initrd': ['x']"),
		"demo.json: targets.t.qemu.initrd: expected a string, got an "
		"array");
	refused(QEMU_T_NOKERNEL(", 'append': 'quiet'"),
		"demo.json: targets.t.qemu.append: needs qemu.kernel (QEMU "
		"takes it only with -kernel)");
}

static void test_load_relative_config_path(void **state)
{
	struct scratch s;
	struct emufs_config *cfg = NULL;
	char err[512] = "", cwd[PATH_MAX], want[PATH_MAX + 64];

	scratch_make(&s, QEMU_T(""));
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(s.dir), 0);
	assert_int_equal(config_load("emufs.json", &cfg, err, sizeof err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(cfg->path, "emufs.json");
	assert_string_equal(cfg->dir, s.real);
	snprintf(want, sizeof want, "%s", s.real);
	assert_string_equal(cfg->dir, want);
	config_free(cfg);
	scratch_remove(&s, NULL);
}

static void test_config_empty(void **state)
{
	struct emufs_config *cfg = config_empty();

	assert_non_null(cfg);
	assert_int_equal(cfg->ntargets, 0);
	assert_int_equal(cfg->ninstances, 0);
	assert_null(cfg->targets);
	assert_null(cfg->instances);
	assert_non_null(cfg->dir);
	assert_true(cfg->dir[0] == '/');
	assert_int_equal(cfg->request_timeout_ms, CONFIG_DEFAULT_REQUEST_TIMEOUT_MS);
	assert_true(cfg->log_cap == CONFIG_DEFAULT_LOG_CAP);
	assert_null(config_find_target(cfg, "x"));
	config_free(cfg);
	config_free(NULL);
}

static void test_name_valid(void **state)
{
	char longest[66];

	assert_true(config_name_valid("a"));
	assert_true(config_name_valid("board0"));
	assert_true(config_name_valid("0x.y_z-w"));
	assert_true(config_name_valid("ast-demo"));
	assert_false(config_name_valid(""));
	assert_false(config_name_valid(NULL));
	assert_false(config_name_valid("."));
	assert_false(config_name_valid(".."));
	assert_false(config_name_valid(".hidden"));
	assert_false(config_name_valid("-x"));
	assert_false(config_name_valid("_x"));
	assert_false(config_name_valid("a/b"));
	assert_false(config_name_valid("a b"));
	assert_false(config_name_valid("caf\xc3\xa9"));
	memset(longest, 'a', 64);
	longest[64] = '\0';
	assert_true(config_name_valid(longest));
	longest[64] = 'a';
	longest[65] = '\0';
	assert_false(config_name_valid(longest));
}

static void test_name_reserved(void **state)
{
	static const char *const reserved[] = { "ctl", "state", "target", "log",
		"events", "props", "gpio", "qmp", "monitor", "gdb", "firmware",
		"follow", "snapshots", "trace", "serial0.pty", "x.pty" };

	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		assert_true(config_name_reserved(reserved[i]));
	assert_false(config_name_reserved("serial0"));
	assert_false(config_name_reserved("ctl2"));
	assert_false(config_name_reserved("CTL"));
	assert_false(config_name_reserved("pty"));
	assert_false(config_name_reserved("x.ptyx"));
	assert_false(config_name_reserved(NULL));
}

/* ---- refusals: one line, file, JSON path, what was expected ---- */

static void test_refuse_missing_required_key(void **state)
{
	refused("{'targets': {'demo': {'emulator': 'qemu', 'qemu': {'binary': 'q'}}}}",
		"demo.json: targets.demo.qemu.machine: expected a string "
		"(required key missing)");
	refused("{}", "demo.json: targets: expected an object (required key missing)");
	refused("{'targets': {'t': {'emulator': 'qemu'}}}",
		"demo.json: targets.t.qemu: expected an object (required key missing)");
	refused("{'targets': {'t': {'qemu': {}}}}",
		"demo.json: targets.t.emulator: expected \"qemu\" or \"renode\" "
		"(required key missing)");
	refused("{'targets': {'r': {'emulator': 'renode', 'renode': {'binary': 'r'}}}}",
		"demo.json: targets.r.renode: expected \"platform\" or \"script\" "
		"(required key missing)");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'drives': [{'format': 'raw'}]}}}}",
		"demo.json: targets.t.qemu.drives[0].file: expected a string "
		"(required key missing)");
	refused(QEMU_TOP(", 'instances': {'b': {}}"),
		"demo.json: instances.b.target: expected a string (required key missing)");
}

static void test_refuse_wrong_type(void **state)
{
	refused("{'targets': {'demo': {'emulator': 'qemu', "
		"'qemu': {'binary': 'q', 'machine': 5}}}}",
		"demo.json: targets.demo.qemu.machine: expected a string, got an integer");
	refused("{'targets': []}",
		"demo.json: targets: expected an object, got an array");
	refused("{'targets': {'t': 1}}",
		"demo.json: targets.t: expected an object, got an integer");
	refused("[]", "demo.json: expected an object at the top level, got an array");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'args': ['-s', 1.5]}}}}",
		"demo.json: targets.t.qemu.args[1]: expected a string, got a real number");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'args': '-s'}}}}",
		"demo.json: targets.t.qemu.args: expected an array of strings, got a string");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'drives': [{'file': 'f', 'overlay': 'yes'}]}}}}",
		"demo.json: targets.t.qemu.drives[0].overlay: expected a boolean, got a string");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm', 'drives': ['f.img']}}}}",
		"demo.json: targets.t.qemu.drives[0]: expected an object, got a string");
	refused(QEMU_TOP(", 'instances': {'b': {'target': 't', 'autostart': 1}}"),
		"demo.json: instances.b.autostart: expected a boolean, got an integer");
	refused(QEMU_T(", 'serial': {'s0': '0'}"),
		"demo.json: targets.t.serial.s0: expected a UART index (an integer "
		"from 0 to 15), got a string");
	refused(RENODE_T(", 'serial': {'s0': 0}"),
		"demo.json: targets.r.serial.s0: expected a peripheral path string, "
		"got an integer");
	refused(QEMU_T(", 'gpio': {'led': 'x'}"),
		"demo.json: targets.t.gpio.led: expected an object, got a string");
	refused("{'targets': {}, 'settings': {'request_timeout_ms': '5s'}}",
		"demo.json: settings.request_timeout_ms: expected an integer from 100 "
		"to 600000, got a string");
	refused("{'targets': {}, 'instances': null}",
		"demo.json: instances: expected an object, got null");
}

static void test_refuse_empty_string(void **state)
{
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': '', "
		"'machine': 'm'}}}}",
		"demo.json: targets.t.qemu.binary: expected a non-empty string");
	refused(RENODE_T(", 'serial': {'s0': ''}"),
		"demo.json: targets.r.serial.s0: expected a peripheral path string, "
		"got an empty string");
}

static void test_refuse_unknown_emulator(void **state)
{
	refused("{'targets': {'x': {'emulator': 'bochs'}}}",
		"demo.json: targets.x.emulator: expected \"qemu\" or \"renode\", "
		"got \"bochs\"");
	refused("{'targets': {'x': {'emulator': true}}}",
		"demo.json: targets.x.emulator: expected \"qemu\" or \"renode\", "
		"got a boolean");
}

static void test_refuse_other_emulators_object(void **state)
{
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm'}, 'renode': {'binary': 'r'}}}}",
		"demo.json: targets.t.renode: not allowed: the target's emulator "
		"is \"qemu\"");
}

static void test_refuse_unknown_target(void **state)
{
	refused(QEMU_TOP(", 'instances': {'b0': {'target': 'nope'}}"),
		"demo.json: instances.b0.target: unknown target \"nope\"");
}

static void test_refuse_unknown_key(void **state)
{
	refused(QEMU_TOP(", 'instances': {'b0': {'target': 't', 'autostrat': true}}"),
		"demo.json: instances.b0: unknown key \"autostrat\" "
		"(expected one of: target, autostart)");
	refused("{'targets': {}, 'instance': {}}",
		"demo.json: unknown key \"instance\" "
		"(expected one of: targets, instances, settings)");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machin': 'm'}}}}",
		"demo.json: targets.t.qemu: unknown key \"machin\" (expected one of: "
		"binary, machine, kernel, initrd, dtb, append, args, preconfig, "
		"drives)");
	refused("{'targets': {'t': {'emulator': 'qemu', 'qemu': {'binary': 'q', "
		"'machine': 'm'}, 'serials': {}}}}",
		"demo.json: targets.t: unknown key \"serials\" (expected one of: "
		"emulator, qemu, renode, serial, gpio, launcher, attach)");
	refused(QEMU_T(", 'gpio': {'led': {'qom': '/q', 'property': 'p', "
		       "'pin': 3, 'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led: unknown key \"pin\" "
		"(expected one of: qom, property, direction)");
	refused("{'targets': {}, 'settings': {'timeout': 1}}",
		"demo.json: settings: unknown key \"timeout\" "
		"(expected one of: request_timeout_ms, log_cap_bytes, snapshot_timeout_ms, listen, tls)");
}

static void test_refuse_bad_name(void **state)
{
	refused("{'targets': {'bad name': {}}}",
		"demo.json: targets: invalid name \"bad name\": expected "
		"[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes");
	refused(QEMU_TOP(", 'instances': {'.b': {'target': 't'}}"),
		"demo.json: instances: invalid name \".b\": expected "
		"[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes");
	refused(QEMU_T(", 'serial': {'a/b': 0}"),
		"demo.json: targets.t.serial: invalid name \"a/b\": expected "
		"[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes");
	refused(QEMU_T(", 'gpio': {'': {}}"),
		"demo.json: targets.t.gpio: invalid name \"\": expected "
		"[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes");
}

static void test_refuse_control_characters_stay_one_line(void **state)
{
	refused("{'targets': {'a\\nb': {}}}",
		"demo.json: targets: invalid name \"a\\x0ab\": expected "
		"[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes");
}

static void test_refuse_reserved_name(void **state)
{
	refused(QEMU_T(", 'serial': {'ctl': 0}"),
		"demo.json: targets.t.serial: reserved name \"ctl\": expected a name "
		"other than ctl, state, target, log, events, props, gpio, gdb, "
		"firmware, follow, snapshots, trace, qmp, monitor or *.pty");
	refused(QEMU_T(", 'gpio': {'led.pty': {}}"),
		"demo.json: targets.t.gpio: reserved name \"led.pty\": expected a name "
		"other than ctl, state, target, log, events, props, gpio, gdb, "
		"firmware, follow, snapshots, trace, qmp, monitor or *.pty");
}

static void test_refuse_pin_named_as_channel(void **state)
{
	refused(QEMU_T(", 'serial': {'io': 0}, 'gpio': {'io': "
		       "{'shim': 'io', 'pin': 1, 'direction': 'in'}}"),
		"demo.json: targets.t.gpio: pin name \"io\" is already a serial "
		"channel: expected a name of its own");
}

static void test_refuse_duplicate_qemu_index(void **state)
{
	refused(QEMU_T(", 'serial': {'a': 1, 'b': 2, 'c': 1}"),
		"demo.json: targets.t.serial.c: expected a UART index not used by "
		"another channel, got 1 (already channel \"a\")");
	refused(QEMU_T(", 'serial': {'a': 16}"),
		"demo.json: targets.t.serial.a: expected a UART index from 0 to 15, "
		"got 16");
	refused(QEMU_T(", 'serial': {'a': -1}"),
		"demo.json: targets.t.serial.a: expected a UART index from 0 to 15, "
		"got -1");
}

static void test_refuse_shim_unknown_channel(void **state)
{
	refused(QEMU_T(", 'serial': {'con': 0}, 'gpio': {'led': "
		       "{'shim': 'uart9', 'pin': 1, 'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led.shim: unknown channel \"uart9\" "
		"(expected one of the target's serial channels)");
}

static void test_refuse_pin_backends(void **state)
{
	refused(QEMU_T(", 'gpio': {'led': {'renode': 'sysbus.gpio', 'pin': 1, "
		       "'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led.renode: not for a qemu target; "
		"expected \"qom\" or \"shim\"");
	refused(RENODE_T(", 'gpio': {'led': {'qom': '/q', 'property': 'p', "
			 "'direction': 'out'}}"),
		"demo.json: targets.r.gpio.led.qom: not for a renode target; "
		"expected \"renode\"");
	refused(QEMU_T(", 'gpio': {'led': {'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led: expected \"qom\" or \"shim\" "
		"(required key missing)");
	refused(QEMU_T(", 'serial': {'s': 0}, 'gpio': {'led': {'qom': '/q', "
		       "'shim': 's', 'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led: expected only one of \"qom\" or \"shim\"");
	refused(QEMU_T(", 'gpio': {'led': {'qom': '/q', 'direction': 'out'}}"),
		"demo.json: targets.t.gpio.led.property: expected a string "
		"(required key missing)");
	refused(RENODE_T(", 'gpio': {'led': {'renode': 'sysbus.gpio', "
			 "'direction': 'out'}}"),
		"demo.json: targets.r.gpio.led.pin: expected a pin number (an integer "
		">= 0) (required key missing)");
	refused(RENODE_T(", 'gpio': {'led': {'renode': 'sysbus.gpio', 'pin': -2, "
			 "'direction': 'out'}}"),
		"demo.json: targets.r.gpio.led.pin: expected a pin number (an integer "
		">= 0), got -2");
	refused(RENODE_T(", 'gpio': {'led': {'renode': 'sysbus.gpio', 'pin': 2, "
			 "'direction': 'both'}}"),
		"demo.json: targets.r.gpio.led.direction: expected \"in\" or \"out\", "
		"got \"both\"");
	refused(RENODE_T(", 'gpio': {'led': {'renode': 'sysbus.gpio', 'pin': 2}}"),
		"demo.json: targets.r.gpio.led.direction: expected a string "
		"(required key missing)");
}

static void test_refuse_settings_out_of_range(void **state)
{
	refused("{'targets': {}, 'settings': {'request_timeout_ms': 99}}",
		"demo.json: settings.request_timeout_ms: expected an integer from 100 "
		"to 600000, got 99");
	refused("{'targets': {}, 'settings': {'request_timeout_ms': 600001}}",
		"demo.json: settings.request_timeout_ms: expected an integer from 100 "
		"to 600000, got 600001");
	refused("{'targets': {}, 'settings': {'log_cap_bytes': 4095}}",
		"demo.json: settings.log_cap_bytes: expected an integer >= 4096, got 4095");
}

static void test_refuse_bad_json_with_line(void **state)
{
	struct emufs_config *cfg = (void *)1;
	char err[512] = "";
	const char *text = "{\n  \"targets\": {\n    \"t\": ,\n  }\n}\n";

	assert_int_equal(config_parse(text, strlen(text), "demo.json", &cfg,
				      err, sizeof err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err, "demo.json: line 3 column "));
	assert_null(strchr(err, '\n'));

	refused("{'targets': {}, 'targets': {}}",
		"demo.json: line 1 column 25: duplicate object key near "
		"'\"targets\"'");
	refused("", "demo.json: line 1 column 0: '[' or '{' expected near end of file");
}

static void test_refuse_bad_json_from_file(void **state)
{
	struct scratch s;
	struct emufs_config *cfg = (void *)1;
	char err[512] = "", want[256];

	scratch_make(&s, "{'targets': {}\n\n,,}");
	assert_int_equal(config_load(s.file, &cfg, err, sizeof err), -1);
	assert_null(cfg);
	snprintf(want, sizeof want, "%s: line 3 column ", s.file);
	assert_memory_equal(err, want, strlen(want));
	scratch_remove(&s, NULL);
}

static void test_refuse_unreadable_file(void **state)
{
	struct scratch s;
	struct emufs_config *cfg = (void *)1;
	char err[512] = "", want[256];

	assert_int_equal(config_load("/nonexistent/emufs.json", &cfg, err,
				     sizeof err), -1);
	assert_null(cfg);
	snprintf(want, sizeof want, "/nonexistent/emufs.json: %s", strerror(ENOENT));
	assert_string_equal(err, want);

	scratch_make(&s, "{}");
	assert_int_equal(config_load(s.dir, &cfg, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: %s", s.dir, strerror(EISDIR));
	assert_string_equal(err, want);

	if (geteuid() != 0) {
		assert_int_equal(chmod(s.file, 0), 0);
		assert_int_equal(config_load(s.file, &cfg, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: %s", s.file, strerror(EACCES));
		assert_string_equal(err, want);
	}
	scratch_remove(&s, NULL);
}

static void test_small_error_buffer_is_safe(void **state)
{
	struct emufs_config *cfg = NULL;
	char err[12];
	char *s = dq(QEMU_TOP(", 'instances': {'b0': {'target': 'nope'}}"));

	memset(err, 'x', sizeof err);
	assert_int_equal(config_parse(s, strlen(s), "demo.json", &cfg, err,
				      sizeof err), -1);
	assert_string_equal(err, "demo.json: ");
	assert_int_equal(config_parse(s, strlen(s), "demo.json", &cfg, NULL, 0), -1);
	assert_null(cfg);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses_to_structs),
		cmocka_unit_test(test_instances_absent_one_per_target),
		cmocka_unit_test(test_instances_empty_means_none),
		cmocka_unit_test(test_empty_targets_allowed),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_insertion_order_kept),
		cmocka_unit_test(test_drive_defaults),
		cmocka_unit_test(test_relative_paths_from_memory),
		cmocka_unit_test(test_binary_without_slash_kept_for_path_lookup),
		cmocka_unit_test(test_load_resolves_against_config_dir),
		cmocka_unit_test(test_load_relative_config_path),
		cmocka_unit_test(test_qemu_initrd_dtb_append),
		cmocka_unit_test(test_config_empty),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_reserved),
		cmocka_unit_test(test_refuse_missing_required_key),
		cmocka_unit_test(test_refuse_wrong_type),
		cmocka_unit_test(test_refuse_empty_string),
		cmocka_unit_test(test_refuse_unknown_emulator),
		cmocka_unit_test(test_refuse_other_emulators_object),
		cmocka_unit_test(test_refuse_unknown_target),
		cmocka_unit_test(test_refuse_unknown_key),
		cmocka_unit_test(test_refuse_bad_name),
		cmocka_unit_test(test_refuse_control_characters_stay_one_line),
		cmocka_unit_test(test_refuse_reserved_name),
		cmocka_unit_test(test_refuse_pin_named_as_channel),
		cmocka_unit_test(test_refuse_duplicate_qemu_index),
		cmocka_unit_test(test_refuse_shim_unknown_channel),
		cmocka_unit_test(test_refuse_pin_backends),
		cmocka_unit_test(test_refuse_settings_out_of_range),
		cmocka_unit_test(test_refuse_bad_json_with_line),
		cmocka_unit_test(test_refuse_bad_json_from_file),
		cmocka_unit_test(test_refuse_unreadable_file),
		cmocka_unit_test(test_small_error_buffer_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
