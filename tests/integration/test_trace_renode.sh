# test_trace_renode.sh - trace/ (contract 3.10, issue 17) on Renode: one
# event per bus peripheral switching `sysbus LogPeripheralAccess`, the
# access lines of Renode's log in trace/log (unchanged, apart from `log`
# and from Renode's other log lines), follow/trace, what is refused.
#
# As test_renode.sh (whose set-up this file uses), two groups run the same
# cases:
#   test_renode_trace_*       against the stand-in (tests/renode-standin,
#                             not Renode), which logs its firmware's
#                             accesses as Renode's sources say Renode does;
#   test_real_renode_trace_*  against a real `renode` on PATH with the
#                             stm32f4 test firmware; SKIP without one.
# Both firmwares write gpioPortD's BitSet register when the user button
# changes (PD12 follows it) and usart2's data register for each byte sent.

. "$TESTS_DIR/lib_extra.sh"
. "$TESTS_DIR/test_renode.sh"

T= # $MNT/board/trace

# One access line of Renode's file log (renode_trace.c): timestamp,
# level, peripheral, an optional "[cpu: 0xPC] " (a real CPU made it).
ACCESS='^\[[0-9:.]+\] \[INFO\] '
CPU='(\[cpu: 0x[0-9A-F]+\] )?'

setup_rtrace() {
	renode_setup "$1"
	T=$MNT/board/trace
}

# bitset_lines VALUE: how many writes of VALUE (hex, as Renode prints it)
# to gpioPortD's BitSet register trace/log holds.
bitset_lines() {
	grep -cE "${ACCESS}gpioPortD: ${CPU}WriteUInt32 to 0x18 \\(BitSet\\), value 0x$1\$" "$T/log"
}

# usart_text: the bytes trace/log shows written to usart2's data register.
usart_text() {
	python3 - "$T/log" <<'PY'
import re, sys
vals = re.findall(r"^\[[0-9:.]+\] \[INFO\] usart2: (?:\[cpu: 0x[0-9A-F]+\] )?"
                  r"WriteUInt32 to 0x4 \(Data\), value 0x([0-9A-F]+)$",
                  open(sys.argv[1], errors="replace").read(), re.M)
sys.stdout.write("".join(chr(int(v, 16)) for v in vals))
PY
}

# press LEVEL: the user button to LEVEL, then PD12 (gpio/led) follows.
press() {
	echo "$1" >"$MNT/board/gpio/button" || fail "echo $1 > gpio/button failed"
	wait_for "[ \"\$(cat '$MNT/board/gpio/led')\" = $1 ]" 10 ||
		fail "the LED did not follow the button to $1"
}

# ---- the cases ---------------------------------------------------------------

case_events_are_the_bus_peripherals() {
	setup_rtrace "$1"
	[ -z "$(ls "$T/events")" ] || fail "trace/events/ lists events while stopped"
	start_board
	local ev
	ev=$(ls "$T/events" | tr '\n' ' ')
	note "trace/events: $ev"
	for p in usart2 gpioPortA gpioPortD; do
		[ -e "$T/events/$p" ] || fail "no trace/events/$p: $ev"
		assert_content "$T/events/$p" $'0\n'
	done
	# not on the bus at an address: the bus itself, the button, the LED
	for p in sysbus UserButton gpioPortA.UserButton gpioPortD.UserLED; do
		[ ! -e "$T/events/$p" ] || fail "trace/events/$p exists: $ev"
	done
	assert_eq 0 "$(size_of "$T/log")" "trace/log size with every event off"
	expect_ok write "$T/events/gpioPortD" 1
	assert_content "$T/events/gpioPortD" $'1\n'
	# what Renode says of the peripheral, asked through the monitor
	monitor_cmd "sysbus IsLoggingPeripheralAccessEnabled sysbus.gpioPortD" |
		grep -qx 'True' || fail "Renode does not log gpioPortD's accesses"
	if [ "$RENODE_MODE" = standin ]; then
		standin_calls | grep -qxF $'ExecuteCommand\tsysbus LogPeripheralAccess sysbus.gpioPortD true' ||
			fail "no LogPeripheralAccess call: $(standin_calls | tail -n 5 | tr '\t\n' ' |')"
	fi
	expect_ok write "$T/events/gpioPortD" $'0\n'
	assert_content "$T/events/gpioPortD" $'0\n'
	ctl board stop
}

case_button_press_is_in_trace_log_and_minus_glob_stops_it() {
	setup_rtrace "$1"
	start_board
	expect_ok write "$T/enable" 'gpio*'
	assert_content "$T/events/gpioPortA" $'1\n'
	assert_content "$T/events/gpioPortD" $'1\n'
	assert_content "$T/events/usart2" $'0\n'
	# once more: Renode logs "gpioPortD: Logging is already enabled",
	# which is not an access and goes neither to trace/log nor to log
	expect_ok write "$T/events/gpioPortD" 1
	press 1
	wait_for "[ \$(bitset_lines 1000) -ge 1 ]" 10 ||
		fail "no BitSet write of PD12 in trace/log: $(tail -n 5 "$T/log" | tr '\n' '|')"
	# every line is an access line of Renode's, whole; none in `log`
	! grep -vE "${ACCESS}gpioPort[AD]: ${CPU}(Read|Write)UInt32 (from|to) 0x[0-9A-F]+ \\(" "$T/log" | grep -q . ||
		fail "trace/log holds other lines: $(grep -vE "$ACCESS" "$T/log" | head -n 3 | tr '\n' '|')"
	assert_not_contains "$T/log" "already enabled"
	assert_not_contains "$MNT/board/log" "already enabled"
	assert_not_contains "$MNT/board/log" "WriteUInt32"
	# off: the release is not traced ...
	expect_ok write "$T/enable" '-gpio*'
	assert_content "$T/events/gpioPortD" $'0\n'
	press 0
	# ... on again: the next press is, so lines still flow
	expect_ok write "$T/enable" 'gpioPortD'
	press 1
	wait_for "[ \$(bitset_lines 1000) -ge 2 ]" 10 ||
		fail "re-enabled, the second press is not in trace/log"
	assert_eq 0 "$(bitset_lines 10000000)" "PD12 resets traced while off"
	ctl board stop
}

case_banner_is_in_trace_log() {
	setup_rtrace "$1"
	ctl board 'start paused'
	expect_ok write "$T/events/usart2" 1
	ctl board resume
	wait_for "grep -qF '$RBANNER' '$MNT/board/serial0'" 10 || fail "no banner"
	wait_for "usart_text | grep -qF '$RBANNER'" 10 ||
		fail "the banner's writes to usart2 are not in trace/log: $(usart_text | head -c 100 | cat -v)"
	ctl board stop
}

case_follow_trace() {
	setup_rtrace "$1"
	start_board
	timeout 10 grep -q -m1 -E "gpioPortD: ${CPU}WriteUInt32 to 0x18 \\(BitSet\\), value 0x1000\$" \
		"$MNT/board/follow/trace" &
	local pid=$!
	expect_ok write "$T/enable" gpioPortD
	press 1
	wait "$pid" || fail "grep on follow/trace did not see the BitSet write"
	ctl board stop
}

case_settings_survive_reset_not_stop() {
	setup_rtrace "$1"
	start_board
	expect_ok write "$T/events/gpioPortD" 1
	ctl board reset
	assert_content "$T/events/gpioPortD" $'1\n'
	# the firmware starts over: its set-up write of PD12's mode is traced
	wait_for "grep -qE '${ACCESS}gpioPortD: ${CPU}WriteUInt32 to 0x0 \\(Mode\\), value 0x1000000\$' '$T/log'" 10 ||
		fail "after reset, the firmware's Mode write is not in trace/log: $(tail -n 3 "$T/log" | tr '\n' '|')"
	ctl board stop
	start_board
	assert_content "$T/events/gpioPortD" $'0\n'
	assert_eq 0 "$(size_of "$T/log")" "trace/log of a new run"
	ctl board stop
}

case_bad_writes_are_refused_and_logged() {
	setup_rtrace "$1"
	expect_refused ESRCH board trace/enable 'gpio*' "not running"
	start_board
	expect_errno ENOENT write "$T/events/no_such_peripheral" 1
	expect_errno ENOENT write "$T/events/gpioPortA.UserButton" 1
	expect_errno ENOENT write "$T/events/gpio*" 1
	expect_refused EINVAL board trace/enable 'no_such_*' "no_such_*"
	expect_refused EINVAL board trace/enable $'a\nb' "glob"
	expect_refused EINVAL board trace/events/usart2 2 "0 or 1"
	expect_refused EINVAL board trace/events/usart2 on "0 or 1"
	assert_content "$T/events/usart2" $'0\n'
	refused_after_stop board trace/events/usart2
}

test_renode_trace_events_are_the_bus_peripherals() { case_events_are_the_bus_peripherals standin; }
test_renode_trace_button_press_is_in_trace_log_and_minus_glob_stops_it() { case_button_press_is_in_trace_log_and_minus_glob_stops_it standin; }
test_renode_trace_banner_is_in_trace_log() { case_banner_is_in_trace_log standin; }
test_renode_trace_follow_trace() { case_follow_trace standin; }
test_renode_trace_settings_survive_reset_not_stop() { case_settings_survive_reset_not_stop standin; }
test_renode_trace_bad_writes_are_refused_and_logged() { case_bad_writes_are_refused_and_logged standin; }

test_real_renode_trace_events_are_the_bus_peripherals() { case_events_are_the_bus_peripherals real; }
test_real_renode_trace_button_press_is_in_trace_log_and_minus_glob_stops_it() { case_button_press_is_in_trace_log_and_minus_glob_stops_it real; }
test_real_renode_trace_banner_is_in_trace_log() { case_banner_is_in_trace_log real; }
test_real_renode_trace_follow_trace() { case_follow_trace real; }
test_real_renode_trace_settings_survive_reset_not_stop() { case_settings_survive_reset_not_stop real; }
test_real_renode_trace_bad_writes_are_refused_and_logged() { case_bad_writes_are_refused_and_logged real; }
