/* qemu_config.c - a QEMU target's part of the configuration: the qemu
 * section, serial channels by UART index, QOM pins (qemu_config.h). The
 * rules of the whole file (unknown keys refused, paths relative to the
 * config) are config.c's. */
#include "qemu_config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_read.h"

#define QEMU_SERIAL_MAX 16      /* UART indexes 0..15 */

static int parse_drives(struct cfg_ctx *c, json_t *q, struct qemu_config *qm,
			bool launched)
{
	static const char *const keys[] = { "file", "format", "if", "overlay", NULL };
	json_t *arr, *d, *ov;
	size_t i, saved;

	if (cfg_field(c, q, "drives", JSON_ARRAY, "an array of objects", false, &arr))
		return -1;
	if (!arr || !json_array_size(arr))
		return 0;
	qm->drives = calloc(json_array_size(arr), sizeof *qm->drives);
	if (!qm->drives)
		return cfg_fail_at(c, "drives", "out of memory");
	qm->ndrives = json_array_size(arr);
	saved = cfg_path_push(c, "drives");
	json_array_foreach(arr, i, d) {
		struct qemu_drive *dr = &qm->drives[i];
		size_t s2 = cfg_path_push_index(c, i);

		if (!json_is_object(d))
			return cfg_fail_at(c, NULL, "expected an object, got %s",
				       cfg_type_name(d));
		if (cfg_check_keys(c, d, keys) ||
		    cfg_get_path(c, d, "file", true, &dr->file) ||
		    cfg_get_str(c, d, "format", false, &dr->format) ||
		    cfg_get_str(c, d, "if", false, &dr->iface) ||
		    cfg_field(c, d, "overlay", JSON_TRUE, "a boolean", false, &ov))
			return -1;
		if (!dr->format && cfg_dup_str(c, "raw", &dr->format))
			return -1;
		dr->overlay = ov && json_is_true(ov);
		/* The overlay is made in emufs's state directory, which the
		 * node of a launched QEMU need not see. */
		if (dr->overlay && launched)
			return cfg_fail_at(c, "overlay", "not supported with "
				       "a launcher yet (the overlay is made in "
				       "emufs's state directory)");
		cfg_path_pop(c, s2);
	}
	cfg_path_pop(c, saved);
	return 0;
}

void qemu_config_free(void *emu)
{
	struct qemu_config *q = emu;

	if (!q)
		return;
	free(q->binary);
	free(q->machine);
	free(q->kernel);
	free(q->initrd);
	free(q->dtb);
	free(q->append);
	free(q->preconfig);
	for (size_t i = 0; q->args && i < q->nargs; i++)
		free(q->args[i]);
	free(q->args);
	for (size_t i = 0; q->drives && i < q->ndrives; i++) {
		free(q->drives[i].file);
		free(q->drives[i].format);
		free(q->drives[i].iface);
	}
	free(q->drives);
	free(q);
}

int qemu_config_parse(struct cfg_ctx *c, json_t *q, struct cfg_target *t)
{
	static const char *const keys[] = { "binary", "machine", "kernel",
					    "initrd", "dtb", "append", "args",
					    "preconfig", "drives", NULL };
	struct qemu_config *qm = calloc(1, sizeof *qm);

	if (!qm)
		return cfg_fail_at(c, NULL, "out of memory");
	t->emu = qm;       /* freed with the target, whatever happens */
	if (cfg_check_keys(c, q, keys) ||
	    cfg_get_binary(c, q, &qm->binary) ||
	    cfg_get_str(c, q, "machine", true, &qm->machine) ||
	    cfg_get_path(c, q, "kernel", false, &qm->kernel) ||
	    cfg_get_file(c, q, "initrd", false, &qm->initrd) ||
	    cfg_get_file(c, q, "dtb", false, &qm->dtb) ||
	    cfg_get_str(c, q, "append", false, &qm->append) ||
	    cfg_get_strv(c, q, "args", &qm->args, &qm->nargs) ||
	    cfg_get_path(c, q, "preconfig", false, &qm->preconfig) ||
	    parse_drives(c, q, qm, t->launcher != NULL))
		return -1;
	/* -D and -d are emufs's: trace/ reads QEMU's log through them
	 * (qemu_trace.c). */
	for (size_t i = 0; i < qm->nargs; i++) {
		const char *o = qm->args[i];
		o += o[0] == '-' && o[1] == '-';       /* --d is -d */
		if (!strcmp(o, "-D") || !strcmp(o, "-d") ||
		    !strncmp(o, "-D=", 3) || !strncmp(o, "-d=", 3))
			return cfg_fail_at(c, "args", "args[%zu]: %s is emufs's "
					   "own (trace/ uses QEMU's log); "
					   "use trace/enable", i, qm->args[i]);
	}
	/* QEMU refuses each of them without -kernel: say so at load. */
	static const char *const need_kernel[] = { "initrd", "dtb", "append" };
	for (size_t i = 0; !qm->kernel && i < 3; i++)
		if (json_object_get(q, need_kernel[i]))
			return cfg_fail_at(c, need_kernel[i], "needs "
					   "qemu.kernel (QEMU takes it only "
					   "with -kernel)");
	return 0;
}

/* serial.NAME: the board's UART index, each used by one channel. */
int qemu_config_channel(struct cfg_ctx *c, json_t *v,
			const struct cfg_target *t, struct cfg_channel *ch)
{
	if (!json_is_integer(v))
		return cfg_fail_at(c, ch->name, "expected a UART index (an "
			       "integer from 0 to %d), got %s",
			       QEMU_SERIAL_MAX - 1, cfg_type_name(v));
	if (json_integer_value(v) < 0 ||
	    json_integer_value(v) >= QEMU_SERIAL_MAX)
		return cfg_fail_at(c, ch->name, "expected a UART index from 0 "
			       "to %d, got %" JSON_INTEGER_FORMAT,
			       QEMU_SERIAL_MAX - 1, json_integer_value(v));
	ch->index = (int)json_integer_value(v);
	for (const struct cfg_channel *o = t->channels; o < ch; o++)
		if (o->index == ch->index)
			return cfg_fail_at(c, ch->name, "expected a UART index "
				       "not used by another channel, got %d "
				       "(already channel \"%s\")", ch->index,
				       o->name);
	return 0;
}

const char *const qemu_config_pin_keys[] = { "qom", "property", "direction", NULL };

/* {"qom": PATH, "property": NAME}: a QOM bool. */
int qemu_config_pin(struct cfg_ctx *c, json_t *p, struct cfg_pin *pin)
{
	return cfg_get_str(c, p, "qom", true, &pin->object) ||
	       cfg_get_str(c, p, "property", true, &pin->property) ? -1 : 0;
}

/* -kernel (qemu_argv.c); a target without one boots from its drives. */
const char *qemu_config_image(const struct cfg_target *t)
{
	/* An attached target has no section: it boots nothing of ours. */
	return t->emu ? qemu_config_of(t)->kernel : NULL;
}
