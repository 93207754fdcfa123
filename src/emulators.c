/* emulators.c - the table of emulators: the one place that names every
 * emulator folder. The core reaches an emulator only through
 * connector_for(); adding one is a new folder under src/ and a line here.
 */
#include "core/connector.h"
#include "qemu/qemu.h"
#include "renode/renode.h"

static const struct connector_ops *const connectors[] = {
	[EMU_QEMU] = &qemu_connector,
	[EMU_RENODE] = &renode_connector,
};

const struct connector_ops *connector_for(enum emu_kind kind)
{
	if ((size_t)kind >= sizeof connectors / sizeof connectors[0])
		return NULL;
	return connectors[kind];
}
