/* kind_table.c - the table of file kinds (kinds.h): one row per kind,
 * naming its handlers. Nothing else lives here: the table is the one
 * place of fs/ that names every handler, as src/emulators.c names every
 * emulator (tests/check-layers.py lets both close a loop). */
#include "kinds.h"

#include "handlers.h"
#include "propcache.h"

/* Entry and attribute timeouts: names for 1 s, attributes not at all
 * (logs grow, `tail -f` watches st_size). props/ keeps both for
 * PROPCACHE_TIMEOUT_S: a property's name, mode and size do not change
 * while QEMU's tree does not, and when it does propcache.c tells the
 * kernel. Its values are never cached (direct_io). */
#define ENTRY_S 1.0
#define ATTR_S 0.0
/* An instance's name: the config's, for the mount's life (no instance
 * comes or goes while mounted), so the kernel may keep it: a path walk
 * after a second of idleness then asks emufs for nothing it knows
 * (docs/performance.md, "Session 6"). Its attributes stay uncached. */
#define INST_ENTRY_S 3600.0
#define PROPS_NAMED(m) .mode = (m), .entry_timeout = PROPCACHE_TIMEOUT_S, \
	.attr_timeout = PROPCACHE_TIMEOUT_S

#define FIXED(n, m) .name = (n), .mode = (m), \
	.entry_timeout = ENTRY_S, .attr_timeout = ATTR_S
#define NAMED(m) .mode = (m), .entry_timeout = ENTRY_S, .attr_timeout = ATTR_S
#define RESERVED(n) .name = (n), .reserved_only = true
/* follow/'s files: reads that wait (follow.c). Lines are a stream whose
 * offset means nothing, but seeking is allowed: `head` and `grep -m`
 * give back what they did not use with an lseek, which must not fail. */
#define FOLLOW_FILE .waits = true, .open = follow_open, \
	.release = follow_release, .read = follow_read, .poll = follow_poll

const struct kind fs_kinds[N_KINDS] = {
	[N_ROOT] = { NAMED(S_IFDIR | 0755),
		.lookup = root_lookup, .readdir = root_readdir },
	[N_INST] = { .mode = S_IFDIR | 0755, .entry_timeout = INST_ENTRY_S,
		.attr_timeout = ATTR_S,
		.lookup = inst_lookup, .readdir = inst_readdir },
	[N_CTL] = { FIXED("ctl", S_IFREG | 0644),
		.stat = state_stat, .text = state_text, .read = text_read,
		.write = ctl_write },
	[N_STATE] = { FIXED("state", S_IFREG | 0444),
		.stat = state_stat, .text = state_text, .read = text_read },
	[N_TARGET] = { FIXED("target", S_IFREG | 0644),
		.stat = target_stat, .text = target_text, .read = text_read,
		.write = target_write },
	[N_LOG] = { FIXED("log", S_IFREG | 0444),
		.stat = log_stat, .read = log_read, .poll = log_poll },
	[N_EVENTS] = { FIXED("events", S_IFREG | 0444),
		.stat = log_stat, .read = log_read, .poll = log_poll },
	[N_PROPS] = { .name = "props", PROPS_NAMED(S_IFDIR | 0755),
		.lookup = props_lookup, .readdir = props_readdir,
		.refresh = props_refresh },
	[N_GPIO] = { FIXED("gpio", S_IFDIR | 0755),
		.lookup = gpio_lookup, .readdir = gpio_readdir },
	[N_RAW] = { NAMED(S_IFREG | 0644), .refresh = raw_refresh,
		.nonseekable = true, .read = raw_read, .write = raw_write },
	[N_GDB] = { FIXED("gdb", S_IFREG | 0444),
		.stat = gdb_stat, .text = gdb_text, .read = text_read },
	[N_FIRMWARE] = { FIXED("firmware", S_IFREG | 0644),
		.open = owned_file_open, .stat = firmware_file_stat, .text = firmware_file_text,
		.read = text_read, .write = firmware_file_write },
	[N_FOLLOW] = { FIXED("follow", S_IFDIR | 0755),
		.lookup = follow_lookup, .readdir = follow_readdir },
	[N_SNAPSHOTS] = { FIXED("snapshots", S_IFDIR | 0755),
		.lookup = snapshots_lookup, .readdir = snapshots_readdir,
		.mkdir = snapshots_mkdir, .rmdir = snapshots_rmdir },
	[N_TRACE] = { FIXED("trace", S_IFDIR | 0755),
		.lookup = trace_lookup, .readdir = trace_readdir },
	[N_CHANNEL] = { NAMED(S_IFREG | 0644), .refresh = channel_refresh,
		.stat = log_stat, .read = log_read, .poll = log_poll,
		.write = channel_file_write },
	[N_PTY] = { .name = "*" KIND_PTY_SUFFIX, NAMED(S_IFLNK | 0777),
		.refresh = pty_refresh, .stat = pty_stat,
		.readlink = pty_readlink },
	[N_PROP] = { PROPS_NAMED(0), .refresh = props_refresh, .stat = prop_stat,
		.open = prop_open, .read = text_read, .write = prop_write },
	[N_PROP_LINK] = { PROPS_NAMED(S_IFLNK | 0777), .refresh = props_refresh,
		.readlink = prop_link_readlink },
	[N_PIN] = { NAMED(0), .refresh = pin_refresh, .stat = pin_stat,
		.open = pin_open, .release = pin_release,
		.text = pin_text, .read = text_read, .write = pin_file_write,
		.poll = pin_poll },
	[N_FOLLOW_GPIO] = { NAMED(S_IFDIR | 0755),
		.lookup = follow_gpio_lookup, .readdir = gpio_readdir },
	[N_FOLLOW_STATE] = { NAMED(S_IFREG | 0444), FOLLOW_FILE },
	[N_FOLLOW_LOG] = { NAMED(S_IFREG | 0444), FOLLOW_FILE,
		.refresh = follow_log_refresh, .stat = follow_log_stat },
	[N_FOLLOW_PIN] = { NAMED(S_IFREG | 0444), FOLLOW_FILE,
		.refresh = follow_pin_refresh },
	[N_SNAPSHOT] = { NAMED(S_IFDIR | 0755), .refresh = snapshot_refresh,
		.stat = snapshot_node_stat, .lookup = snapshot_lookup,
		.readdir = snapshot_readdir },
	[N_TRACE_EVENTS] = { NAMED(S_IFDIR | 0755),
		.lookup = trace_events_lookup, .readdir = trace_events_readdir },
	[N_TRACE_EVENT] = { NAMED(S_IFREG | 0644),
		.refresh = trace_event_refresh, .stat = trace_event_stat,
		.text = trace_event_text, .read = text_read,
		.write = trace_event_write },
	[N_TRACE_ENABLE] = { NAMED(S_IFREG | 0200),
		.write = trace_enable_write },
	[N_TRACE_LOG] = { NAMED(S_IFREG | 0444), .open = owned_file_open,
		.stat = log_stat, .read = log_read, .poll = log_poll },
};
