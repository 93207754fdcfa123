# test_lifecycle.sh - an instance's life through ctl (contract 3, 3.1, 3.2,
# 3.3): the tree, every command, every refusal and its errno and log line.

# one instance board0 (stopped), mounted
setup_one() {
	require_qemu
	write_std_config board0 "$@"
	mount_emufs
}

# board0, running, its banner printed
setup_running() {
	setup_one "$@"
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 2 ||
		fail "no banner in serial0 after start"
}

test_ls_shows_one_directory_per_instance() {
	setup_one board1
	assert_eq "board0 board1" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls of the mount"
	local f
	for f in ctl state target log events serial0; do
		[ -e "$MNT/board0/$f" ] || fail "no $f in board0: $(ls "$MNT/board0" | tr '\n' ' ')"
	done
	ls "$MNT/board0" | grep -qx serial0 || fail "ls board0 does not list serial0"
	assert_eq "ast" "$(cat "$MNT/board0/target")" "board0/target"
	expect_errno ENOENT stat "$MNT/nosuch"
	expect_errno ENOENT stat "$MNT/board0/nosuch"
	unmount_emufs
}

test_fresh_instance_is_stopped() {
	setup_one
	assert_state board0 stopped
	assert_eq "" "$(cat "$MNT/board0/serial0")" "serial0 of a never started instance"
	unmount_emufs
}

test_autostart_instance_runs_after_mount() {
	setup_one board1+
	wait_state board1 running 10
	wait_for "grep -qF '$BANNER' '$MNT/board1/serial0'" 2 || fail "no banner in board1/serial0"
	assert_state board0 stopped
	unmount_emufs
}

# start returns once the machine runs; the firmware prints its banner
# within milliseconds of that, and not a byte of it is lost.
test_start_runs_and_banner_is_in_serial0() {
	setup_one
	ctl board0 start
	assert_state board0 running
	[ -n "$(qemu_pids)" ] || fail "state running but no QEMU process"
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 1 ||
		fail "no banner in serial0 1s after start returned: $(cat -v "$MNT/board0/serial0")"
	assert_content "$MNT/board0/serial0" "$BANNER"$'\r\n'
	assert_eq 27 "$(stat -c %s "$MNT/board0/serial0")" "st_size of serial0"
	ctl board0 stop
	unmount_emufs
}

test_start_paused_holds_serial_output_until_resume() {
	setup_one
	ctl board0 start paused
	assert_state board0 paused
	[ -n "$(qemu_pids)" ] || fail "state paused but no QEMU process"
	sleep 0.3
	assert_eq "" "$(cat "$MNT/board0/serial0")" "serial0 while started paused"
	ctl board0 resume
	assert_state board0 running
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 2 || fail "no banner after resume"
	ctl board0 stop
	unmount_emufs
}

test_pause_and_resume_change_state_and_events() {
	setup_running
	ctl board0 pause
	assert_state board0 paused
	wait_for 'has_event board0 STOP' 2 || fail "no STOP event in events: $(events_of board0 | tr '\n' ' ')"
	wait_for 'has_event board0 EMUFS_STATE:paused' 2 || fail "no EMUFS_STATE paused in events"
	# paused: the guest does not answer
	echo ping >"$MNT/board0/serial0" || fail "write to serial0 while paused failed"
	sleep 0.2
	assert_not_contains "$MNT/board0/serial0" pong
	ctl board0 resume
	assert_state board0 running
	wait_for 'has_event board0 RESUME' 2 || fail "no RESUME event"
	wait_for '[ "$(emufs_states board0)" = "starting running paused running" ]' 2 ||
		fail "EMUFS_STATE sequence: $(emufs_states board0)"
	# and what was sent while paused is answered now
	wait_for "grep -qF pong '$MNT/board0/serial0'" 2 || fail "no pong after resume"
	! events_of board0 | grep -q '^BADJSON' || fail "events has a line that is not JSON: $(events_of board0 | grep BADJSON)"
	ctl board0 stop
	unmount_emufs
}

test_reset_prints_banner_again_and_keeps_serial_log() {
	setup_running
	ctl board0 reset
	assert_state board0 running
	wait_for "[ \$(count '$MNT/board0/serial0' '$BANNER') -eq 2 ]" 2 ||
		fail "banner $(count "$MNT/board0/serial0" "$BANNER") times in serial0 after reset, expected 2"
	assert_eq 54 "$(stat -c %s "$MNT/board0/serial0")" "st_size of serial0 after reset"
	# QEMU's RESET event, as received
	wait_for 'has_event board0 RESET' 2 || fail "no RESET event in events: $(events_of board0 | tr '\n' ' ')"
	ctl board0 stop
	unmount_emufs
}

test_stop_leaves_no_qemu() {
	setup_running
	ctl board0 stop
	assert_state board0 stopped
	# stop returns when the process is gone
	assert_no_qemu
	wait_for 'has_event board0 EMUFS_STATE:stopped' 1 || fail "no EMUFS_STATE stopped in events"
	unmount_emufs
}

test_stop_of_paused_instance() {
	setup_one
	ctl board0 start paused
	ctl board0 stop
	assert_state board0 stopped
	assert_no_qemu
	unmount_emufs
}

test_kill_stops_instance() {
	setup_running
	ctl board0 kill
	assert_state board0 stopped
	assert_no_qemu
	unmount_emufs
}

test_reading_ctl_gives_state_line() {
	setup_one
	assert_content "$MNT/board0/ctl" "stopped"$'\n'
	ctl board0 start
	assert_content "$MNT/board0/ctl" "running"$'\n'
	ctl board0 pause
	assert_content "$MNT/board0/ctl" "paused"$'\n'
	ctl board0 stop
	unmount_emufs
}

test_several_commands_in_one_write_run_in_order() {
	setup_one
	printf 'start\npause\n' >"$MNT/board0/ctl" || fail "printf 'start\\npause\\n' > ctl failed"
	assert_state board0 paused
	wait_for '[ "$(emufs_states board0)" = "starting running paused" ]' 2 ||
		fail "EMUFS_STATE sequence: $(emufs_states board0)"
	ctl board0 stop
	unmount_emufs
}

test_several_commands_stop_at_first_error() {
	setup_running
	expect_errno EINVAL write "$MNT/board0/ctl" $'pause\nbogus\nresume\n'
	# pause ran, resume did not
	assert_state board0 paused
	tail -n 1 "$MNT/board0/log" | grep -q bogus || fail "log does not name the bad command: $(tail -n 1 "$MNT/board0/log")"
	ctl board0 stop
	unmount_emufs
}

test_trailing_newline_is_optional() {
	setup_one
	expect_ok write "$MNT/board0/ctl" start
	assert_state board0 running
	expect_ok write "$MNT/board0/ctl" stop
	assert_state board0 stopped
	unmount_emufs
}

# ---- refusals: EINVAL ------------------------------------------------------

test_empty_command_is_einval() {
	setup_one
	expect_refused EINVAL board0 ctl $'\n' empty
	expect_refused EINVAL board0 ctl $'  \n'
	assert_state board0 stopped
	unmount_emufs
}

test_unknown_command_is_einval() {
	setup_one
	expect_refused EINVAL board0 ctl $'bogus\n' bogus
	expect_errno EINVAL sh "echo bogus > '$MNT/board0/ctl'"
	assert_state board0 stopped
	unmount_emufs
}

test_start_with_bad_argument_is_einval() {
	setup_one
	expect_refused EINVAL board0 ctl $'start bogus\n' bogus
	assert_state board0 stopped
	assert_no_qemu
	unmount_emufs
}

test_command_with_extra_argument_is_einval() {
	setup_running
	expect_refused EINVAL board0 ctl $'pause now\n'
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

# ---- refusals: EBUSY -------------------------------------------------------------

test_start_while_running_is_ebusy() {
	setup_running
	expect_refused EBUSY board0 ctl $'start\n' start
	expect_errno EBUSY sh "echo start > '$MNT/board0/ctl'"
	assert_state board0 running
	[ "$(qemu_pids | wc -l)" -eq 1 ] || fail "expected one QEMU, found $(qemu_pids | wc -l)"
	ctl board0 stop
	unmount_emufs
}

test_start_while_paused_is_ebusy() {
	setup_one
	ctl board0 start paused
	expect_refused EBUSY board0 ctl $'start\n' start
	assert_state board0 paused
	ctl board0 stop
	unmount_emufs
}

test_pause_while_stopped_is_ebusy() {
	setup_one
	expect_refused EBUSY board0 ctl $'pause\n' pause
	assert_state board0 stopped
	unmount_emufs
}

test_pause_while_paused_is_ebusy() {
	setup_one
	ctl board0 start paused
	expect_refused EBUSY board0 ctl $'pause\n' pause
	assert_state board0 paused
	ctl board0 stop
	unmount_emufs
}

test_resume_while_running_is_ebusy() {
	setup_running
	expect_refused EBUSY board0 ctl $'resume\n' resume
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

test_resume_while_stopped_is_ebusy() {
	setup_one
	expect_refused EBUSY board0 ctl $'resume\n' resume
	assert_state board0 stopped
	unmount_emufs
}

test_stop_while_stopped_is_ebusy() {
	setup_one
	expect_refused EBUSY board0 ctl $'stop\n' stop
	assert_state board0 stopped
	unmount_emufs
}

test_kill_while_stopped_is_ebusy() {
	setup_one
	expect_refused EBUSY board0 ctl $'kill\n' kill
	assert_state board0 stopped
	unmount_emufs
}

test_reset_while_stopped_is_ebusy() {
	setup_one
	expect_refused EBUSY board0 ctl $'reset\n' reset
	assert_state board0 stopped
	unmount_emufs
}

# ---- refusals: EIO (the emulator does not start) ---------------------------------

test_missing_binary_is_eio_and_logged() {
	setup_one x=nobin
	expect_errno EIO write "$MNT/x/ctl" $'start\n'
	assert_state x stopped
	assert_contains "$MNT/x/log" "no-such-qemu"
	note "log: $(tail -n 1 "$MNT/x/log")"
	expect_errno EIO sh "echo start > '$MNT/x/ctl'"
	assert_no_qemu
	unmount_emufs
}

test_bad_machine_is_eio_and_logged() {
	setup_one x=badmachine
	local before
	before=$(log_lines x)
	expect_errno EIO write "$MNT/x/ctl" $'start\n'
	assert_state x stopped
	[ "$(log_lines x)" -gt "$before" ] || fail "nothing appended to log"
	note "log: $(tail -n 3 "$MNT/x/log" | tr '\n' '|')"
	# QEMU's own complaint (its stderr) is in the log too
	assert_contains "$MNT/x/log" "machine"
	assert_no_qemu
	# the instance is usable afterwards: a second try fails the same way
	expect_errno EIO write "$MNT/x/ctl" $'start\n'
	unmount_emufs
}

test_emulator_exiting_at_once_is_eio() {
	setup_one x=exitsatonce
	local before
	before=$(log_lines x)
	expect_errno EIO write "$MNT/x/ctl" $'start\n'
	assert_state x stopped
	[ "$(log_lines x)" -gt "$before" ] || fail "nothing appended to log"
	note "log: $(tail -n 1 "$MNT/x/log")"
	unmount_emufs
}

# ---- other files -----------------------------------------------------------------------

test_state_file_is_not_writable() {
	setup_one
	expect_errno EACCES open_w "$MNT/board0/state"
	expect_errno EACCES sh "echo running > '$MNT/board0/state'"
	assert_state board0 stopped
	unmount_emufs
}

test_serial_write_when_not_running_is_esrch() {
	setup_running
	ctl board0 stop
	expect_refused ESRCH board0 serial0 $'ping\n'
	expect_errno ESRCH sh "echo ping > '$MNT/board0/serial0'"
	unmount_emufs
}

test_serial_write_is_answered_by_guest() {
	setup_running
	echo ping >"$MNT/board0/serial0" || fail "echo ping > serial0 failed"
	wait_for "grep -qF pong '$MNT/board0/serial0'" 2 ||
		fail "no pong in serial0: $(cat -v "$MNT/board0/serial0")"
	assert_content "$MNT/board0/serial0" "$BANNER"$'\r\nping\npong\r\n'
	ctl board0 stop
	unmount_emufs
}

# A new start begins a new serial log; stopping keeps the last run's.
test_new_start_begins_new_serial_log() {
	setup_running
	ctl board0 stop
	assert_contains "$MNT/board0/serial0" "$BANNER"
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 2 || fail "no banner after second start"
	assert_eq 1 "$(count "$MNT/board0/serial0" "$BANNER")" "banners in serial0 after a new start"
	ctl board0 stop
	unmount_emufs
}

# tail -f polls st_size on a FUSE mount: it sees bytes as they arrive, and a
# new start (a new, shorter log) as a truncation it follows.
test_tail_f_follows_serial0_across_restart() {
	setup_one
	tail -f -s 0.1 "$MNT/board0/serial0" >"$SCRATCH/tail.out" 2>"$SCRATCH/tail.err" &
	local tail_pid=$!
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$SCRATCH/tail.out'" 3 || fail "tail -f did not show the banner"
	echo ping >"$MNT/board0/serial0" || fail "echo ping > serial0 failed"
	wait_for "grep -qF pong '$SCRATCH/tail.out'" 3 || fail "tail -f did not show the reply to ping"
	ctl board0 stop
	ctl board0 start
	wait_for "[ \$(count '$SCRATCH/tail.out' '$BANNER') -eq 2 ]" 3 ||
		fail "tail -f did not follow the new run: $(cat -v "$SCRATCH/tail.out" | tr '\n' '|')"
	assert_contains "$SCRATCH/tail.err" "truncated"
	kill "$tail_pid"
	wait "$tail_pid" 2>/dev/null
	ctl board0 stop
	unmount_emufs
}

# Several writers race to start the same instance: one start wins, the
# others are refused with EBUSY, and there is one QEMU.
test_concurrent_starts_launch_one_qemu() {
	setup_one
	local out
	out=$(python3 - "$MNT/board0/ctl" <<'EOF'
import errno, os, sys, threading
res = []
def go():
    try:
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, b"start\n")
        finally:
            os.close(fd)
        res.append("OK")
    except OSError as e:
        res.append(errno.errorcode.get(e.errno, str(e.errno)))
ts = [threading.Thread(target=go) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(" ".join(sorted(res)))
EOF
)
	assert_eq "EBUSY EBUSY EBUSY OK" "$out" "results of four concurrent starts"
	assert_state board0 running
	assert_eq 1 "$(qemu_pids | wc -l)" "QEMU processes"
	ctl board0 stop
	unmount_emufs
}

# Every byte written reaches the guest, in order: 300 lines, 300 replies.
test_serial_input_is_not_lost() {
	setup_running
	local i
	for i in $(seq 1 300); do echo "line $i"; done >"$MNT/board0/serial0" ||
		fail "writing 300 lines to serial0 failed"
	wait_for "grep -qxF \$'? line 300\\r' '$MNT/board0/serial0'" 5 ||
		fail "no reply to the last line: $(tail -c 100 "$MNT/board0/serial0" | cat -v)"
	local replies
	replies=$(grep -a '^? line' "$MNT/board0/serial0" | tr -d '\r' | sed 's/^? line //' | tr '\n' ' ')
	assert_eq "$(seq 1 300 | tr '\n' ' ')" "$replies" "the guest's replies"
	ctl board0 stop
	unmount_emufs
}

# st_size counts the bytes of this run; st_mtime moves when bytes arrive.
test_serial_size_and_mtime_follow_output() {
	setup_running
	local size1 mtime1
	read -r size1 mtime1 < <(stat -c '%s %.9Y' "$MNT/board0/serial0")
	assert_eq 27 "$size1" "st_size after the banner"
	sleep 0.05
	echo ping >"$MNT/board0/serial0" || fail "echo ping > serial0 failed"
	wait_for "grep -qF pong '$MNT/board0/serial0'" 2 || fail "no pong"
	local size2 mtime2
	read -r size2 mtime2 < <(stat -c '%s %.9Y' "$MNT/board0/serial0")
	assert_eq 38 "$size2" "st_size after ping"
	python3 -c 'import sys; sys.exit(not float(sys.argv[2]) > float(sys.argv[1]))' "$mtime1" "$mtime2" ||
		fail "st_mtime did not move: $mtime1 -> $mtime2"
	ctl board0 stop
	unmount_emufs
}
