/* connector.c - the table of emulators. */
#include "connector.h"

#include <stdlib.h>

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

void prop_entries_free(struct prop_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].type);
	}
	free(ents);
}
