/* connector.c - what every connector shares. */
#include "connector.h"

#include <stdlib.h>

void prop_entries_free(struct prop_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].type);
	}
	free(ents);
}
