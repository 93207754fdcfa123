# test_janitor.sh - what is left after emufs ends (contract 1): the
# janitor's cleanup after a SIGKILL, the logs it keeps, a remount right
# after, a janitor that was itself killed; the state directory emufs did
# not make; spawning emulators whose path holds '='.

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
