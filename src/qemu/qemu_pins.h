/* qemu_pins.h - reading a qom pin's level (qemu_pins.c); writing one is
 * a qom-set of props (qemu_qom.h). */
#ifndef EMUFS_QEMU_PINS_H
#define EMUFS_QEMU_PINS_H

struct cfg_pin;
struct run;

/* The connector's pin_get, and its two halves (core/connector.h). */
int qemu_pin_get(struct run *r, const struct cfg_pin *pin, int *level);
void *qemu_pin_get_begin(struct run *r, const struct cfg_pin *pin);
int qemu_pin_get_end(struct run *r, const struct cfg_pin *pin, void *call,
		     int *level);

#endif
