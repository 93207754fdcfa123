/* gdbrelay.h - a gdb stub that emufs holds one connection to (a launched
 * QEMU's `-gdb chardev:ID` dialled back over TCP, or an attached
 * emulator's stub), relayed to a port on 127.0.0.1 for the user's gdb
 * (interface.md 6: `gdb` gives that port).
 *
 * The link to the stub lives as long as the run; users come and go on
 * it, one at a time. A second user while one is connected is accepted
 * and closed at once. While nobody is connected, what the stub sends
 * (the stop replies QEMU sends on every pause) is read and dropped, so
 * it never reaches the next user.
 *
 * Every user session begins as QEMU's own stub begins one on a fresh
 * connection: the CPUs stop and the first process is attached. The relay
 * sends the stub "\x03" (stops a running machine; ignored by a stopped
 * one) and "$vAttach;1#37" (attaches process 1 again: a previous user's
 * `detach` left none attached, and QEMU 7.2 then answers the next
 * session's requests with errors or crashes), drops what the stub sends
 * up to and including the vAttach answer, and only then relays the user's
 * bytes. Everything runs on the I/O loop: non-blocking, no thread.
 */
#ifndef EMUFS_GDBRELAY_H
#define EMUFS_GDBRELAY_H

struct ioloop;
struct gdb_relay;

/* The stub's link ended (end of file, or an error: why says which, ""
 * for an orderly end). Called once, on the loop thread, never after
 * gdb_relay_free() returned; the relay then refuses users. */
typedef void (*gdb_relay_end_fn)(void *opaque, const char *why);

/* Relay stub (a connected stream socket to the gdb stub: TCP, or the
 * plain end of a TLS relay; owned by the relay from here on, also on
 * failure) to a port on 127.0.0.1 the kernel picks (gdb_relay_port).
 * on_end may be NULL. 0 or -errno. */
int gdb_relay_start(struct ioloop *loop, int stub, gdb_relay_end_fn on_end,
		    void *opaque, struct gdb_relay **out);
/* The port users connect to on 127.0.0.1. */
int gdb_relay_port(const struct gdb_relay *r);
/* Stop (from any thread, also the loop's, but not from on_end), close
 * the stub's link and any user's, and free. NULL is fine. */
void gdb_relay_free(struct gdb_relay *r);

#endif
