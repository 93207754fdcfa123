# test_gpio.sh - gpio/ (contract 3.5, issue 5): pin files over QOM (the
# Aspeed GPIO controller of ast2500-evb: button = gpioA0 in, led = gpioA1
# out, which the test firmware mirrors) and over the serial shim protocol
# (lm3s6965evb + lm3s-shim.elf: in2 = shim pin 2 in, out6 = shim pin 6
# out, which the firmware mirrors).

. "$TESTS_DIR/lib_extra.sh"

G= # $MNT/<instance>/gpio

setup_qom() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	G=$MNT/board0/gpio
}

setup_qom_running() { setup_qom; start_running board0; }

setup_shim_running() {
	require_shim_firmware
	write_shim_config
	mount_emufs
	G=$MNT/lm/gpio
	ctl lm start
	wait_text "$MNT/lm/console" "$SHIM_BANNER" 2
	# the firmware reports its four outputs once at boot
	wait_text "$MNT/lm/shim" "GPIO 7 0" 2
}

# POLL_WAKE_PY PIN_TO_POLL PIN_TO_WRITE VALUE OPEN_QUIET: a python program
#  1. opens PIN_TO_POLL; if OPEN_QUIET is 1, polls it for POLLPRI|POLLERR
#     for 500 ms before any read (nothing changes: it must not wake, as
#     opening is not a change),
#  2. reads it (arms), polls 500 ms more (must not wake),
#  3. writes VALUE to PIN_TO_WRITE and measures from the write's return
#     to the wake-up (deadline 2 s),
#  4. lseek(0) + read: prints "OK <ms> <new content>".
POLL_WAKE_PY='
import os, select, sys, time
poll_path, write_path, value, open_quiet = sys.argv[1:5]
fd = os.open(poll_path, os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
if open_quiet == "1":
    t0 = time.monotonic()
    ev = p.poll(500)
    if ev:
        print("woke %.0f ms after open, nothing changed, no read yet: %r" %
              ((time.monotonic() - t0) * 1000, ev)); sys.exit(1)
before = os.read(fd, 16)
ev = p.poll(500)
if ev:
    print("woke after a read with nothing changed: %r (read %r)" % (ev, before)); sys.exit(1)
w = os.open(write_path, os.O_WRONLY)
os.write(w, value.encode() + b"\n")
t0 = time.monotonic()
ev = p.poll(2000)
ms = (time.monotonic() - t0) * 1000
os.close(w)
if not ev:
    print("no wake-up within 2 s of the write"); sys.exit(1)
if not ev[0][1] & select.POLLPRI:
    print("woke without POLLPRI: %r" % ev); sys.exit(1)
os.lseek(fd, 0, os.SEEK_SET)
after = os.read(fd, 16)
# re-armed: quiet again
ev = p.poll(300)
if ev:
    print("woke again after the re-arming read: %r" % ev); sys.exit(1)
print("OK %.1f %s" % (ms, after.decode().strip()))
'

# check_poll_wake PIN_TO_POLL PIN_TO_WRITE [OPEN_QUIET]: run POLL_WAKE_PY
# driving 1; the wake-up within 50 ms and the level read after it 1.
check_poll_wake() {
	local out ms level
	out=$(timeout 15 python3 -c "$POLL_WAKE_PY" "$G/$1" "$G/$2" 1 "${3:-1}") ||
		fail "poll on gpio/$1: $out"
	read -r _ ms level <<<"$out"
	note "poll on gpio/$1 woke $ms ms after the write to gpio/$2 returned"
	assert_eq 1 "$level" "gpio/$1 read after the wake-up (lseek 0 + read)"
	python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < 50)' "$ms" ||
		fail "poll on gpio/$1 woke $ms ms after the change, contract: within 50 ms"
}

# ---- qom backend ------------------------------------------------------------------

test_button_write_drives_led_and_firmware_prints_LED_1() {
	setup_qom_running
	echo 1 >"$G/button" || fail "echo 1 > gpio/button failed"
	wait_for "[ \"\$(cat '$G/led')\" = 1 ]" 1 || fail "gpio/led reads $(cat "$G/led") 1 s after button was set"
	wait_text "$MNT/board0/serial0" "LED 1" 1
	# and back
	echo 0 >"$G/button" || fail "echo 0 > gpio/button failed"
	wait_for "[ \"\$(cat '$G/led')\" = 0 ]" 1 || fail "gpio/led did not go back to 0"
	wait_text "$MNT/board0/serial0" "LED 0" 1
	# the pin files are the QOM properties
	assert_content "$MNT/board0/props/machine/soc/gpio/gpioA1" $'false\n'
	ctl board0 stop
	unmount_emufs
}

test_pin_reads_are_exactly_0_or_1_and_newline() {
	setup_qom_running
	assert_content "$G/button" $'0\n'
	assert_content "$G/led" $'0\n'
	assert_eq 2 "$(cat "$G/led" | wc -c)" "bytes read from gpio/led"
	echo 1 >"$G/button" || fail "echo 1 > gpio/button failed"
	assert_content "$G/button" $'1\n'
	wait_for "[ \"\$(cat '$G/led')\" = 1 ]" 1 || fail "gpio/led did not become 1"
	assert_content "$G/led" $'1\n'
	ctl board0 stop
	unmount_emufs
}

test_writing_an_out_pin_is_eperm_and_logged() {
	setup_qom_running
	expect_refused EPERM board0 gpio/led $'1\n' led
	expect_errno EPERM sh "echo 1 > '$G/led'"
	assert_content "$G/led" $'0\n'
	ctl board0 stop
	unmount_emufs
}

test_bad_pin_values_are_einval_and_logged() {
	setup_qom_running
	expect_refused EINVAL board0 gpio/button $'2\n' button
	expect_refused EINVAL board0 gpio/button $'yes\n' button
	expect_refused EINVAL board0 gpio/button $'\n' button
	expect_refused EINVAL board0 gpio/button $'1\n\n' button
	expect_errno EINVAL sh "echo > '$G/button'"
	expect_errno EINVAL sh "echo 2 > '$G/button'"
	# nothing was driven
	assert_content "$G/button" $'0\n'
	ctl board0 stop
	unmount_emufs
}

test_pin_access_while_stopped_is_esrch_and_writes_logged() {
	setup_qom
	expect_refused ESRCH board0 gpio/button $'1\n' button
	expect_errno ESRCH read "$G/led"
	expect_errno ESRCH read "$G/button"
	# the value is checked first, also while stopped
	expect_refused EINVAL board0 gpio/button $'2\n' button
	# and after a run
	ctl board0 start paused
	ctl board0 stop
	expect_refused ESRCH board0 gpio/button $'0\n' button
	unmount_emufs
}

# sysfs convention: poll for POLLPRI|POLLERR, then lseek(0) + read. Here
# the file is read once before polling (arming it, as sysfs users do).
test_poll_on_led_wakes_within_50ms_of_a_change_and_not_without_one() {
	setup_qom_running
	check_poll_wake led button 0
	wait_text "$MNT/board0/serial0" "LED 1" 1
	ctl board0 stop
	unmount_emufs
}

# "Opening a file does not count as a change" (docs/reference.md): a pin
# file opened and polled before its first read must not wake while the
# level stays the same.
test_poll_on_led_just_opened_does_not_wake_without_a_change() {
	setup_qom_running
	local out
	out=$(timeout 10 python3 - "$G/led" <<'EOF'
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
t0 = time.monotonic()
ev = p.poll(500)
if ev:
    print("woke %.0f ms after open with %r; the level read now is %r" %
          ((time.monotonic() - t0) * 1000, ev, os.pread(fd, 16, 0)))
    sys.exit(1)
print("OK")
EOF
) || fail "poll on a freshly opened gpio/led: $out"
	assert_content "$G/led" $'0\n'
	ctl board0 stop
	unmount_emufs
}

# ---- shim backend -----------------------------------------------------------------

test_shim_in_pin_drives_out_pin_and_console_shows_PIN_6_1() {
	setup_shim_running
	assert_content "$G/out6" $'0\n'
	assert_content "$G/in2" $'0\n'
	echo 1 >"$G/in2" || fail "echo 1 > gpio/in2 failed"
	wait_for "[ \"\$(cat '$G/out6')\" = 1 ]" 1 || fail "gpio/out6 reads $(cat "$G/out6") 1 s after in2 was set"
	assert_content "$G/out6" $'1\n'
	assert_content "$G/in2" $'1\n'
	wait_text "$MNT/lm/console" "PIN 6 1" 1
	# the shim channel's log is what the guest sent: its report, not our SET
	assert_content "$MNT/lm/shim" $'GPIO 4 0\nGPIO 5 0\nGPIO 6 0\nGPIO 7 0\nGPIO 6 1\n'
	expect_refused EPERM lm gpio/out6 $'0\n' out6
	echo 0 >"$G/in2" || fail "echo 0 > gpio/in2 failed"
	wait_for "[ \"\$(cat '$G/out6')\" = 0 ]" 1 || fail "gpio/out6 did not go back to 0"
	ctl lm stop
	unmount_emufs
}

test_shim_poll_on_out_pin_wakes_on_change() {
	setup_shim_running
	check_poll_wake out6 in2
	wait_text "$MNT/lm/console" "PIN 6 1" 1
	ctl lm stop
	unmount_emufs
}

# The firmware's `garbage` command sends two malformed lines on the shim
# channel: emufs counts them in log and goes on.
test_shim_malformed_lines_are_logged_and_not_fatal() {
	setup_shim_running
	echo garbage >"$MNT/lm/console" || fail "echo garbage > console failed"
	wait_text "$MNT/lm/console" "GARBAGE SENT" 2
	wait_text "$MNT/lm/log" '(2 so far)' 1
	assert_contains "$MNT/lm/log" '"GPIO x y" (1 so far)'
	assert_contains "$MNT/lm/log" '"XYZ" (2 so far)'
	note "log: $(grep -F 'so far' "$MNT/lm/log" | tail -n 1)"
	assert_state lm running
	# pins still work, and the levels were not disturbed
	assert_content "$G/out6" $'0\n'
	echo 1 >"$G/in2" || fail "echo 1 > gpio/in2 after the garbage failed"
	wait_for "[ \"\$(cat '$G/out6')\" = 1 ]" 1 || fail "gpio/out6 did not follow in2 after the garbage"
	wait_text "$MNT/lm/console" "PIN 6 1" 1
	ctl lm stop
	unmount_emufs
}
