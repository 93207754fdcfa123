# test_props_cache.sh - props/ caching (docs/design.md, "props/ caching"):
# QOM listings and link targets are kept until QEMU says they changed, and
# the kernel is told to forget what it keeps, so a change made through
# emufs or announced by QEMU shows at once, without waiting out any time.
#
# The machine runs paused (QOM is the same); a second QMP monitor of the
# same QEMU (raw.sock) makes changes emufs does not see itself.

. "$TESTS_DIR/lib_extra.sh"

P= RAW=

setup_cache() {
	require_qemu
	RAW=$SCRATCH/raw.sock
	write_ast_config ''
	# the same target, plus a monitor of the test's own
	sed -i "s|\"args\": \\[\"-nic\", \"none\"\\]|\"args\": [\"-nic\", \"none\", \"-qmp\", \"unix:$RAW,server=on,wait=off\"]|" "$CONFIG"
	grep -qF "$RAW" "$CONFIG" || fail "could not add the second monitor to $CONFIG"
	mount_emufs
	P=$MNT/board0/props
	ctl board0 start paused
}

# qmp FILE-OR-SOCKET JSON...: each command in turn, each reply on a line.
qmp() {
	python3 - "$@" <<'PY'
import json, os, socket, sys
where, cmds = sys.argv[1], sys.argv[2:]
if where.endswith(".sock"):
    s = socket.socket(socket.AF_UNIX); s.connect(where)
    f = s.makefile("rw")
    f.readline()
    def run(c):
        f.write(c + "\n"); f.flush()
        while True:
            m = json.loads(f.readline())
            if "return" in m or "error" in m:
                return json.dumps(m, separators=(",", ":"))
    run('{"execute":"qmp_capabilities"}')
else:
    fd = os.open(where, os.O_RDWR)
    def run(c):
        os.write(fd, c.encode())
        return os.read(fd, 65536).decode().strip()
for c in cmds:
    print(run(c))
PY
}

KB_ADD='{"execute":"device_add","arguments":{"driver":"usb-kbd","id":"kb0"}}'
KB_DEL='{"execute":"device_del","arguments":{"id":"kb0"}}'

# device_add and device_del through the qmp file: emufs saw the command, so
# the listing it kept of /machine/peripheral (and the kernel's names) go.
test_props_cache_device_added_through_qmp_file_shows_at_once() {
	setup_cache
	local per=$P/machine/peripheral out
	ls -l "$per" >/dev/null || fail "ls -l props/machine/peripheral failed"
	ls "$per" | grep -qx kb0 && fail "kb0 listed before it was added"
	out=$(qmp "$MNT/board0/qmp" "$KB_ADD") || fail "device_add: $out"
	assert_eq '{"return":{}}' "$out" "reply to device_add"
	ls "$per" | grep -qx kb0 || fail "props/machine/peripheral does not list kb0 right after device_add: $(ls "$per" | tr '\n' ' ')"
	assert_content "$per/kb0/type" $'usb-kbd\n'
	out=$(qmp "$MNT/board0/qmp" "$KB_DEL") || fail "device_del: $out"
	assert_eq '{"return":{}}' "$out" "reply to device_del"
	expect_errno ENOENT stat "$per/kb0"
	ls "$per" | grep -qx kb0 && fail "kb0 still listed right after device_del"
	ctl board0 stop
	unmount_emufs
}

# device_del on a monitor emufs does not see: QEMU's DEVICE_DELETED event
# drops the listing, and the kernel's cached name of kb0 goes with it.
test_props_cache_device_deleted_event_drops_the_listing() {
	setup_cache
	local per=$P/machine/peripheral out
	out=$(qmp "$RAW" "$KB_ADD") || fail "raw device_add: $out"
	assert_eq '{"return":{}}' "$out" "reply to raw device_add"
	# looked up and listed: emufs and the kernel both hold kb0 now
	[ -d "$per/kb0" ] || fail "no props/machine/peripheral/kb0 after device_add"
	ls -l "$per" | grep -q ' kb0$' || fail "ls -l does not list kb0"
	out=$(qmp "$RAW" "$KB_DEL") || fail "raw device_del: $out"
	assert_eq '{"return":{}}' "$out" "reply to raw device_del"
	# the event goes to `events` after the cache is dropped
	wait_for "grep -q DEVICE_DELETED '$MNT/board0/events'" 5 ||
		fail "no DEVICE_DELETED in events"
	wait_for "! stat '$per/kb0' >/dev/null 2>&1" 0.3 ||
		fail "props/machine/peripheral/kb0 still there after DEVICE_DELETED"
	ls "$per" | grep -qx kb0 && fail "kb0 still listed after DEVICE_DELETED"
	ctl board0 stop
	unmount_emufs
}

# A reset (RESET event) drops every listing: what was added unseen shows.
test_props_cache_reset_refreshes_the_listing() {
	setup_cache
	local per=$P/machine/peripheral out
	ls "$per" >/dev/null || fail "ls props/machine/peripheral failed"
	out=$(qmp "$RAW" "$KB_ADD") || fail "raw device_add: $out"
	# QEMU 7.2 sends no DEVICE_ADDED: the listing emufs keeps has no kb0
	ctl board0 reset
	wait_for "grep -q '\"RESET\"' '$MNT/board0/events'" 5 ||
		fail "no RESET in events"
	ls "$per" | grep -qx kb0 || fail "props/machine/peripheral does not list kb0 after the reset"
	ctl board0 stop
	unmount_emufs
}

# A link set through emufs: the unset link (a file) becomes a symlink at
# once, and unset again a file; the kernel had both names cached.
test_props_cache_link_set_through_emufs_shows_at_once() {
	setup_cache
	local gpio=$P/machine/soc/gpio
	local irq="$gpio/sysbus-irq[168]" t
	ls -l "$gpio" >/dev/null || fail "ls -l gpio failed"
	[ -f "$irq" ] && [ ! -L "$irq" ] || fail "unset sysbus-irq[168] is not a regular file: $(ls -ld "$irq")"
	echo '/machine/soc/vic/unnamed-gpio-in[3]' >"$irq" || fail "setting the link failed"
	[ -L "$irq" ] || fail "sysbus-irq[168] is not a symlink right after it was set: $(ls -ld "$irq")"
	t=$(readlink "$irq") || fail "readlink failed"
	assert_eq '../../../machine/soc/vic/unnamed-gpio-in[3]' "$t" "readlink sysbus-irq[168]"
	ls -l "$gpio" | grep -qF 'sysbus-irq[168] -> ../../../machine/soc/vic/unnamed-gpio-in[3]' ||
		fail "ls -l gpio does not show the new link"
	ctl board0 stop
	unmount_emufs
}

# The kernel keeps props/'s names and attributes, never a value: a value
# changed behind emufs's back reads new at once.
test_props_cache_values_are_never_cached() {
	setup_cache
	local a0=$P/machine/soc/gpio/gpioA0 out
	assert_content "$a0" $'false\n'
	out=$(qmp "$RAW" '{"execute":"qom-set","arguments":{"path":"/machine/soc/gpio","property":"gpioA0","value":true}}') ||
		fail "raw qom-set: $out"
	assert_content "$a0" $'true\n'
	ctl board0 stop
	unmount_emufs
}

# The end of the run empties props/ at once, also the names the kernel
# had cached (an `ls -l` gave their attributes, kept 5 s).
test_props_cache_stop_forgets_cached_names() {
	setup_cache
	local scu=$P/machine/soc/scu
	ls -l "$scu" >/dev/null || fail "ls -l props/machine/soc/scu failed"
	stat "$scu/silicon-rev" >/dev/null || fail "stat silicon-rev failed"
	ctl board0 stop
	expect_errno ENOENT stat "$scu/silicon-rev"
	expect_errno ENOENT stat "$P/machine"
	assert_eq "" "$(ls -A "$P")" "ls -A props/ after stop"
	unmount_emufs
}

# The end of the mount while the kernel holds a LOOKUP in props/ that no
# worker will read (they stopped) and a run's end queues a notification
# for props/: the kernel makes that notification wait for the directory
# the LOOKUP holds. emufs used to stop the notifying thread only after the
# workers, so it waited for it forever (in the kernel: not even SIGKILL
# ended it). EMUFS_TEST_WORKERS_STOPPED_DELAY_MS holds the end open once
# the workers stopped.
test_props_cache_a_notification_at_the_end_does_not_hang_emufs() {
	require_qemu
	write_ast_config ''
	EMUFS_TEST_WORKERS_STOPPED_DELAY_MS=4000 mount_emufs
	P=$MNT/board0/props
	local spid
	ctl board0 start paused
	ls "$P" | grep -qx machine || fail "props/ does not list machine"
	kill -TERM "$EMUFS_PID"
	wait_for "grep -q 'the workers stopped' '$SCRATCH/emufs.out'" 10 ||
		fail "the end did not reach the stopped workers"
	stat "$P/not-there" >/dev/null 2>&1 &
	spid=$!
	# the LOOKUP is the kernel's, waiting for a reply (props/ held)
	wait_for "grep -q request_wait_answer /proc/$spid/stack" 3 ||
		fail "the stat did not wait for emufs: $(cat /proc/$spid/stack 2>&1 | head -3)"
	kill -KILL $(qemu_pids)     # the run ends: props/ must be forgotten
	if ! wait_for "! alive $EMUFS_PID" 15; then
		local stuck
		stuck=$(grep -h -e inval_entry /proc/$EMUFS_PID/task/*/stack 2>/dev/null | head -2 | tr '\n' '|')
		# the LOOKUP's end lets the notification, then emufs, go on
		kill -KILL "$spid"
		wait "$spid" 2>/dev/null
		fail "emufs did not exit after SIGTERM (a thread in: $stuck)"
	fi
	wait "$spid" 2>/dev/null
	wait_exit "$EMUFS_PID" 1
	assert_eq 0 "$EXIT_STATUS" "emufs's status ($(emufs_said))"
	EMUFS_PID=
}

# A device deleted while a LOOKUP of it is between QEMU's listing and its
# answer: the notification for the change cannot name it (it has no inode
# yet), so the answer must not be kept. It was kept for
# PROPCACHE_TIMEOUT_S: the deleted device stayed for 5 s.
# EMUFS_TEST_LOOKUP_DELAY holds the LOOKUP of kb0 in that window.
test_props_cache_a_lookup_racing_a_deletion_is_not_kept() {
	EMUFS_TEST_LOOKUP_DELAY=kb0:2000 setup_cache
	local per=$P/machine/peripheral out spid
	out=$(qmp "$RAW" "$KB_ADD") || fail "raw device_add: $out"
	assert_eq '{"return":{}}' "$out" "reply to raw device_add"
	[ -d "$per" ] || fail "no props/machine/peripheral"
	stat "$per/kb0" >/dev/null 2>&1 &
	spid=$!
	wait_for "grep -q 'the lookup of kb0 waits' '$SCRATCH/emufs.out'" 5 ||
		fail "the lookup of kb0 did not reach the hook"
	out=$(qmp "$RAW" "$KB_DEL") || fail "raw device_del: $out"
	assert_eq '{"return":{}}' "$out" "reply to raw device_del"
	wait_for "grep -q DEVICE_DELETED '$MNT/board0/events'" 5 ||
		fail "no DEVICE_DELETED in events"
	# (that stat itself may see kb0 gone: its attributes are asked again)
	wait "$spid" || true
	# the answer given from before the deletion is not kept
	expect_errno ENOENT stat "$per/kb0"
	ctl board0 stop
	unmount_emufs
}
