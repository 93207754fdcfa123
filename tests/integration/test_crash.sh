# test_crash.sh - emulators and emufs ending unexpectedly (contract 1, 3.2),
# several instances at once, and instances made with mkdir / removed with
# rmdir (contract 3).

# the one QEMU of this test (fails unless there is exactly one)
the_qemu() {
	local pids
	pids=$(qemu_pids)
	[ -n "$pids" ] && [ "$(wc -l <<<"$pids")" -eq 1 ] ||
		fail "expected one QEMU, found: $(tr '\n' ' ' <<<"$pids")"
	echo "$pids"
}

wait_banner() {
	wait_for "grep -qF '$BANNER' '$MNT/$1/serial0'" "${2:-2}" ||
		fail "no banner in $1/serial0: $(cat -v "$MNT/$1/serial0" | head -c 200)"
}

# ---- the emulator ends by itself -----------------------------------------------

test_qemu_killed_by_signal_is_crashed_and_can_start_again() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	local pid
	pid=$(the_qemu) || exit 1
	kill -KILL "$pid"
	wait_state board0 crashed 2
	wait_for 'has_event board0 EMUFS_STATE:crashed' 1 ||
		fail "no EMUFS_STATE crashed in events: $(emufs_states board0)"
	note "log: $(tail -n 1 "$MNT/board0/log")"
	assert_no_qemu
	# serial writes need a running emulator
	expect_errno ESRCH write "$MNT/board0/serial0" $'ping\n'
	ctl board0 start
	assert_state board0 running
	wait_banner board0
	ctl board0 stop
	unmount_emufs
}

test_guest_ending_qemu_with_status_0_is_exited() {
	require_qemu
	write_std_config board0=ast-noreboot
	mount_emufs
	ctl board0 start
	wait_banner board0
	# the firmware's watchdog reset; with -no-reboot QEMU exits with 0
	echo reset >"$MNT/board0/serial0" || fail "echo reset > serial0 failed"
	wait_state board0 exited 3
	wait_for 'has_event board0 EMUFS_STATE:exited' 1 ||
		fail "no EMUFS_STATE exited in events: $(emufs_states board0)"
	assert_contains "$MNT/board0/serial0" "RESET"
	assert_no_qemu 1
	ctl board0 start
	assert_state board0 running
	wait_banner board0
	ctl board0 stop
	unmount_emufs
}

test_commands_after_crash() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	kill -KILL "$(the_qemu)"
	wait_state board0 crashed 2
	expect_refused EBUSY board0 ctl $'pause\n' pause
	expect_refused EBUSY board0 ctl $'reset\n' reset
	assert_state board0 crashed
	ctl board0 start paused
	assert_state board0 paused
	ctl board0 kill
	assert_state board0 stopped
	unmount_emufs
}

# ---- several instances --------------------------------------------------------------

test_two_instances_run_independently() {
	require_qemu
	write_std_config board0 board1
	mount_emufs
	ctl board0 start
	ctl board1 start
	assert_state board0 running
	assert_state board1 running
	[ "$(qemu_pids | wc -l)" -eq 2 ] || fail "expected two QEMUs, found $(qemu_pids | wc -l)"
	wait_banner board0
	wait_banner board1
	ctl board0 stop
	assert_state board0 stopped
	assert_state board1 running
	[ "$(qemu_pids | wc -l)" -eq 1 ] || fail "expected one QEMU left, found $(qemu_pids | wc -l)"
	# board1 still answers; its output does not leak into board0
	echo ping >"$MNT/board1/serial0" || fail "echo ping > board1/serial0 failed"
	wait_for "grep -qF pong '$MNT/board1/serial0'" 2 || fail "board1 does not answer after board0 stopped"
	assert_not_contains "$MNT/board0/serial0" pong
	expect_errno ESRCH write "$MNT/board0/serial0" $'ping\n'
	ctl board1 stop
	unmount_emufs
}

# ---- emufs ends -----------------------------------------------------------------------

test_unmount_with_running_instances_exits_0_and_stops_qemu() {
	require_qemu
	write_std_config board0+ board1
	mount_emufs
	wait_state board0 running 10
	ctl board1 start paused
	[ "$(qemu_pids | wc -l)" -eq 2 ] || fail "expected two QEMUs, found $(qemu_pids | wc -l)"
	unmount_emufs
	assert_no_qemu 1
	is_mounted "$MNT" && fail "still mounted"
	return 0
}

test_sigterm_to_foreground_emufs_exits_0_and_stops_qemu() {
	require_qemu
	write_std_config board0+
	mount_emufs
	wait_state board0 running 10
	kill -TERM "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 15
	EMUFS_PID=
	assert_no_qemu 1
	is_mounted "$MNT" && fail "still mounted after SIGTERM"
	assert_eq 0 "$EXIT_STATUS" "exit status of emufs after SIGTERM"
}

test_sigint_to_foreground_emufs_exits_0_and_stops_qemu() {
	require_qemu
	write_std_config board0+
	mount_emufs
	wait_state board0 running 10
	grep -q '^SigIgn:.*[2367aAbBeEfF]$' "/proc/$EMUFS_PID/status" &&
		skip "SIGINT is ignored in this environment"
	kill -INT "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 15
	EMUFS_PID=
	assert_no_qemu 1
	is_mounted "$MNT" && fail "still mounted after SIGINT"
	assert_eq 0 "$EXIT_STATUS" "exit status of emufs after SIGINT"
}

# The user's way: cd into a directory, `emufs -f -c cfg.json mnt`, then
# SIGTERM: the mount must go away like with an absolute path.
test_sigterm_with_relative_mountpoint_unmounts() {
	require_qemu
	write_std_config board0
	MNT_ARG=mnt
	mount_emufs
	kill -TERM "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 15
	EMUFS_PID=
	if is_mounted "$MNT"; then
		fail "mount left behind after SIGTERM: $(mountpoint "$MNT" 2>&1); emufs said: $(tr '\n' '|' <"$SCRATCH/emufs.out")"
	fi
	assert_eq 0 "$EXIT_STATUS" "exit status of emufs after SIGTERM"
}

# Killed with SIGKILL, emufs cannot clean up; its emulators must still die,
# and its janitor removes the dead mount and the state directory but for
# the logs it keeps in crashed@* (test_janitor.sh checks them).

# state_dir_holds_only_kept_logs: nothing but crashed@ folders (and the
# mark that emufs made the directory) in the state directory.
state_dir_holds_only_kept_logs() {
	[ -z "$(ls -A "$STATE_DIR" 2>/dev/null | grep -v -e '^crashed@' -e '^\.emufs-made$')" ]
}

test_sigkill_of_emufs_leaves_no_qemu_and_cleans_up() {
	require_qemu
	write_std_config board0+ board1
	mount_emufs
	wait_state board0 running 10
	ctl board1 start
	[ "$(qemu_pids | wc -l)" -eq 2 ] || fail "expected two QEMUs, found $(qemu_pids | wc -l)"
	[ -d "$STATE_DIR" ] || fail "no state directory"
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
	wait_for no_qemu_left 2.5 || fail "QEMU still running 2.5s after emufs was killed: $(qemu_pids | tr '\n' ' ')"
	wait_for state_dir_holds_only_kept_logs 3 || fail "state directory still there: $(ls -A "$STATE_DIR" | tr '\n' ' ')"
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted"
	wait_for '[ -z "$(emufs_pids)" ]' 3 || fail "emufs processes left: $(emufs_pids | tr '\n' ' ')"
}

test_sigkill_of_daemon_emufs_leaves_no_qemu() {
	require_qemu
	require_fuse
	write_std_config board0+
	local rc=0
	timeout 20 "$EMUFS" -c "$CONFIG" --state-dir "$STATE_DIR" "$MNT" >"$SCRATCH/out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "exit status of emufs (daemon mode)"
	wait_state board0 running 10
	# the daemon is the emufs process that holds /dev/fuse
	local pid daemon=
	for pid in $(emufs_pids); do
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -q /dev/fuse && daemon=$pid
	done
	[ -n "$daemon" ] || fail "cannot find the daemon among $(emufs_pids | tr '\n' ' ')"
	kill -KILL "$daemon"
	wait_for no_qemu_left 2.5 || fail "QEMU still running 2.5s after the daemon was killed"
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted"
	wait_for state_dir_holds_only_kept_logs 3 || fail "state directory still there: $(ls -A "$STATE_DIR" | tr '\n' ' ')"
}

# ---- mkdir / rmdir ----------------------------------------------------------------------

test_mkdir_creates_stopped_instance_without_target() {
	require_fuse
	write_std_config board0
	mount_emufs
	mkdir "$MNT/new" || fail "mkdir new failed"
	[ -d "$MNT/new" ] || fail "new is not a directory"
	ls "$MNT" | grep -qx new || fail "ls does not list new: $(ls "$MNT" | tr '\n' ' ')"
	assert_state new stopped
	assert_eq "" "$(cat "$MNT/new/target")" "target of a new instance"
	local f
	for f in ctl state target log events; do
		[ -e "$MNT/new/$f" ] || fail "no $f in new: $(ls "$MNT/new" | tr '\n' ' ')"
	done
	expect_errno EEXIST mkdir "$MNT/new"
	expect_errno EEXIST mkdir "$MNT/board0"
	unmount_emufs
}

test_mkdir_instance_takes_target_then_starts() {
	require_qemu
	write_std_config board0
	mount_emufs
	mkdir "$MNT/new" || fail "mkdir new failed"
	echo ast >"$MNT/new/target" || fail "echo ast > new/target failed"
	assert_content "$MNT/new/target" $'ast\n'
	# the trailing newline is optional
	expect_ok write "$MNT/new/target" ast-noreboot
	assert_content "$MNT/new/target" $'ast-noreboot\n'
	expect_ok write "$MNT/new/target" $'ast\n'
	[ -e "$MNT/new/serial0" ] || fail "no serial0 after the target was set: $(ls "$MNT/new" | tr '\n' ' ')"
	ctl new start
	assert_state new running
	wait_banner new
	ctl new stop
	unmount_emufs
}

test_target_write_while_running_is_ebusy() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	expect_refused EBUSY board0 target $'ast-noreboot\n'
	assert_content "$MNT/board0/target" $'ast\n'
	ctl board0 stop
	# stopped: the target can change
	echo ast-noreboot >"$MNT/board0/target" || fail "target write while stopped failed"
	assert_content "$MNT/board0/target" $'ast-noreboot\n'
	unmount_emufs
}

test_unknown_target_is_einval() {
	require_fuse
	write_std_config board0
	mount_emufs
	mkdir "$MNT/new" || fail "mkdir new failed"
	expect_refused EINVAL new target $'nosuch\n' nosuch
	assert_eq "" "$(cat "$MNT/new/target")" "target after a refused write"
	expect_refused EINVAL board0 target $'nosuch\n' nosuch
	assert_content "$MNT/board0/target" $'ast\n'
	unmount_emufs
}

test_rmdir_running_instance_is_ebusy() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	expect_errno EBUSY rmdir "$MNT/board0"
	expect_errno EBUSY sh "rmdir '$MNT/board0'"
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

test_rmdir_stopped_instance_removes_it() {
	require_fuse
	write_std_config board0 board1
	mount_emufs
	rmdir "$MNT/board0" || fail "rmdir board0 failed"
	assert_eq "board1" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls after rmdir"
	expect_errno ENOENT stat "$MNT/board0"
	expect_errno ENOENT stat "$MNT/board0/state"
	mkdir "$MNT/made" || fail "mkdir made failed"
	rmdir "$MNT/made" || fail "rmdir made failed"
	expect_errno ENOENT stat "$MNT/made"
	unmount_emufs
}

test_mkdir_with_bad_name_is_refused() {
	require_fuse
	write_std_config board0
	mount_emufs
	local name got
	for name in .hidden 'with space' -dash _under 'semi;colon' 'tab	x'; do
		got=$(fsop mkdir "$MNT/$name")
		[ "$got" != OK ] || fail "mkdir \"$name\" succeeded"
		note "mkdir \"$name\": $got"
		[ ! -e "$MNT/$name" ] || fail "\"$name\" exists after a refused mkdir"
	done
	assert_eq "board0" "$(ls -A "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls -A after refused mkdirs"
	unmount_emufs
}

test_rmdir_with_open_files_then_mkdir_gives_a_working_instance() {
	require_fuse
	write_std_config board0
	mount_emufs
	mkdir "$MNT/x" && echo ast > "$MNT/x/target" || fail "mkdir x failed"
	exec 4<"$MNT/x/log"            # a file of the old x stays open
	rmdir "$MNT/x" || fail "rmdir x failed"
	mkdir "$MNT/x" && echo ast > "$MNT/x/target" || fail "second mkdir x failed"
	exec 4<&-                       # the old x goes away now
	wait_for '! ls "$STATE_DIR" | grep -q "^~retired"' 3 ||
		fail "the old instance's directory was not removed"
	echo start > "$MNT/x/ctl" || fail "start of the new x failed: $(tail -2 "$MNT/x/log")"
	assert_state x running
	echo kill > "$MNT/x/ctl"
	unmount_emufs
}

test_instance_clashing_with_a_foreign_state_dir_entry_is_refused_before_mounting() {
	require_fuse
	write_std_config board0
	mkdir -p "$STATE_DIR/board0"
	echo precious > "$STATE_DIR/board0/file"
	mkdir -p "$MNT"
	"$EMUFS" -c "$CONFIG" --state-dir "$STATE_DIR" "$MNT" 2>"$SCRATCH/err"
	assert_eq 1 "$?" "exit status"
	grep -q "board0 exists and is not an emufs instance directory" "$SCRATCH/err" ||
		fail "no clear message: $(cat "$SCRATCH/err")"
	! is_mounted "$MNT" || fail "mounted anyway"
	assert_eq precious "$(cat "$STATE_DIR/board0/file")" "the foreign file"
}
