# test_trace.sh - trace/ (contract 3.10, issue 17) on the real QEMU: the
# events of QEMU's trace points, trace/enable, trace/log (through emufs's
# FIFO, apart from `log`), follow/trace, and what is refused.

. "$TESTS_DIR/lib_extra.sh"

T= # $MNT/board0/trace

setup_trace() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON" "${1-}"
	mount_emufs
	T=$MNT/board0/trace
}

# trace_write FILE DATA: one write(2) of DATA to trace/FILE, which must work.
trace_write() { expect_ok write "$T/$1" "$2"; }

# uart_bytes_in FILE TEXT: FILE holds the guest's writes of TEXT's bytes,
# in order, to UART5's transmit register (0x1e784000), as QEMU's
# memory_region_ops_write prints them.
uart_bytes_in() {
	python3 - "$1" "$2" <<'PY'
import re, sys
path, text = sys.argv[1], sys.argv[2]
vals = [int(m.group(1), 16) for m in re.finditer(
    r"^memory_region_ops_write cpu \d+ mr 0x[0-9a-f]+ addr 0x1e784000 value 0x([0-9a-f]+) size 4 name 'serial'$",
    open(path, errors="replace").read(), re.M)]
s = "".join(map(chr, vals))
sys.exit(0 if text in s else 1)
PY
}

test_trace_lists_qemu_events_each_0_and_log_is_apart_from_log() {
	setup_trace
	start_running board0
	local n
	n=$(ls "$T/events" | wc -l)
	[ "$n" -gt 1000 ] || fail "trace/events/ lists $n events; QEMU has thousands"
	[ -e "$T/events/aspeed_gpio_write" ] || fail "no trace/events/aspeed_gpio_write"
	assert_content "$T/events/aspeed_gpio_write" $'0\n'
	assert_content "$T/events/memory_region_ops_write" $'0\n'
	# a new run traces nothing: the log is empty, nothing leaked into log
	assert_eq 0 "$(size_of "$T/log")" "trace/log size with every event off"
	assert_not_contains "$MNT/board0/log" "trace event"
	expect_ok write "$T/events/aspeed_gpio_write" 1
	assert_content "$T/events/aspeed_gpio_write" $'1\n'
	expect_ok write "$T/events/aspeed_gpio_write" $'0\n'
	assert_content "$T/events/aspeed_gpio_write" $'0\n'
	ctl board0 stop
}

test_gpio_trace_shows_the_register_write_with_the_pins_bit() {
	setup_trace
	start_running board0
	trace_write enable 'aspeed_gpio_*'
	assert_content "$T/events/aspeed_gpio_write" $'1\n'
	assert_content "$T/events/aspeed_gpio_read" $'1\n'
	echo 1 >"$MNT/board0/gpio/button" || fail "echo 1 > gpio/button failed"
	wait_text "$MNT/board0/serial0" "LED 1" 2
	# The firmware mirrors A0 (bit 0, the button) to A1 (bit 1): it
	# writes the data register (offset 0) with both bits set.
	wait_for "grep -qx 'aspeed_gpio_write offset: 0x0 value 0x3' '$T/log'" 2 ||
		fail "no GPIO data write with bit 1 in trace/log: $(grep aspeed_gpio_write "$T/log" | sort | uniq -c | head)"
	# QEMU's lines, unchanged; and none of them in `log`
	grep -qx 'aspeed_gpio_read offset: 0x0 value 0x1' "$T/log" ||
		fail "no read of the data register with the button's bit"
	assert_not_contains "$MNT/board0/log" "aspeed_gpio_"
	ctl board0 stop
}

test_mmio_write_trace_shows_the_banner_and_minus_glob_turns_it_off() {
	setup_trace
	ctl board0 'start paused'
	trace_write enable memory_region_ops_write
	ctl board0 resume
	wait_banner board0
	wait_for "uart_bytes_in '$T/log' '$BANNER'" 2 ||
		fail "the banner's UART writes are not in trace/log: $(head -c 400 "$T/log" | tr '\n' '|')"
	# off: the guest's next line is not traced
	trace_write enable '-memory_region_ops_*'
	assert_content "$T/events/memory_region_ops_write" $'0\n'
	echo 1 >"$MNT/board0/gpio/button" || fail "echo 1 > gpio/button failed"
	wait_text "$MNT/board0/serial0" "LED 1" 2
	# on again: the next one is, so the FIFO was still carrying lines
	trace_write enable memory_region_ops_write
	echo 0 >"$MNT/board0/gpio/button" || fail "echo 0 > gpio/button failed"
	wait_text "$MNT/board0/serial0" "LED 0" 2
	wait_for "uart_bytes_in '$T/log' 'LED 0'" 2 ||
		fail "re-enabled, the UART writes of LED 0 are not in trace/log"
	! uart_bytes_in "$T/log" 'LED 1' ||
		fail "LED 1 was printed with the event off, yet its writes are in trace/log"
	ctl board0 stop
}

test_follow_trace_follows_the_trace_log() {
	setup_trace
	start_running board0
	timeout 10 grep -q -m1 -x 'aspeed_gpio_write offset: 0x0 value 0x3' \
		"$MNT/board0/follow/trace" >"$SCRATCH/follow.out" &
	local pid=$!
	trace_write enable 'aspeed_gpio_write'
	echo 1 >"$MNT/board0/gpio/button" || fail "echo 1 > gpio/button failed"
	wait "$pid" || fail "grep on follow/trace did not see the GPIO write"
	ls "$MNT/board0/follow" | grep -qx trace || fail "follow/ does not list trace"
	ctl board0 stop
}

test_enable_everything_stays_within_the_cap() {
	setup_trace '{ "log_cap_bytes": 65536 }'
	start_running board0
	trace_write enable '*'
	local i size
	for i in 1 2 3 4 5 6 7 8 9 10; do
		size=$(size_of "$T/log")
		[ "$size" -le 65536 ] || fail "trace/log is $size bytes, cap 65536"
		sleep 0.1
	done
	# it did trace (and wrap), and the mount answers meanwhile
	[ "$(grep -c . "$T/log")" -gt 10 ] || fail "trace/log holds almost nothing with every event on"
	assert_state board0 running
	trace_write enable '-*'
	# whole lines of QEMU's, no NUL bytes from a file trimmed under QEMU
	! tr -d '\n[:print:]' <"$T/log" | grep -q . ||
		fail "trace/log holds bytes that are not QEMU's text"
	ctl board0 stop
}

test_settings_survive_reset_not_stop() {
	setup_trace
	start_running board0
	trace_write events/aspeed_gpio_read 1
	ctl board0 reset
	assert_content "$T/events/aspeed_gpio_read" $'1\n'
	ctl board0 stop
	start_running board0
	assert_content "$T/events/aspeed_gpio_read" $'0\n'
	assert_eq 0 "$(size_of "$T/log")" "trace/log of a new run"
	ctl board0 stop
}

test_bad_trace_writes_are_refused_and_logged() {
	setup_trace
	expect_refused ESRCH board0 trace/enable 'aspeed_gpio_*' "not running"
	[ -z "$(ls "$T/events")" ] || fail "trace/events/ lists events while stopped"
	start_running board0
	expect_errno ENOENT write "$T/events/no_such_event_xyz" 1
	expect_errno ENOENT write "$T/events/aspeed_gpio_*" 1
	expect_refused EINVAL board0 trace/enable 'no_such_event_*' "no_such_event_*"
	expect_refused EINVAL board0 trace/enable $'\n' "glob"
	expect_refused EINVAL board0 trace/enable $'a\nb' "glob"
	expect_refused EINVAL board0 trace/events/aspeed_gpio_read 2 "0 or 1"
	expect_refused EINVAL board0 trace/events/aspeed_gpio_read on "0 or 1"
	assert_content "$T/events/aspeed_gpio_read" $'0\n'
	# an event file opened while running, written once stopped
	refused_after_stop board0 trace/events/aspeed_gpio_read
}

test_user_d_or_D_in_qemu_args_is_refused_at_load() {
	require_qemu
	local a
	for a in '"-D", "/tmp/x.log"' '"-d", "guest_errors"'; do
		write_ast_config
		sed -i "s|\"args\": \\[\"-nic\", \"none\"\\]|\"args\": [\"-nic\", \"none\", $a]|" "$CONFIG"
		grep -qF -- "$a" "$CONFIG" || fail "test bug: $a not in the config"
		local rc=0
		timeout 10 "$EMUFS" -f -c "$CONFIG" --state-dir "$SCRATCH/state" "$MNT" \
			>"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || rc=$?
		assert_eq 2 "$rc" "exit status for qemu.args with $a ($(cat "$SCRATCH/stderr"))"
		grep -qF 'args' "$SCRATCH/stderr" && grep -qF 'args[2]' "$SCRATCH/stderr" ||
			fail "the refusal does not name the JSON path: $(cat "$SCRATCH/stderr")"
		note "refused: $(cat "$SCRATCH/stderr")"
	done
}
