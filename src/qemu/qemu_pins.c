/* qemu_pins.c - a qom pin's level: a qom-get of its bool property
 * (docs/reference.md 3.5), sent without waiting (qmp_send) so that the
 * pin watcher has one out on every instance at once. */
#include "qemu_pins.h"

#include <errno.h>

#include "core/config.h"
#include "core/run.h"
#include "qemu_run.h"
#include "qmp.h"

/* The handle of a question not sent: the run has no QMP link (yet). */
static char no_link;

void *qemu_pin_get_begin(struct run *r, const struct cfg_pin *pin)
{
	struct qmp *q = qemu_run_qmp(r);
	if (!q)
		return &no_link;
	json_t *args = json_pack("{s:s,s:s}", "path", pin->object,
				 "property", pin->property);
	struct qmp_call *c = args ? qmp_send(q, "qom-get", args,
					     r->timeout_ms) : NULL;
	json_decref(args);
	return c;
}

int qemu_pin_get_end(struct run *r, const struct cfg_pin *pin, void *call,
		     int *level)
{
	struct qmp_error err;
	json_t *v = NULL;
	if (call == &no_link)
		return -ESRCH;
	int rc = qmp_collect(call, &v, &err);
	if (rc) {
		run_log(r, "gpio/%s: qom-get %s %s: %s: %s", pin->name,
			pin->object, pin->property, err.cls, err.desc);
	} else if (!json_is_boolean(v)) {
		run_log(r, "gpio/%s: %s %s is not a bool", pin->name,
			pin->object, pin->property);
		rc = -EIO;
	} else {
		*level = json_is_true(v);
	}
	json_decref(v);
	return rc;
}

int qemu_pin_get(struct run *r, const struct cfg_pin *pin, int *level)
{
	void *call = qemu_pin_get_begin(r, pin);
	return call ? qemu_pin_get_end(r, pin, call, level) : -ENOMEM;
}
