/* emulator.h - what an emulator brings to emufs: its name in the
 * configuration, its part of the configuration's schema, and its
 * connector (connector.h).
 *
 * Each emulator folder (src/qemu/, src/renode/) defines one `struct
 * emulator`; the table of emulators (src/emulators.c) lists them, and the
 * core finds them there by name. Nothing in the core names an emulator.
 */
#ifndef EMUFS_EMULATOR_H
#define EMUFS_EMULATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct cfg_ctx;
struct cfg_channel;
struct cfg_pin;
struct cfg_target;
struct connector_ops;

struct emulator {
	/* The value of targets.*.emulator and the key of the target's
	 * section for this emulator ("qemu": targets.*.qemu). */
	const char *name;
	const struct connector_ops *conn;
	/* The name of the instance file of raw commands (docs/reference.md 3.6:
	 * "qmp", "monitor"), or NULL. */
	const char *raw_file;

	/* The section's object into t->emu (the emulator's own struct).
	 * Errors: -1, with the message made by cfg_fail_at(). */
	int (*parse)(struct cfg_ctx *c, json_t *section, struct cfg_target *t);
	void (*free)(void *emu);
	/* A serial channel's source, the value of serial.NAME, into ch; the
	 * target's channels before it are t->channels[0 .. ch). */
	int (*parse_channel)(struct cfg_ctx *c, json_t *v,
			     const struct cfg_target *t,
			     struct cfg_channel *ch);
	/* Pins of the emulator's own backend: the key that selects it
	 * ("qom", "renode"), every key such a pin may have, and its parser
	 * (direction is read by the core). */
	const char *pin_key;
	const char *const *pin_keys;
	int (*parse_pin)(struct cfg_ctx *c, json_t *p, struct cfg_pin *pin);
	/* Whether pins may also speak the shim protocol over a channel. */
	bool shim_pins;
	/* The image a target boots of its own (QEMU's kernel, Renode's
	 * firmware), or NULL: it boots none, and takes no other through
	 * the `firmware` file (firmware.h). */
	const char *(*image_of)(const struct cfg_target *t);
	/* Whether the emulator can be told to boot path: false with a
	 * static reason in *why when its syntax cannot express it
	 * (Renode's `@path`). NULL: any path will do. */
	bool (*accepts_image)(const char *path, const char **why);
	/* The escape byte of the emulator's serial input, or 0 when it has
	 * none. With one, every such byte written to a channel is sent
	 * doubled (a literal), and `break CHANNEL` (ctl) sends it then 'b':
	 * QEMU's mux chardev (qemu_argv.c). Without: no serial break. */
	unsigned char serial_escape;
	/* Whether its links to emufs are emufs's TCP connections (QEMU's
	 * chardevs dial settings.listen), which may leave this machine once
	 * they have TLS; false when the emulator's own ports are the links
	 * (Renode's): a launcher is then allowed on loopback only. */
	bool tcp_links;
	/* Whether a target may attach to one someone else started
	 * (targets.*.attach, QEMU's QMP and chardev endpoints). */
	bool attach;
};

/* By name, from the table of emulators; NULL when unknown. */
const struct emulator *emulator_find(const char *name);
/* Every emulator, NULL-terminated. */
const struct emulator *const *emulator_all(void);

#endif
