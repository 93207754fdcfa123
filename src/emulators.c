/* emulators.c - the table of emulators: the one place that names every
 * emulator folder. The core finds an emulator here by its name in the
 * configuration (emulator.h) and reaches it only through what it brings:
 * its part of the schema and its connector. Adding an emulator is a new
 * folder under src/ and one line here.
 */
#include <string.h>

#include "core/emulator.h"
#include "qemu/qemu.h"
#include "renode/renode.h"

static const struct emulator *const emulators[] = {
	&qemu_emulator,
	&renode_emulator,
	NULL,
};

const struct emulator *emulator_find(const char *name)
{
	for (size_t i = 0; name && emulators[i]; i++)
		if (!strcmp(emulators[i]->name, name))
			return emulators[i];
	return NULL;
}

const struct emulator *const *emulator_all(void)
{
	return emulators;
}
