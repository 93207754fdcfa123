# test_serial.sh - serial channels (contract 3.3, issue 3): a channel is a
# growing log of what the guest sent, read with the ordinary tools (cat,
# dd, tail -f, grep -q, poll()), written to type into the UART, bridged
# to a pty, started over by a new run and bounded by the log cap.

. "$TESTS_DIR/lib_extra.sh"

S0= # $MNT/board0/serial0, set by setup

# board0 of the test firmware, mounted, stopped. ARGS: write_ast_config's.
setup_board() {
	require_qemu
	write_ast_config "$@"
	mount_emufs
	S0=$MNT/board0/serial0
}

# ... and running, its banner printed
setup_running() {
	setup_board "$@"
	start_running board0
}

# wait_burst_done FILE TIMEOUT_S: the burst trailer is at the end of FILE
# (tail -c seeks, so the check costs one small read however big FILE is).
wait_burst_done() {
	wait_for "tail -c 14 '$1' | grep -qF 'BURST DONE'" "$2" ||
		fail "no BURST DONE at the end of ${1#"$MNT"/} within $2 s (size $(size_of "$1"))"
}

# ---- reading -------------------------------------------------------------------------

# Nothing is lost at start: the CPUs run only once serial0 has a reader,
# so serial0 holds the banner from its first byte. (When the guest gets
# to print it after `start` returns is the scheduler's business: on a
# loaded machine the CPUs may not have run yet, so wait for it.)
test_banner_is_in_serial0_from_its_first_byte() {
	setup_board
	ctl board0 start
	timeout 10 grep -q -m1 "$BANNER" "$MNT/board0/follow/serial0" ||
		fail "no banner in follow/serial0 within 10 s"
	assert_content "$S0" "$BANNER"$'\r\n'
	ctl board0 stop
	unmount_emufs
}

test_st_size_equals_the_bytes_cat_returns() {
	setup_running
	assert_eq "$(cat "$S0" | wc -c)" "$(size_of "$S0")" "st_size vs bytes read by cat (banner only)"
	echo ping >"$S0" || fail "echo ping > serial0 failed"
	wait_text "$S0" pong
	assert_eq 38 "$(size_of "$S0")" "st_size after ping"
	assert_eq "$(cat "$S0" | wc -c)" "$(size_of "$S0")" "st_size vs bytes read by cat (after ping)"
	echo 'burst 5000' >"$S0" || fail "echo burst > serial0 failed"
	wait_burst_done "$S0" 5
	assert_eq $((38 + 11 + 5000 + 14)) "$(size_of "$S0")" "st_size after burst 5000"
	assert_eq "$(cat "$S0" | wc -c)" "$(size_of "$S0")" "st_size vs bytes read by cat (after the burst)"
	ctl board0 stop
	# the stopped run's log stays readable, with the same size
	assert_eq "$(cat "$S0" | wc -c)" "$(size_of "$S0")" "st_size vs bytes read by cat (stopped)"
	unmount_emufs
}

test_dd_at_an_offset_returns_the_bytes_at_that_offset() {
	setup_running
	# banner: "emufs-test-firmware ready\r\n"; offset 6 is "test"
	assert_eq test "$(dd if="$S0" bs=1 skip=6 count=4 status=none)" "dd bs=1 skip=6 count=4"
	assert_eq ready "$(dd if="$S0" bs=1 skip=20 count=5 status=none)" "dd bs=1 skip=20 count=5"
	# a burst: its pattern starts after the banner (27) and the echoed
	# "burst 4096\n" (11), at 38; line k is at 38 + 64 k
	echo 'burst 4096' >"$S0" || fail "echo burst > serial0 failed"
	wait_burst_done "$S0" 5
	assert_eq "00000010 abc" "$(dd if="$S0" bs=1 skip=$((38 + 64 * 10)) count=12 status=none)" \
		"dd bs=1 at line 10 of the burst"
	assert_eq "00000063 abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01" \
		"$(dd if="$S0" bs=64 count=1 status=none iflag=skip_bytes skip=$((38 + 64 * 63)) | tr -d '\n')" \
		"dd bs=64 at line 63 of the burst"
	# the same bytes as cat gives at that offset
	assert_eq "$(cat "$S0" | tail -c +$((38 + 64 * 40 + 1)) | head -c 100 | od -An -c)" \
		"$(dd if="$S0" bs=1 skip=$((38 + 64 * 40)) count=100 status=none | od -An -c)" \
		"dd vs cat at offset $((38 + 64 * 40))"
	# past the end: nothing
	assert_eq 0 "$(dd if="$S0" bs=1 skip=$(( $(size_of "$S0") + 10 )) count=5 status=none | wc -c)" \
		"bytes read past the end"
	ctl board0 stop
	unmount_emufs
}

# A read at the end returns 0 at once: cat prints what is there and exits.
test_read_at_the_end_returns_0_at_once() {
	setup_running
	local t0 ms
	t0=$(_now_us)
	timeout 2 cat "$S0" >"$SCRATCH/cat.out" || fail "timeout 2 cat serial0: status $? (124: it blocked)"
	ms=$(( ($(_now_us) - t0) / 1000 ))
	[ "$ms" -lt 1000 ] || fail "cat serial0 took $ms ms"
	assert_content "$SCRATCH/cat.out" "$BANNER"$'\r\n'
	# the same with explicit reads at and past the end
	local out
	out=$(timeout 20 python3 - "$S0" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
res = []
for off in (size, size + 1, size + 100000):
    t = time.monotonic()
    data = os.pread(fd, 4096, off)
    res.append("%d:%d:%s" % (off - size, len(data), "fast" if time.monotonic() - t < 0.5 else "slow"))
print(" ".join(res))
EOF
) || fail "reads at the end did not return (python, 20 s): $out"
	assert_eq "0:0:fast 1:0:fast 100000:0:fast" "$out" "pread at the end, 1 and 100000 past it"
	note "cat serial0 took $ms ms"
	ctl board0 stop
	unmount_emufs
}

test_grep_q_sees_the_banner_and_does_not_wait() {
	setup_running
	timeout 2 grep -q 'emufs-test-firmware ready' "$S0" ||
		fail "grep -q 'emufs-test-firmware ready' serial0: status $?"
	local rc=0
	timeout 2 grep -q 'no such line' "$S0" || rc=$?
	assert_eq 1 "$rc" "status of grep -q for a line that is not there (124: it blocked)"
	ctl board0 stop
	unmount_emufs
}

# ---- writing ---------------------------------------------------------------------------

test_line_written_to_serial0_is_echoed_by_guest() {
	setup_running
	echo hello >"$S0" || fail "echo hello > serial0 failed"
	# the firmware echoes every byte, then answers the unknown line
	wait_text "$S0" "? hello"
	wait_for "[ \$(size_of '$S0') -eq $((27 + 6 + 9)) ]" 1 || fail "size $(size_of "$S0"), expected 42"
	assert_content "$S0" "$BANNER"$'\r\nhello\n? hello\r\n'
	ctl board0 stop
	unmount_emufs
}

test_write_while_stopped_is_esrch_and_logged() {
	setup_board
	# never started
	expect_refused ESRCH board0 serial0 $'ping\n' serial0
	expect_errno ESRCH sh "echo ping > '$S0'"
	# and after a run
	start_running board0
	ctl board0 stop
	expect_refused ESRCH board0 serial0 $'ping\n' serial0
	# the last run's log is untouched
	assert_content "$S0" "$BANNER"$'\r\n'
	unmount_emufs
}

test_write_while_paused_reaches_guest_after_resume() {
	setup_running
	ctl board0 pause
	echo ping >"$S0" || fail "echo ping > serial0 while paused failed"
	assert_state board0 paused
	# the CPUs are stopped: neither the echo nor the reply comes
	! wait_for "[ \$(size_of '$S0') -ne 27 ]" 0.3 ||
		fail "serial0 grew while paused: $(cat -v "$S0" | tr '\n' '|')"
	ctl board0 resume
	wait_text "$S0" pong 2
	assert_content "$S0" "$BANNER"$'\r\nping\npong\r\n'
	ctl board0 stop
	unmount_emufs
}

# ---- following -------------------------------------------------------------------------

# coreutils tail -f cannot use inotify on FUSE; it polls st_size every
# second (the default interval, as a user runs it).
test_tail_f_shows_a_line_written_later() {
	setup_running
	tail -f "$S0" >"$SCRATCH/tail.out" 2>"$SCRATCH/tail.err" &
	local tail_pid=$!
	wait_text "$SCRATCH/tail.out" "$BANNER" 2
	local t0 ms
	t0=$(_now_us)
	echo ping >"$S0" || fail "echo ping > serial0 failed"
	wait_text "$SCRATCH/tail.out" pong 3
	ms=$(( ($(_now_us) - t0) / 1000 ))
	note "tail -f showed the reply $ms ms after the write"
	kill "$tail_pid"; wait "$tail_pid" 2>/dev/null
	assert_content "$SCRATCH/tail.out" "$BANNER"$'\r\nping\npong\r\n'
	ctl board0 stop
	unmount_emufs
}

# A new run starts the log over; a follower is told and follows it.
test_tail_f_across_a_restart_reports_truncation_and_shows_new_banner() {
	setup_running
	# make the first run's log longer than the next run's banner
	echo ping >"$S0" || fail "echo ping > serial0 failed"
	wait_text "$S0" pong
	tail -f "$S0" >"$SCRATCH/tail.out" 2>"$SCRATCH/tail.err" &
	local tail_pid=$!
	wait_text "$SCRATCH/tail.out" pong 2
	ctl board0 stop
	ctl board0 start
	wait_for "[ \$(count '$SCRATCH/tail.out' '$BANNER') -eq 2 ]" 3 ||
		fail "tail -f did not show the new run's banner: $(cat -v "$SCRATCH/tail.out" | tr '\n' '|')"
	wait_text "$SCRATCH/tail.err" "file truncated" 1
	kill "$tail_pid"; wait "$tail_pid" 2>/dev/null
	assert_content "$SCRATCH/tail.out" "$BANNER"$'\r\nping\npong\r\n'"$BANNER"$'\r\n'
	ctl board0 stop
	unmount_emufs
}

# poll(POLLIN) on serial0: nothing while nothing arrives, a wake-up when
# bytes do.
test_poll_on_serial0_wakes_when_bytes_arrive_and_not_before() {
	setup_running
	local out
	out=$(timeout 10 python3 - "$S0" <<'EOF'
import os, select, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
while os.read(fd, 65536):      # read to the end: nothing new is pending
    pass
p = select.poll()
p.register(fd, select.POLLIN)
ev = p.poll(500)
if ev:
    print("woke with nothing new: %r" % ev); sys.exit(1)
w = os.open(path, os.O_WRONLY)
os.write(w, b"ping\n")
t0 = time.monotonic()
os.close(w)
ev = p.poll(3000)
ms = (time.monotonic() - t0) * 1000
if not ev or not ev[0][1] & select.POLLIN:
    print("no POLLIN within 3 s of the write: %r" % ev); sys.exit(1)
got = b""
deadline = time.monotonic() + 3
while b"pong\r\n" not in got and time.monotonic() < deadline:
    data = os.read(fd, 65536)
    if data:
        got += data
    else:
        p.poll(1000)
if got != b"ping\npong\r\n":
    print("read after the wake-ups: %r" % got); sys.exit(1)
# everything read: quiet again
ev = p.poll(300)
if ev:
    print("woke after everything was read: %r" % ev); sys.exit(1)
print("OK %.1f" % ms)
EOF
) || fail "poll on serial0: $out"
	note "POLLIN ${out#OK } ms after the write of ping returned"
	ctl board0 stop
	unmount_emufs
}

# ---- runs: reset keeps the log, a new start begins a new one ---------------

test_reset_keeps_log_and_new_start_begins_new_log() {
	setup_running
	ctl board0 reset
	wait_for "[ \$(count '$S0' '$BANNER') -eq 2 ]" 2 ||
		fail "banner $(count "$S0" "$BANNER") times after reset, expected 2"
	assert_eq 54 "$(size_of "$S0")" "st_size after reset"
	ctl board0 stop
	# the stopped run's log is kept until the next start
	assert_eq 54 "$(size_of "$S0")" "st_size after stop"
	ctl board0 start
	wait_banner board0
	assert_eq 27 "$(size_of "$S0")" "st_size after a new start"
	assert_eq 1 "$(count "$S0" "$BANNER")" "banners after a new start"
	ctl board0 stop
	unmount_emufs
}

# ---- the pty ---------------------------------------------------------------------

test_pty_link_exists_while_running_and_not_when_stopped() {
	setup_board
	[ ! -L "$S0.pty" ] || fail "serial0.pty exists before start"
	expect_errno ENOENT stat "$S0.pty"
	ctl board0 start
	[ -L "$S0.pty" ] || fail "no serial0.pty symlink while running: $(ls -l "$MNT/board0" | tr '\n' '|')"
	local target
	target=$(readlink "$S0.pty")
	assert_match '/dev/pts/[0-9]+' "$target" "readlink serial0.pty"
	[ -c "$S0.pty" ] || fail "serial0.pty -> $target is not a character device"
	ls "$MNT/board0" | grep -qx serial0.pty || fail "ls board0 does not list serial0.pty"
	ctl board0 pause
	[ -L "$S0.pty" ] || fail "no serial0.pty while paused"
	ctl board0 stop
	[ ! -L "$S0.pty" ] || fail "serial0.pty still exists after stop: -> $(readlink "$S0.pty")"
	! ls "$MNT/board0" | grep -qx serial0.pty || fail "ls board0 still lists serial0.pty after stop"
	unmount_emufs
}

test_pty_carries_bytes_both_ways() {
	setup_running
	local out
	out=$(timeout 10 python3 - "$S0.pty" <<'EOF'
import os, select, sys, termios, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
termios.tcflush(fd, termios.TCIFLUSH)     # drop the banner already there
os.write(fd, b"ping\r")
got = b""
deadline = time.monotonic() + 3
p = select.poll(); p.register(fd, select.POLLIN)
while b"pong\r\n" not in got and time.monotonic() < deadline:
    if p.poll(200):
        got += os.read(fd, 4096)
print(repr(got))
sys.exit(0 if b"pong\r\n" in got else 1)
EOF
) || fail "no pong read from serial0.pty after writing ping\\r to it: $out"
	assert_eq "b'ping\\rpong\\r\\n'" "$out" "bytes read from the pty"
	# what went through the pty is in the channel file too
	wait_text "$S0" pong
	assert_content "$S0" "$BANNER"$'\r\nping\rpong\r\n'
	ctl board0 stop
	unmount_emufs
}

# ---- big output and the cap -------------------------------------------------------

test_1mib_burst_arrives_complete_and_in_order() {
	setup_running
	echo 'burst 1048576' >"$S0" || fail "echo burst > serial0 failed"
	local t0 ms
	t0=$(_now_us)
	wait_burst_done "$S0" 20
	ms=$(( ($(_now_us) - t0) / 1000 ))
	note "1 MiB burst complete in serial0 after $ms ms"
	# banner + echoed command + pattern + trailer
	assert_eq $((27 + 14 + 1048576 + 14)) "$(size_of "$S0")" "st_size after the burst"
	local why
	why=$(python3 "$CHECK_BURST" 1048576 "$S0" 2>&1) || fail "burst in serial0: $why"
	# and the same through cat, as a user checks it
	cat "$S0" | python3 "$CHECK_BURST" 1048576 || fail "burst through cat is not intact"
	ctl board0 stop
	unmount_emufs
}

# Past settings.log_cap_bytes the log starts over: it never exceeds the
# cap and holds the newest bytes of the stream.
test_log_cap_bounds_serial0_and_keeps_the_newest_bytes() {
	setup_running '' '' '{ "log_cap_bytes": 8192 }'
	echo 'burst 100000' >"$S0" || fail "echo burst > serial0 failed"
	local size max=0 deadline=$(( $(_now_us) + 10000000 ))
	while :; do
		size=$(size_of "$S0")
		[ "$size" -gt "$max" ] && max=$size
		tail -c 14 "$S0" | grep -qF 'BURST DONE' && break
		[ "$(_now_us)" -lt "$deadline" ] || fail "no BURST DONE within 10 s (size $size)"
		sleep 0.01
	done
	[ "$max" -le 8192 ] || fail "serial0 reached $max bytes, over the 8192 cap"
	size=$(size_of "$S0")
	if [ "$size" -eq 0 ] || [ "$size" -gt 8192 ]; then
		fail "st_size $size after the burst, cap 8192"
	fi
	note "serial0 holds $size bytes after burst 100000 (largest size seen: $max)"
	# the content is the end of the stream the guest sent
	local why
	why=$(python3 - "$S0" "$FIRMWARE_SRC" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import check_burst
data = open(sys.argv[1], "rb").read()
stream = (b"emufs-test-firmware ready\r\n" + b"burst 100000\n" +
          check_burst.expected(100000) + b"\r\nBURST DONE\r\n")
if not data.endswith(b"\r\nBURST DONE\r\n"):
    print("does not end with the trailer: %r" % data[-40:]); sys.exit(1)
if not stream.endswith(data):
    print("%d bytes that are not the tail of the stream; start %r" % (len(data), data[:40])); sys.exit(1)
EOF
) || fail "serial0 after the cap: $why"
	# the on-disk log is bounded too
	local disk
	disk=$(stat -c %s "$STATE_DIR/board0/serial0.log" 2>/dev/null) && {
		[ "$disk" -le 8192 ] || fail "on-disk serial0.log is $disk bytes, cap 8192"; }
	# still healthy: the channel carries a new exchange, log and state are fine
	echo ping >"$S0" || fail "echo ping > serial0 after the cap failed"
	wait_text "$S0" pong
	assert_eq "$(cat "$S0" | wc -c)" "$(size_of "$S0")" "st_size vs bytes read after the cap"
	assert_state board0 running
	cat "$MNT/board0/log" >/dev/null || fail "cannot read log"
	[ "$(size_of "$MNT/board0/log")" -le 8192 ] || fail "log over the cap"
	ctl board0 stop
	unmount_emufs
}
