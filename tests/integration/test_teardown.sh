# test_teardown.sh - the end of a run must never take the mount with it
# (issue 12, defect 1): an emulator that ends while a command finishes
# its run (kill, stop, a failed start), on a target whose run has no
# serial channel to wait for, and a start that fails against an emulator
# that never greets. Before the fix the exit callback read the run after
# the command had freed it and emufs died (SIGSEGV; ASan: heap-use-after-
# free).
#
# EMUFS_TEST_EXIT_DELAY_MS (a test-only knob of src/instance.c) holds the
# exit callback where it used to race, so the race is hit every time
# rather than in 3 runs of 5.

EXIT_DELAY_MS=150

# write_bare_config: instance board0 of target bare (the test firmware,
# no serial channel, no pins) and instance mute of target mute (a
# "QEMU" that never opens its QMP socket), with a short request timeout.
write_bare_config() {
	local fw=$FIRMWARE_DIR/ast2500-test.elf
	MUTE=$SCRATCH/mute-qemu
	# closes its output at once and then sleeps: the output watch is
	# gone before the exit, as when the pipe's EOF is handled first
	printf '#!/bin/sh\nexec sleep 30 >/dev/null 2>&1\n' >"$MUTE"
	chmod +x "$MUTE"
	write_config <<JSON
{
  "targets": {
    "bare": {
      "emulator": "qemu",
      "qemu": { "binary": "$QEMU_ARM", "machine": "ast2500-evb",
                "kernel": "$fw", "args": ["-nic", "none"] }
    },
    "mute": {
      "emulator": "qemu",
      "qemu": { "binary": "$MUTE", "machine": "ast2500-evb" }
    }
  },
  "instances": { "board0": { "target": "bare" },
                 "mute": { "target": "mute" } },
  "settings": { "request_timeout_ms": 2000 }
}
JSON
}

setup_teardown() {
	require_qemu
	write_bare_config
	export EMUFS_TEST_EXIT_DELAY_MS=$EXIT_DELAY_MS
	mount_emufs
}

# emufs alive and its mount answering, or the test fails with its output.
assert_mount_alive() {
	alive "$EMUFS_PID" && [ -r "$MNT/board0/state" ] ||
		fail "emufs died ($1): $(tail -n 5 "$SCRATCH/emufs.out" | tr '\n' '|')"
}

test_start_kill_start_stop_cycles_without_serial_keep_the_mount() {
	setup_teardown
	local i
	for i in 1 2 3 4; do
		ctl board0 start
		assert_state board0 running
		ctl board0 kill
		assert_mount_alive "kill, cycle $i"
		assert_state board0 stopped
		ctl board0 start
		assert_state board0 running
		ctl board0 stop
		assert_mount_alive "stop, cycle $i"
		assert_state board0 stopped
	done
	no_qemu_left || fail "a QEMU outlived its run: $(qemu_pids)"
	unmount_emufs
}

test_failed_start_against_an_emulator_that_never_greets_keeps_the_mount() {
	setup_teardown
	local i
	for i in 1 2 3; do
		expect_errno EIO write "$MNT/mute/ctl" $'start\n'
		assert_mount_alive "failed start $i"
		assert_state mute stopped
	done
	grep -qF "start failed" "$MNT/mute/log" ||
		fail "no \"start failed\" in mute/log: $(tail -n 3 "$MNT/mute/log" | tr '\n' '|')"
	unmount_emufs
}
