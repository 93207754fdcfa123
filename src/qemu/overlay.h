/* overlay.h - a fresh copy-on-write disk per run (docs/reference.md 2,
 * qemu.drives[].overlay): `qemu-img create -f qcow2 -b BASE -F FORMAT` in
 * the instance's state directory, so the base file is never written. The
 * overlay is deleted when the run ends; if emufs itself is killed, the
 * janitor removes the whole state directory.
 */
#ifndef EMUFS_OVERLAY_H
#define EMUFS_OVERLAY_H

#include <stddef.h>

/* Create overlay over base (format fmt) with qemu-img, waiting at most
 * timeout_ms. 0, or -errno with one line in why (qemu-img's own message
 * when it failed). */
int overlay_create(const char *qemu_img, const char *base, const char *fmt,
		   const char *overlay, int timeout_ms, char *why,
		   size_t whylen);

/* An empty qcow2 image of the given virtual size ("1M"), e.g. to hold
 * a snapshot's machine state. 0 or -errno (-ENOSPC when the disk is
 * full), one line in why. */
int overlay_create_empty(const char *qemu_img, const char *file,
			 const char *size, int timeout_ms, char *why,
			 size_t whylen);

#endif
