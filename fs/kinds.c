/* kinds.c - looking up the table of file kinds (kinds.h; the table
 * itself is kind_table.c). */
#include "kinds.h"

#include <string.h>

#include "core/config.h"
#include "core/emulator.h"
#include "core/instance.h"

const struct kind *kind_by_name(const char *name)
{
	size_t l = strlen(name), sl = strlen(KIND_PTY_SUFFIX);
	for (int k = 0; k < N_KINDS; k++) {
		const char *kn = fs_kinds[k].name;
		if (!kn)
			continue;
		if (kn[0] == '*' ? l > sl && !strcmp(name + l - sl, kn + 1)
				 : !strcmp(name, kn))
			return &fs_kinds[k];
	}
	return NULL;
}

bool kind_present(const struct kind *k, struct instance *inst)
{
	return !k->reserved_only;
}

const char *kind_raw_name(struct instance *inst)
{
	/* The name lives in the emulator's descriptor, for ever. */
	struct binding *b = instance_binding(inst);
	const char *name = b->target ? b->target->emulator->raw_file : NULL;
	binding_put(b);
	return name;
}
