/* renode_pins.c - gpio/ pins of the renode backend (docs/reference.md 3.5).
 *
 * A pin names a peripheral and a number. What the peripheral is comes from
 * its type in `peripherals`:
 *   - a GPIO port (e.g. STM32_GPIOPort): `OnGPIO N true|false` drives an
 *     input; an output's level is its connection's state in `GetGPIOs`;
 *   - an LED (Miscellaneous.LED): its `State`; nothing to drive;
 *   - a button (Miscellaneous.Button): `Press` / `Release`, read back as
 *     `Pressed`.
 * An input of a port has no read-back that works for every model: it reads
 * as the level emufs drove last in this run (0 before).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run.h"
#include "renode_pins.h"
#include "renode_props.h"
#include "renode_run.h"
#include "renode_parse.h"

/* What a pin's peripheral is, from its type's name in `peripherals`. */
enum pin_kind { PK_PORT, PK_LED, PK_BUTTON };

static int pin_kind(struct run *r, const struct cfg_pin *pin,
		    enum pin_kind *k, size_t *idx)
{
	*idx = (size_t)(pin - r->target->pins);
	if (*idx >= r->target->npins || !renode_path_ok(pin->object)) {
		run_log(r, "gpio/%s: \"%s\" is not a peripheral "
			     "path", pin->name, pin->object);
		return -EIO;
	}
	char *type;
	int rc = renode_peripheral_type(r, pin->object, &type);
	if (rc == -ENOENT)
		run_log(r, "gpio/%s: the machine has no "
			     "peripheral %s", pin->name, pin->object);
	if (rc)
		return rc == -ENOENT ? -EIO : rc;
	*k = !strcmp(type, "LED") ? PK_LED
	     : !strcmp(type, "Button") ? PK_BUTTON : PK_PORT;
	free(type);
	return 0;
}

static int read_bool(struct run *r, const struct cfg_pin *pin,
		     const char *prop, int *level)
{
	char line[300], *out = NULL;
	snprintf(line, sizeof line, "%s %s", pin->object, prop);
	int rc = renode_exec_logged(r, pin->name, line, &out);
	if (rc == 0 && (*level = renode_parse_bool(out)) < 0) {
		run_log(r, "gpio/%s: %s printed \"%.40s\", not "
			     "True or False", pin->name, line, out);
		rc = -EIO;
	}
	free(out);
	return rc;
}

int renode_pin_get(struct run *r, const struct cfg_pin *pin,
			  int *level)
{
	struct renode_run *rr = r->priv;
	enum pin_kind k;
	size_t idx;
	int rc = pin_kind(r, pin, &k, &idx);
	if (rc)
		return rc;
	if (k == PK_LED)
		return read_bool(r, pin, "State", level);
	if (k == PK_BUTTON)
		return read_bool(r, pin, "Pressed", level);
	if (pin->dir == PIN_IN) {
		/* A port's inputs have no generic read-back: the level is
		 * the one emufs drove last (0 until then). */
		*level = atomic_load(&rr->in_level[idx]);
		return 0;
	}
	char line[300], num[16], *out = NULL;
	snprintf(line, sizeof line, "%s GetGPIOs", pin->object);
	snprintf(num, sizeof num, "%d", pin->pin);
	if ((rc = renode_exec_logged(r, pin->name, line, &out)))
		return rc;
	int st = renode_parse_gpio_state(out, num);
	free(out);
	if (st < 0) {
		run_log(r, "gpio/%s: %s lists %s GPIO %d",
			     pin->name, line, st == -ENOENT ? "no" : "no state "
			     "for", pin->pin);
		return -EIO;
	}
	*level = st;
	return 0;
}

int renode_pin_set(struct run *r, const struct cfg_pin *pin,
			  int level)
{
	struct renode_run *rr = r->priv;
	enum pin_kind k;
	size_t idx;
	char line[300];
	int rc = pin_kind(r, pin, &k, &idx);
	if (rc)
		return rc;
	switch (k) {
	case PK_LED:
		run_log(r, "gpio/%s: %s is an LED: nothing to "
			     "drive", pin->name, pin->object);
		return -EIO;
	case PK_BUTTON:
		snprintf(line, sizeof line, "%s %s", pin->object,
			 level ? "Press" : "Release");
		return renode_exec_logged(r, pin->name, line, NULL);
	case PK_PORT:
		snprintf(line, sizeof line, "%s OnGPIO %d %s", pin->object,
			 pin->pin, level ? "true" : "false");
		if ((rc = renode_exec_logged(r, pin->name, line, NULL)) == 0)
			atomic_store(&rr->in_level[idx], level);
		return rc;
	}
	return -EIO;
}
