# test_janitor.sh - what is left after emufs ends (contract 1): the
# janitor's cleanup after a SIGKILL, the logs it keeps, a remount right
# after, a janitor that was itself killed; the state directory emufs did
# not make; spawning emulators whose path holds '='.

# ---- the state directory -------------------------------------------------------------

test_pre_existing_empty_state_dir_is_kept_at_unmount() {
	require_fuse
	write_std_config board0
	mkdir -p "$STATE_DIR"
	mount_emufs
	[ -d "$STATE_DIR/board0" ] || fail "no instance directory in the state directory"
	unmount_emufs
	[ -d "$STATE_DIR" ] || fail "the user's --state-dir was removed"
	assert_eq "" "$(ls -A "$STATE_DIR")" "what emufs left in the user's --state-dir"
}

test_state_dir_emufs_made_is_removed_at_unmount() {
	require_fuse
	write_std_config board0
	mount_emufs
	[ -d "$STATE_DIR/board0" ] || fail "no instance directory in the state directory"
	unmount_emufs
	[ ! -e "$STATE_DIR" ] || fail "state directory left: $(ls -A "$STATE_DIR" | tr '\n' ' ')"
}

# ---- spawning -----------------------------------------------------------------------------

# The stand-in for Renode, copied to a directory whose name holds '=':
# env(1) would take the binary's path for an assignment.
test_renode_binary_path_with_equals_sign_starts() {
	require_fuse
	local dir=$SCRATCH/renode=copy
	mkdir -p "$dir"
	cp -r "$TESTS_DIR/../renode-standin/." "$dir/"
	write_config <<EOF
{
  "settings": { "request_timeout_ms": 10000 },
  "targets": {
    "stm32": {
      "emulator": "renode",
      "renode": { "binary": "$dir/renode", "platform": "$dir/standin-board.repl" },
      "serial": { "serial0": "sysbus.usart2" }
    }
  },
  "instances": { "board": { "target": "stm32" } }
}
EOF
	mount_emufs
	ctl board start
	assert_state board running
	wait_for "grep -qF 'emufs-renode-fw ready' '$MNT/board/serial0'" 10 ||
		fail "no banner in serial0: $(cat -v "$MNT/board/serial0" | head -c 200)"
	ctl board stop
	unmount_emufs
}
