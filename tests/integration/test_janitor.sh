# test_janitor.sh - what is left after emufs ends (contract 1): the
# janitor's cleanup after a SIGKILL, the logs it keeps, a remount right
# after, a janitor that was itself killed; the state directory emufs did
# not make; spawning emulators whose path holds '='.

# janitor_of PID: the live janitor of the emufs PID (its child of that
# name; a killed one stays a zombie until emufs reaps it).
janitor_of() {
	local pid found=1
	for pid in $(pgrep -P "$1" -x emufs-janitor); do
		alive "$pid" && echo "$pid" && found=0
	done
	return $found
}

# crash_dirs: the folders in which janitors kept a dead emufs's logs.
crash_dirs() { find "$STATE_DIR" -mindepth 1 -maxdepth 1 -name 'crashed@*' 2>/dev/null; }

# instance_dirs_left: instance directories (marked) left in the state dir.
instance_dirs_left() { find "$STATE_DIR" -name .emufs-instance 2>/dev/null; }

kill_emufs() {
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
}

# ---- a SIGKILL of emufs: the logs stay ---------------------------------------

test_sigkill_keeps_the_logs_of_a_burst_in_flight() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 3 || fail "no banner"
	echo 'burst 4194304' >"$MNT/board0/serial0" || fail "echo burst > serial0 failed"
	wait_for "[ \$(stat -c %s '$MNT/board0/serial0') -gt 100000 ]" 10 ||
		fail "the burst did not start"
	# what emufs had shown of serial0, log and events when it was killed
	cp "$MNT/board0/serial0" "$SCRATCH/serial0.seen"
	cp "$MNT/board0/log" "$SCRATCH/log.seen"
	cp "$MNT/board0/events" "$SCRATCH/events.seen"
	kill_emufs
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted"
	wait_for '[ -n "$(crash_dirs)" ]' 3 ||
		fail "no crashed@ folder in the state directory: $(ls -A "$STATE_DIR" 2>&1 | tr '\n' ' ')"
	local kept f n
	kept=$(crash_dirs)
	[ "$(wc -l <<<"$kept")" -eq 1 ] || fail "more than one crashed@ folder: $kept"
	note "kept: $(cd "$kept" && find . -type f -printf '%p %s\n' | tr '\n' ' ')"
	for f in serial0 log events; do
		local on_disk=$kept/board0/$f
		[ "$f" = serial0 ] && on_disk=$kept/board0/serial0.log
		[ -f "$on_disk" ] || fail "${on_disk#"$SCRATCH"/} is missing"
		n=$(stat -c %s "$SCRATCH/$f.seen")
		[ "$(stat -c %s "$on_disk")" -ge "$n" ] ||
			fail "$f: $(stat -c %s "$on_disk") bytes kept, $n were read before the SIGKILL"
		cmp -s -n "$n" "$SCRATCH/$f.seen" "$on_disk" ||
			fail "$f: the kept bytes differ from those read before the SIGKILL"
	done
	# nothing else is kept: no socket, no mark
	[ -z "$(find "$kept" ! -type d ! -name '*.log' ! -name log ! -name events)" ] ||
		fail "more than logs kept: $(find "$kept" | tr '\n' ' ')"
	[ -z "$(instance_dirs_left)" ] || fail "instance directories left: $(instance_dirs_left)"

	# a new mount works, its files start empty, the kept logs stay
	mount_emufs
	assert_not_contains "$MNT/board0/serial0" "$BANNER"
	assert_eq 0 "$(stat -c %s "$MNT/board0/serial0")" "size of serial0 of the new mount"
	assert_not_contains "$MNT/board0/log" "started"
	unmount_emufs
	assert_eq "$kept" "$(crash_dirs)" "crashed@ folder after a clean mount and unmount"
	cmp -s -n "$(stat -c %s "$SCRATCH/serial0.seen")" "$SCRATCH/serial0.seen" \
		"$kept/board0/serial0.log" || fail "serial0.log changed by the next mount"
	[ -z "$(instance_dirs_left)" ] || fail "instance directories left: $(instance_dirs_left)"
}

# ---- a remount right after a SIGKILL ------------------------------------------

test_remount_right_after_sigkill_succeeds_every_time() {
	require_fuse
	write_std_config board0
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		mount_emufs
		kill_emufs
		# at once: the janitor may still be unmounting the dead mount
		mount_emufs
		[ -e "$MNT/board0/state" ] || fail "round $i: no board0 in the new mount"
		assert_state board0 stopped
		unmount_emufs
	done
}

# ---- a janitor that was killed ----------------------------------------------------

test_killed_janitor_is_restarted_and_cleans_up_after_sigkill() {
	require_fuse
	write_std_config board0
	mount_emufs
	local old new
	old=$(janitor_of "$EMUFS_PID") || fail "emufs $EMUFS_PID has no janitor"
	kill -KILL "$old"
	wait_for "new=\$(janitor_of $EMUFS_PID) && [ \"\$new\" != $old ]" 3 ||
		fail "no new janitor after the janitor (pid $old) was killed"
	note "janitor $old killed, $new started"
	kill_emufs
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted"
	wait_for '[ -z "$(instance_dirs_left)" ]' 3 ||
		fail "instance directories left: $(instance_dirs_left)"
	mount_emufs
	assert_state board0 stopped
	unmount_emufs
}

# emufs and its janitor both gone before the janitor could act (stopped,
# then killed with emufs): the next emufs on the same state directory
# removes the dead mount and keeps the logs.
test_next_mount_cleans_up_when_emufs_and_janitor_died_together() {
	require_qemu
	write_std_config board0
	mount_emufs
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 3 || fail "no banner"
	cp "$MNT/board0/serial0" "$SCRATCH/serial0.seen"
	local jan
	jan=$(janitor_of "$EMUFS_PID") || fail "emufs $EMUFS_PID has no janitor"
	kill -STOP "$jan"
	kill_emufs
	kill -KILL "$jan"
	wait_for "! alive $jan" 3 || fail "the janitor (pid $jan) did not die"
	is_mounted "$MNT" || fail "no dead mount left: the test needs one"
	[ -n "$(instance_dirs_left)" ] || fail "no instance directory left: the test needs one"
	mount_emufs
	assert_state board0 stopped
	assert_eq 0 "$(stat -c %s "$MNT/board0/serial0")" "size of serial0 of the new mount"
	unmount_emufs
	! is_mounted "$MNT" || fail "still mounted: $(grep -F "$MNT" /proc/self/mounts)"
	local kept
	kept=$(crash_dirs)
	[ -n "$kept" ] || fail "no crashed@ folder: $(ls -A "$STATE_DIR" | tr '\n' ' ')"
	cmp -s -n "$(stat -c %s "$SCRATCH/serial0.seen")" "$SCRATCH/serial0.seen" \
		"$kept/board0/serial0.log" || fail "serial0.log not kept"
}

test_unmount_after_janitor_was_killed_exits_0() {
	require_fuse
	write_std_config board0
	local round old new
	# at once (the keeper may not have restarted it yet), and after it did
	for round in at-once after-restart; do
		mount_emufs
		old=$(janitor_of "$EMUFS_PID") || fail "emufs $EMUFS_PID has no janitor"
		kill -KILL "$old"
		if [ "$round" = after-restart ]; then
			wait_for "new=\$(janitor_of $EMUFS_PID) && [ \"\$new\" != $old ]" 3 ||
				fail "no new janitor after the janitor (pid $old) was killed"
		fi
		unmount_emufs           # exit status 0, not 141 (SIGPIPE)
		[ -z "$(emufs_pids)" ] || wait_for '[ -z "$(emufs_pids)" ]' 2 ||
			fail "$round: processes left: $(emufs_pids | tr '\n' ' ')"
	done
}

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
