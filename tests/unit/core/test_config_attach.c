/* test_config_attach.c - targets.*.attach (interface.md 6): endpoints
 * parsed into host and port, the channels named by attach.serial, and
 * what is refused at load: a bad endpoint, an endpoint off loopback
 * without settings.tls, attach with what only a launch takes, attach for
 * an emulator that cannot be attached to. Texts are written with ' for
 * " to stay readable. */
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

/* Target "t" attached to ATTACH (the object's inside), EXTRA target keys,
 * SETTINGS at the top level. */
#define ATT(attach, extra, settings) \
	"{'targets': {'t': {'emulator': 'qemu', 'attach': {" attach "}" \
	extra "}}" settings "}"

static void test_attach_parses(void **state)
{
	struct emufs_config *cfg = parse_ok(ATT(
		"'qmp': '127.0.0.1:4444', 'serial': {'serial0': "
		"'localhost:4445', 'uart2': '[::1]:4447'}, 'gdb': "
		"'127.0.0.1:1234'",
		", 'gpio': {'led': {'shim': 'uart2', 'pin': 1, "
		"'direction': 'out'}}", ""));
	const struct cfg_target *t = &cfg->targets[0];

	assert_non_null(t->attach);
	assert_null(t->launcher);
	assert_null(t->emu);
	assert_string_equal(t->attach->qmp.host, "127.0.0.1");
	assert_string_equal(t->attach->qmp.port, "4444");
	assert_string_equal(t->attach->qmp.text, "127.0.0.1:4444");
	assert_int_equal(t->nchannels, 2);
	assert_string_equal(t->channels[0].name, "serial0");
	assert_int_equal(t->channels[0].index, -1);
	assert_string_equal(t->attach->serial[0].host, "localhost");
	assert_string_equal(t->channels[1].name, "uart2");
	assert_string_equal(t->attach->serial[1].host, "::1");
	assert_string_equal(t->attach->serial[1].port, "4447");
	assert_string_equal(t->attach->gdb.text, "127.0.0.1:1234");
	assert_int_equal(t->npins, 1);
	config_free(cfg);
}

static void test_attach_minimal_and_empty_qemu_section(void **state)
{
	struct emufs_config *cfg = parse_ok(ATT("'qmp': '127.0.0.1:1'",
						", 'qemu': {}", ""));

	assert_int_equal(cfg->targets[0].nchannels, 0);
	assert_null(cfg->targets[0].attach->gdb.host);
	config_free(cfg);
}

static void test_refuse_bad_endpoints(void **state)
{
	refused(ATT("", "", ""), "demo.json: targets.t.attach.qmp: expected "
		"a string \"HOST:PORT\" (required key missing)");
	static const char *const bad[] = { "'4444'", "'host'", "':4444'",
		"'h:0'", "'h:65536'", "'h:44a'", "'::1:4444'", "'[::1]4444'",
		"'a b:1'", "'h:'" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256], msg[256], shown[32];
		snprintf(text, sizeof text, ATT("'qmp': %s", "", ""), bad[i]);
		snprintf(shown, sizeof shown, "%.*s", (int)strlen(bad[i]) - 2,
			 bad[i] + 1);
		snprintf(msg, sizeof msg, "demo.json: targets.t.attach.qmp: "
			 "expected \"HOST:PORT\" (an address or name, a port "
			 "from 1 to 65535; \"[::1]:PORT\" for IPv6), got \"%s\"",
			 shown);
		refused(text, msg);
	}
	refused(ATT("'qmp': 'h:1', 'serial': {'serial0': 5}", "", ""),
		"demo.json: targets.t.attach.serial.serial0: expected a string "
		"\"HOST:PORT\", got an integer");
	refused(ATT("'qmp': 'h:1', 'monitor': 'h:2'", "", ""),
		"demo.json: targets.t.attach: unknown key \"monitor\" "
		"(expected one of: qmp, serial, gdb)");
}

static void test_refuse_off_loopback_without_tls(void **state)
{
	refused(ATT("'qmp': '10.0.0.2:4444'", "", ""),
		"demo.json: targets.t.attach.qmp: \"10.0.0.2:4444\" is not a "
		"loopback address: links off this machine need settings.tls");
	refused(ATT("'qmp': '127.0.0.1:4444', 'gdb': 'node1:1234'", "", ""),
		"demo.json: targets.t.attach.gdb: \"node1:1234\" is not a "
		"loopback address: links off this machine need settings.tls");
	refused(ATT("'qmp': '127.0.0.1:4444', 'serial': {'serial0': "
		    "'127.0.0.1:1', 'serial1': '[fe80::1]:2'}", "", ""),
		"demo.json: targets.t.attach.serial.serial1: \"[fe80::1]:2\" "
		"is not a loopback address: links off this machine need "
		"settings.tls");
}

static void test_refuse_launch_keys_with_attach(void **state)
{
	refused(ATT("'qmp': '127.0.0.1:1'", ", 'launcher': ['srun']", ""),
		"demo.json: targets.t.launcher: not allowed with attach: the "
		"emulator runs already");
	refused(ATT("'qmp': '127.0.0.1:1'", ", 'qemu': {'machine': 'm'}", ""),
		"demo.json: targets.t.qemu.machine: not allowed with attach: "
		"the emulator runs already (emufs starts nothing)");
	refused(ATT("'qmp': '127.0.0.1:1'", ", 'serial': {'serial0': 0}", ""),
		"demo.json: targets.t.serial: not allowed with attach: "
		"attach.serial names the channels and their endpoints");
	refused("{'targets': {'t': {'emulator': 'renode', 'attach': "
		"{'qmp': '127.0.0.1:1'}}}}",
		"demo.json: targets.t.attach: not for a renode target (only "
		"QEMU's QMP endpoints can be attached to)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_parses),
		cmocka_unit_test(test_attach_minimal_and_empty_qemu_section),
		cmocka_unit_test(test_refuse_bad_endpoints),
		cmocka_unit_test(test_refuse_off_loopback_without_tls),
		cmocka_unit_test(test_refuse_launch_keys_with_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
