# test_slurm_hidden.sh - a launched emulator needs nothing of emufs's state
# directory (interface.md 6, issue 19): QEMU as a Slurm job step, run
# through tests/integration/hide-statedir, in a mount namespace where the
# state directory is an empty tmpfs, as on a node that does not see it.
# The lifecycle, serial and props cases of test_slurm.sh then pass, and
# each test checks from inside QEMU's namespace that the directory is
# hidden there (what emufs keeps in it, visible outside, is not), so a
# launch that named a path in it would fail.
#
# integration-fixture: scripts/slurm-cluster.sh
# integration-timeout: 90

. "$TESTS_DIR/test_slurm.sh"

HIDE="$TESTS_DIR/hide-statedir"

# The running board of test_slurm.sh, its QEMU with the state dir hidden.
setup_srun_running() {
	write_srun_config "[\"srun\", \"--quiet\", \"--nodes=1\", \"--ntasks=1\", \"--\", \"$HIDE\", \"$STATE_DIR\"]" \
		"$AST_GPIO_JSON"
	mount_emufs
	ctl board0 start
	wait_banner board0 serial0 5
	assert_state_dir_hidden_from_qemu
}

# QEMU runs in a mount namespace other than emufs's, where the state
# directory is empty, while outside it holds the instance's directory.
assert_state_dir_hidden_from_qemu() {
	local q outside inside
	q=$(job_qemu_pid)
	[ -n "$q" ] || fail "no QEMU runs for the job"
	[ "$(readlink "/proc/$q/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
		fail "QEMU runs in the test's mount namespace"
	outside=$(ls -A "$STATE_DIR")
	[ -n "$outside" ] || fail "the state directory is empty outside too: nothing to hide"
	inside=$(nsenter --mount="/proc/$q/ns/mnt" ls -A "$STATE_DIR") ||
		fail "cannot look at $STATE_DIR in QEMU's namespace"
	[ -z "$inside" ] ||
		fail "QEMU sees the state directory: $(tr '\n' ' ' <<<"$inside")"
}

test_hidden_state_dir_lifecycle_with_state_and_events() {
	setup_srun_running
	assert_state board0 running
	pause_resume_with_events board0
	ctl board0 stop
	assert_state board0 stopped
	grep -q 'quit: the emulator exited with status 0' "$MNT/board0/log" ||
		fail "stop did not end QEMU by quit: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left
	# and again: the second run too
	ctl board0 start
	wait_banner board0 serial0 5
	assert_state_dir_hidden_from_qemu
	unmount_emufs
}

test_hidden_state_dir_serial_echo() {
	setup_srun_running
	echo hello >"$MNT/board0/serial0" || fail "echo hello > serial0 failed"
	wait_text "$MNT/board0/serial0" "? hello" 3
	assert_content "$MNT/board0/serial0" "$BANNER"$'\r\nhello\n? hello\r\n'
	unmount_emufs
}

test_hidden_state_dir_props_gpio_and_gdb() {
	setup_srun_running
	assert_match '[0-9]+' "$(cat "$MNT/board0/props/machine/soc/hw-strap1")" \
		"props/machine/soc/hw-strap1"
	local g=$MNT/board0/gpio
	echo 1 >"$g/button" || fail "echo 1 > gpio/button failed"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 2 || fail "gpio/led did not follow the button"
	gdb_session "$(cat "$MNT/board0/gdb")"
	unmount_emufs
}

# The control: an image in the state directory, fine for emufs (it can
# open it when `firmware` is written), is not there for the launched
# QEMU: start is EIO and `log` has QEMU's complaint. So the tests above
# would catch a launch that named a path in the state directory.
test_hidden_state_dir_an_image_in_it_is_not_found() {
	write_srun_config "[\"srun\", \"--quiet\", \"--nodes=1\", \"--ntasks=1\", \"--\", \"$HIDE\", \"$STATE_DIR\"]"
	mount_emufs
	cp "$SCRATCH/fw/ast2500-test.elf" "$STATE_DIR/in-state.elf"
	echo "$STATE_DIR/in-state.elf" >"$MNT/board0/firmware" ||
		fail "firmware refused $STATE_DIR/in-state.elf"
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	grep -q "in-state.elf" "$MNT/board0/log" ||
		fail "log does not name the image: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left 10
	unmount_emufs
}
