/* test_config_launcher.c - the configuration of emulators on other
 * machines (interface.md 6): targets.*.launcher, settings.listen, and
 * what is refused at load (a link off loopback without TLS, TLS itself
 * in this version, Renode off loopback, a drive overlay with a
 * launcher). Texts are written with ' for " to stay readable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_load.h"

#include "config_text.h"

/* A qemu target "t" with EXTRA in it, and SETTINGS at the top level. */
#define QEMU_L(extra, settings) \
	"{'targets': {'t': {'emulator': 'qemu', " \
	"'qemu': {'binary': 'q', 'machine': 'm'" extra "}}}" settings "}"

static void test_launcher_parses(void **state)
{
	struct emufs_config *cfg = parse_ok(
		"{'targets': {'t': {'emulator': 'qemu', 'launcher': "
		"['srun', '--quiet', '--'], 'qemu': {'binary': 'q', "
		"'machine': 'm'}}}, 'settings': {'listen': '127.0.0.2'}}");

	assert_int_equal(cfg->targets[0].nlauncher, 3);
	assert_string_equal(cfg->targets[0].launcher[0], "srun");
	assert_string_equal(cfg->targets[0].launcher[2], "--");
	assert_string_equal(cfg->listen, "127.0.0.2");
	assert_string_equal(cfg->targets[0].listen, "127.0.0.2");
	config_free(cfg);
}

static void test_listen_defaults_to_loopback(void **state)
{
	struct emufs_config *cfg = parse_ok(QEMU_L("", ""));

	assert_string_equal(cfg->listen, "127.0.0.1");
	assert_null(cfg->targets[0].launcher);
	config_free(cfg);
	cfg = parse_ok(QEMU_L("", ", 'settings': {'listen': '::1'}"));
	assert_string_equal(cfg->listen, "::1");
	config_free(cfg);
}

static void test_refuse_bad_launcher(void **state)
{
	refused("{'targets': {'t': {'emulator': 'qemu', 'launcher': [], "
		"'qemu': {'binary': 'q', 'machine': 'm'}}}}",
		"demo.json: targets.t.launcher: expected a non-empty array of "
		"strings (an argv prefix, e.g. [\"srun\", \"--\"]), got an "
		"empty array");
	refused("{'targets': {'t': {'emulator': 'qemu', 'launcher': 'srun', "
		"'qemu': {'binary': 'q', 'machine': 'm'}}}}",
		"demo.json: targets.t.launcher: expected a non-empty array of "
		"strings (an argv prefix, e.g. [\"srun\", \"--\"]), got a "
		"string");
	refused("{'targets': {'t': {'emulator': 'qemu', 'launcher': "
		"['srun', 3], 'qemu': {'binary': 'q', 'machine': 'm'}}}}",
		"demo.json: targets.t.launcher[1]: expected a string, got an "
		"integer");
	refused("{'targets': {'t': {'emulator': 'qemu', 'launcher': [''], "
		"'qemu': {'binary': 'q', 'machine': 'm'}}}}",
		"demo.json: targets.t.launcher[0]: expected a program name, "
		"got \"\"");
}

static void test_refuse_listen_off_loopback(void **state)
{
	refused(QEMU_L("", ", 'settings': {'listen': '10.1.2.3'}"),
		"demo.json: settings.listen: \"10.1.2.3\" is not a loopback "
		"address: links off this machine need settings.tls");
	refused(QEMU_L("", ", 'settings': {'listen': 'node1'}"),
		"demo.json: settings.listen: expected an IPv4 or IPv6 "
		"address, got \"node1\"");
}

/* settings.tls: {"dir": DIR} of QEMU's tls-creds-x509 layout, loaded
 * at config time so a bad one is refused before mounting, the file
 * named; with it, settings.listen may leave loopback. */
static void test_tls_settings(void **state)
{
	refused(QEMU_L("", ", 'settings': {'tls': {'dir': '/x'}}"),
		"demo.json: settings.tls.dir: /x/ca-cert.pem: Error while "
		"reading file.");
	refused(QEMU_L("", ", 'settings': {'tls': '/x'}"),
		"demo.json: settings.tls: expected an object, got a string");
	refused(QEMU_L("", ", 'settings': {'tls': {'dir': '/x', 'ca': 1}}"),
		"demo.json: settings.tls: unknown key \"ca\" (expected one "
		"of: dir)");

	char dir[] = "/tmp/emufs-cfgtls-XXXXXX", cmd[256], json[512];
	assert_non_null(mkdtemp(dir));
	/* The unit tests run from the top of the tree (run-unit.sh). */
	snprintf(cmd, sizeof cmd, "sh tests/tls/make-certs.sh %s 10.1.2.3",
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(json, sizeof json, QEMU_L("", ", 'settings': {'listen': "
		 "'10.1.2.3', 'tls': {'dir': '%s'}}"), dir);
	struct emufs_config *cfg = parse_ok(json);
	assert_string_equal(cfg->targets[0].tls_dir, dir);
	assert_string_equal(cfg->targets[0].listen, "10.1.2.3");
	config_free(cfg);
	snprintf(cmd, sizeof cmd, "rm %s/client-key.pem", dir);
	assert_int_equal(system(cmd), 0);
	cfg = NULL;
	char err[512] = "";
	for (char *p = json; *p; p++)        /* as parse_ok does */
		if (*p == '\'')
			*p = '"';
	assert_int_not_equal(config_parse(json, strlen(json), "demo.json",
					  &cfg, err, sizeof err), 0);
	assert_non_null(strstr(err, "settings.tls.dir: "));
	assert_non_null(strstr(err, "client-key.pem"));
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_refuse_renode_launcher_off_loopback(void **state)
{
	refused("{'targets': {'r': {'emulator': 'renode', 'launcher': "
		"['srun', '--'], 'renode': {'binary': 'renode', 'script': "
		"'s.resc'}}}, 'settings': {'listen': '192.168.7.1'}}",
		"demo.json: targets.r.launcher: not allowed with "
		"settings.listen \"192.168.7.1\" off loopback: renode's ports "
		"have no TLS; keep the emulator on this machine, or tunnel "
		"its ports (docs/scale-out.md)");
	/* On loopback it is allowed. */
	config_free(parse_ok("{'targets': {'r': {'emulator': 'renode', "
		"'launcher': ['srun', '--'], 'renode': {'binary': 'renode', "
		"'script': 's.resc'}}}}"));
}

static void test_refuse_overlay_with_launcher(void **state)
{
	refused("{'targets': {'t': {'emulator': 'qemu', 'launcher': ['srun'], "
		"'qemu': {'binary': 'q', 'machine': 'm', 'drives': "
		"[{'file': '/f', 'overlay': true}]}}}}",
		"demo.json: targets.t.qemu.drives[0].overlay: not supported "
		"with a launcher yet (the overlay is made in emufs's state "
		"directory)");
}

static void test_loopback_addresses(void **state)
{
	assert_true(config_addr_loopback("127.0.0.1"));
	assert_true(config_addr_loopback("127.255.0.9"));
	assert_true(config_addr_loopback("::1"));
	assert_false(config_addr_loopback("128.0.0.1"));
	assert_false(config_addr_loopback("0.0.0.0"));
	assert_false(config_addr_loopback("::"));
	assert_false(config_addr_loopback("localhost"));
	assert_false(config_addr_loopback(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launcher_parses),
		cmocka_unit_test(test_listen_defaults_to_loopback),
		cmocka_unit_test(test_refuse_bad_launcher),
		cmocka_unit_test(test_refuse_listen_off_loopback),
		cmocka_unit_test(test_tls_settings),
		cmocka_unit_test(test_refuse_renode_launcher_off_loopback),
		cmocka_unit_test(test_refuse_overlay_with_launcher),
		cmocka_unit_test(test_loopback_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
