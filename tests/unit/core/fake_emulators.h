/* fake_emulators.h - the table of emulators, for a unit test whose
 * emulator is a fake: a test defines `fake_connector` (its connector_ops)
 * and includes this file, which defines emulator_find() and
 * emulator_all(). The linker then takes the table from the test and
 * leaves src/emulators.c, and with it every real connector, out of the
 * binary. The fake reads a config's "qemu" section with QEMU's own schema,
 * so a test's configuration is an ordinary one. */
#ifndef EMUFS_TEST_FAKE_EMULATORS_H
#define EMUFS_TEST_FAKE_EMULATORS_H

#include <string.h>

#include "core/emulator.h"
#include "qemu/qemu_config.h"

static const struct connector_ops fake_connector;

static const struct emulator fake_emulator = {
	.name = "qemu",
	.conn = &fake_connector,
	.raw_file = "qmp",
	.parse = qemu_config_parse,
	.free = qemu_config_free,
	.parse_channel = qemu_config_channel,
	.pin_key = "qom",
	.pin_keys = qemu_config_pin_keys,
	.parse_pin = qemu_config_pin,
	.shim_pins = true,
};

static const struct emulator *const fake_emulators[] = {
	&fake_emulator, NULL,
};

const struct emulator *emulator_find(const char *name)
{
	return name && !strcmp(name, fake_emulator.name) ? &fake_emulator
							 : NULL;
}

const struct emulator *const *emulator_all(void)
{
	return fake_emulators;
}

#endif
