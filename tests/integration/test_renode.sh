# test_renode.sh - the Renode connector through a real mount (contract 2,
# 3, 3.1-3.6): lifecycle, the UART both ways, props/, gpio/, monitor, gdb.
#
# Two groups run the same cases:
#   test_renode_*       against the stand-in (tests/renode-standin/renode,
#                       first in PATH): a protocol-faithful model of
#                       Renode's robot port, not Renode;
#   test_real_renode_*  against a real `renode` found on PATH outside the
#                       stand-in's directory, with the stm32f4 test
#                       firmware; SKIP, with the reason, when there is none.
#
# The "firmware" both run (the stand-in's built-in one, or
# tests/renode-standin/firmware/stm32f4-echo.c on real Renode) prints
# RBANNER on usart2 when it starts, echoes what usart2 receives, and copies
# the user button (gpioPortA pin 0) to the user LED (gpioPortD pin 12).

STANDIN_DIR=$(cd "$TESTS_DIR/../renode-standin" && pwd)
RBANNER='emufs-renode-fw ready'
RENODE_FW=$FIRMWARE_DIR/renode/stm32f4-echo.elf

# ---- set-up ----------------------------------------------------------------

# real_renode: a renode on PATH that is not the stand-in, or nothing.
real_renode() {
	local d p IFS=:
	for d in $PATH; do
		[ "$d" = "$STANDIN_DIR" ] && continue
		p=$d/renode
		if [ -x "$p" ] && ! grep -q 'STAND-IN for Renode' "$p" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# renode_config MODE [EXTRA_TARGETS_JSON]: the config for MODE (standin or
# real) with the target "stm32" (and any further targets, JSON members in
# which @RENODE@ stands for the Renode binary) and one instance "board" of
# stm32. RENODE_TARGET_MORE (members, each ending in ',') goes into stm32,
# RENODE_SETTINGS_MORE (members, each starting with ',') into settings:
# test_slurm_renode.sh's launcher and listen. Sets RENODE_MODE and
# RENODE_BINARY.
renode_config() {
	local mode=$1 extra=${2-} platform fw=""
	if [ "$mode" = real ]; then
		RENODE_BINARY=$(real_renode) ||
			skip "no real renode on PATH (these cases ran against the stand-in)"
		[ -r "$RENODE_FW" ] || skip "no $RENODE_FW (make integration builds it)"
		platform=platforms/boards/stm32f4_discovery-kit.repl
		fw=$RENODE_FW
	else
		export PATH="$STANDIN_DIR:$PATH"
		RENODE_BINARY=renode
		platform=$STANDIN_DIR/standin-board.repl
		[ -r "$RENODE_FW" ] && fw=$RENODE_FW
	fi
	export RENODE_STANDIN_RECORD=$SCRATCH/standin
	mkdir -p "$RENODE_STANDIN_RECORD"
	RENODE_MODE=$mode
	local fwjson="" more=""
	[ -n "$fw" ] && fwjson=", \"firmware\": \"$fw\""
	[ -n "$extra" ] && more=",
    ${extra//@RENODE@/$RENODE_BINARY}"
	write_config <<EOF
{
  "settings": { "request_timeout_ms": 10000${RENODE_SETTINGS_MORE-} },
  "targets": {
    "stm32": {
      "emulator": "renode",${RENODE_TARGET_MORE-}
      "renode": { "binary": "$RENODE_BINARY", "platform": "$platform"$fwjson },
      "serial": { "serial0": "sysbus.usart2" },
      "gpio": {
        "button":     { "renode": "sysbus.gpioPortA", "pin": 0, "direction": "in" },
        "led":        { "renode": "sysbus.gpioPortD", "pin": 12, "direction": "out" },
        "userbutton": { "renode": "sysbus.gpioPortA.UserButton", "pin": 0, "direction": "in" },
        "userled":    { "renode": "sysbus.gpioPortD.UserLED", "pin": 0, "direction": "out" }
      }
    }$more
  },
  "instances": { "board": { "target": "stm32" } }
}
EOF
}

# renode_setup MODE [EXTRA_TARGETS_JSON]: renode_config, then mount.
renode_setup() {
	renode_config "$@"
	mount_emufs
}

# start the board and wait for the firmware's banner
start_board() {
	ctl board start
	assert_state board running
	wait_for "grep -qF '$RBANNER' '$MNT/board/serial0'" 10 ||
		fail "no banner in serial0 after start: $(cat -v "$MNT/board/serial0" | head -c 200)"
}

# ---- processes ---------------------------------------------------------------

# renode_pids: Renode (or the stand-in) and anything it started: emufs
# gives them a TMPDIR inside this test's state directory.
renode_pids() {
	python3 - "TMPDIR=$SCRATCH/" <<'EOF'
import os, sys
want = sys.argv[1].encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
        state = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        continue
    if state != "Z" and any(e.startswith(want) for e in env):
        print(pid)
EOF
}

no_renode_left() { [ -z "$(renode_pids)" ]; }

assert_no_renode() {
	wait_for no_renode_left "${1:-0}" ||
		fail "processes left after stop: $(renode_pids | xargs -r ps -o pid=,args= -p)"
	# and the stand-in itself, by the pids it recorded
	local pid
	for pid in $(cat "$SCRATCH/standin/pids" 2>/dev/null); do
		alive "$pid" && fail "the stand-in (pid $pid) is still running"
	done
	return 0
}

# standin_calls: the keyword calls the stand-in received (empty on real).
standin_calls() { cat "$SCRATCH/standin/calls" 2>/dev/null; }

# ---- the monitor file --------------------------------------------------------

# monitor_cmd LINE: write LINE to board/monitor and print the reply read
# back on the same open file.
monitor_cmd() {
	python3 - "$MNT/board/monitor" "$1" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (sys.argv[2] + "\n").encode())
out = b""
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    out += b
os.close(fd)
sys.stdout.write(out.decode(errors="replace"))
EOF
}

# ---- the cases ------------------------------------------------------------------

case_lifecycle() {
	renode_setup "$1"
	assert_state board stopped
	start_board
	[ -n "$(renode_pids)" ] || fail "running, but no Renode process"
	ctl board pause
	assert_state board paused
	ctl board resume
	assert_state board running
	ctl board reset
	assert_state board running
	# the machine is still there: the firmware started over (a second
	# banner, in the same serial log) and its peripherals are listed
	wait_for "[ \$(count '$MNT/board/serial0' '$RBANNER') -eq 2 ]" 10 ||
		fail "no second banner after reset: $(cat -v "$MNT/board/serial0")"
	ls "$MNT/board/props/sysbus" | grep -qx usart2 ||
		fail "after reset props/sysbus lacks usart2: $(ls "$MNT/board/props/sysbus" | tr '\n' ' ')"
	if [ "$RENODE_MODE" = standin ]; then
		standin_calls | grep -qxF $'ExecuteCommand\tmachine Reset' ||
			fail "reset did not send 'machine Reset': $(standin_calls | tr '\t\n' ' |')"
		! standin_calls | grep -q 'ResetEmulation' ||
			fail "reset used ResetEmulation"
	fi
	ctl board stop
	assert_state board stopped
	assert_no_renode
	# a new start begins a new serial log
	start_board
	assert_eq 1 "$(count "$MNT/board/serial0" "$RBANNER")" "banners after a new start"
	ctl board kill
	assert_no_renode 5
	unmount_emufs
	assert_no_renode
}

case_uart_both_ways() {
	renode_setup "$1"
	start_board
	printf 'ping-from-host\n' >"$MNT/board/serial0" ||
		fail "write to serial0 failed"
	wait_for "grep -qF ping-from-host '$MNT/board/serial0'" 5 ||
		fail "no echo in serial0: $(cat -v "$MNT/board/serial0")"
	# bytes written while paused arrive once the machine runs again
	ctl board pause
	printf 'while-paused\n' >"$MNT/board/serial0" || fail "write while paused"
	ctl board resume
	wait_for "grep -qF while-paused '$MNT/board/serial0'" 5 ||
		fail "input written while paused was lost: $(cat -v "$MNT/board/serial0")"
	[ -L "$MNT/board/serial0.pty" ] || fail "no serial0.pty while running"
	ctl board stop
	expect_errno ESRCH write "$MNT/board/serial0" "late"
	unmount_emufs
	assert_no_renode
}

case_props() {
	renode_setup "$1"
	assert_eq "" "$(ls "$MNT/board/props")" "props/ while stopped"
	start_board
	local p=$MNT/board/props
	assert_eq sysbus "$(ls "$p")" "ls props"
	local want
	for want in cpu usart2 gpioPortA gpioPortD; do
		ls "$p/sysbus" | grep -qx "$want" ||
			fail "props/sysbus lacks $want: $(ls "$p/sysbus" | tr '\n' ' ')"
	done
	[ -d "$p/sysbus/gpioPortD/UserLED" ] || fail "no props/sysbus/gpioPortD/UserLED/"
	# values for the shell: decimal, true/false
	assert_content "$p/sysbus/usart2/BaudRate" $'115200\n'
	# modes from the help text
	assert_eq 444 "$(stat -c %a "$p/sysbus/usart2/BaudRate")" "mode of get-only BaudRate"
	assert_eq 644 "$(stat -c %a "$p/sysbus/cpu/PerformanceInMips")" "mode of get/set PerformanceInMips"
	# write and read back
	echo 250 >"$p/sysbus/cpu/PerformanceInMips" || fail "write PerformanceInMips"
	assert_content "$p/sysbus/cpu/PerformanceInMips" $'250\n'
	# refusals: get-only, a value of the wrong type, a value Renode rejects
	expect_refused EACCES board props/sysbus/usart2/BaudRate 9600
	expect_refused EINVAL board props/sysbus/cpu/PerformanceInMips abc integer
	expect_refused EINVAL board props/sysbus/Endianess Sideways
	assert_content "$p/sysbus/cpu/PerformanceInMips" $'250\n'
	expect_errno ENOENT stat "$p/sysbus/usart2/NoSuchProperty"
	expect_errno ENOENT stat "$p/sysbus/nosuch"
	ctl board stop
	assert_eq "" "$(ls "$p")" "props/ after stop"
	unmount_emufs
	assert_no_renode
}

case_pins() {
	renode_setup "$1"
	local g=$MNT/board/gpio
	expect_errno ESRCH read "$g/led"
	start_board
	assert_content "$g/led" $'0\n'
	assert_content "$g/userled" $'0\n'
	echo 1 >"$g/button" || fail "write 1 to gpio/button"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 5 || fail "gpio/led did not follow the button"
	assert_content "$g/userled" $'1\n'
	assert_content "$g/button" $'1\n'
	echo 0 >"$g/button" || fail "write 0 to gpio/button"
	wait_for "[ \"\$(cat '$g/led')\" = 0 ]" 5 || fail "gpio/led stayed on"
	assert_content "$g/userled" $'0\n'
	# the button peripheral: Press / Release, read back as Pressed
	echo 1 >"$g/userbutton" || fail "write 1 to gpio/userbutton"
	assert_content "$g/userbutton" $'1\n'
	wait_for "[ \"\$(cat '$g/userled')\" = 1 ]" 5 || fail "userled did not follow UserButton"
	echo 0 >"$g/userbutton" || fail "write 0 to gpio/userbutton"
	wait_for "[ \"\$(cat '$g/led')\" = 0 ]" 5 || fail "gpio/led stayed on after release"
	expect_refused EPERM board gpio/led 1
	expect_refused EINVAL board gpio/button 2
	unmount_emufs
	assert_no_renode
}

case_monitor() {
	renode_setup "$1"
	[ -e "$MNT/board/monitor" ] || fail "no monitor file in the tree"
	start_board
	local out
	out=$(monitor_cmd "sysbus.usart2 BaudRate")
	assert_eq "0x0001C200" "$out" "monitor reply to sysbus.usart2 BaudRate"
	out=$(monitor_cmd "peripherals")
	grep -q 'usart2 (STM32_UART)' <<<"$out" ||
		fail "monitor reply to peripherals: $out"
	out=$(monitor_cmd "nosuchcommand")
	grep -q 'No such command or device: nosuchcommand' <<<"$out" ||
		fail "monitor reply to a bad command: $out"
	unmount_emufs
	assert_no_renode
}

case_gdb() {
	renode_setup "$1"
	start_board
	local addr
	addr=$(cat "$MNT/board/gdb") || fail "read gdb"
	[[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "gdb reads \"$addr\""
	python3 -c 'import socket,sys; h,p=sys.argv[1].split(":"); socket.create_connection((h,int(p)),2).close()' "$addr" ||
		fail "nothing listens on $addr"
	if [ "$RENODE_MODE" = standin ]; then
		standin_calls | grep -qF $'ExecuteCommand\tmachine StartGdbServer '"${addr#*:}"' false' ||
			fail "no StartGdbServer on ${addr#*:} false: $(standin_calls | tr '\t\n' ' |')"
	fi
	ctl board stop
	expect_errno ESRCH read "$MNT/board/gdb"
	unmount_emufs
	assert_no_renode
}

case_start_failures() {
	renode_setup "$1" '"badplat": { "emulator": "renode",
      "renode": { "binary": "@RENODE@", "platform": "'"$SCRATCH"'/no-such.repl" },
      "serial": { "serial0": "sysbus.usart2" } },
    "nobin": { "emulator": "renode",
      "renode": { "binary": "'"$SCRATCH"'/no-such-renode", "platform": "x.repl" } }'
	echo nobin >"$MNT/board/target" || fail "set target nobin"
	expect_errno EIO sh "echo start > '$MNT/board/ctl'"
	assert_contains "$MNT/board/log" "no-such-renode"
	assert_state board stopped
	echo badplat >"$MNT/board/target" || fail "set target badplat"
	expect_errno EIO sh "echo start > '$MNT/board/ctl'"
	assert_contains "$MNT/board/log" "LoadPlatformDescription"
	assert_state board stopped
	assert_no_renode 5
	unmount_emufs
}

# a target with a Renode script instead of a platform: the script makes
# and selects the machine; emufs connects the UART and starts it
case_script() {
	local plat=$STANDIN_DIR/standin-board.repl
	[ "$1" = real ] && plat=platforms/boards/stm32f4_discovery-kit.repl
	{
		echo 'mach create "scripted"'
		echo "machine LoadPlatformDescription @$plat"
		[ -r "$RENODE_FW" ] && echo "sysbus LoadELF @$RENODE_FW"
	} >"$SCRATCH/board.resc"
	renode_setup "$1" '"scripted": { "emulator": "renode",
      "renode": { "binary": "@RENODE@", "script": "'"$SCRATCH"'/board.resc" },
      "serial": { "serial0": "sysbus.usart2" } }'
	echo scripted >"$MNT/board/target" || fail "set target scripted"
	start_board
	printf 'via-script\n' >"$MNT/board/serial0" || fail "write serial0"
	wait_for "grep -qF via-script '$MNT/board/serial0'" 5 ||
		fail "no echo: $(cat -v "$MNT/board/serial0")"
	ctl board stop
	unmount_emufs
	assert_no_renode
}

# ---- against the stand-in ------------------------------------------------------

# snapshots/ (contract 3.9) through Save and Load: the pins and the
# guest come back, in the run state saved; stop/start keeps them.
case_snapshots() {
	renode_setup "$1"
	local g=$MNT/board/gpio S=$MNT/board/snapshots
	start_board
	mkdir "$S/off" || fail "mkdir snapshots/off failed: $(tail -n 1 "$MNT/board/log")"
	echo 1 >"$g/button" || fail "write 1 to gpio/button"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 5 || fail "gpio/led did not follow the button"
	ctl board load off
	assert_state board running
	assert_content "$g/button" $'0\n'
	assert_content "$g/led" $'0\n'
	printf 'after-load' >"$MNT/board/serial0" || fail "write to serial0"
	wait_for "grep -qF after-load '$MNT/board/serial0'" 5 || fail "no echo after the load"
	echo 1 >"$g/button" || fail "write 1 to gpio/button after the load"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 5 || fail "gpio/led does not follow after the load"
	ctl board pause
	mkdir "$S/on-paused" || fail "mkdir snapshots/on-paused failed"
	ctl board resume
	ctl board stop
	assert_eq "off on-paused" "$(ls "$S" | tr '\n' ' ' | sed 's/ $//')" "ls snapshots after stop"
	ctl board load on-paused
	assert_state board paused
	assert_content "$g/button" $'1\n'
	assert_content "$g/led" $'1\n'
	expect_errno ENOENT write "$MNT/board/ctl" "load nosuch"
	rmdir "$S/off" || fail "rmdir snapshots/off failed"
	assert_eq on-paused "$(ls "$S")" "ls snapshots after rmdir"
	unmount_emufs
	assert_no_renode
}

test_renode_lifecycle() { case_lifecycle standin; }
test_renode_snapshots() { case_snapshots standin; }
test_renode_uart_both_ways() { case_uart_both_ways standin; }
test_renode_props() { case_props standin; }
test_renode_pins() { case_pins standin; }
test_renode_monitor() { case_monitor standin; }
test_renode_gdb() { case_gdb standin; }
test_renode_start_failures() { case_start_failures standin; }
test_renode_script() { case_script standin; }

# Renode has no serial BREAK (docs/renode.md): `break` is EINVAL with the
# reason in log, and a 0x01 written goes out as it is (no mux to escape).
test_renode_break_is_einval_and_0x01_is_plain() {
	renode_setup standin
	start_board
	expect_errno EINVAL write "$MNT/board/ctl" "break serial0"
	grep -qF "break refused: this emulator has no serial break" "$MNT/board/log" ||
		fail "log does not say why break was refused"
	printf 'one\001two\n' >"$MNT/board/serial0" || fail "write to serial0 failed"
	wait_for "grep -qF \"\$(printf 'one\001two')\" '$MNT/board/serial0'" 5 ||
		fail "0x01 did not come back as itself: $(cat -v "$MNT/board/serial0")"
	ctl board stop
	unmount_emufs
	assert_no_renode
}

# Renode answers keywords only a while after its port file appears
# (renode/renode#654): start keeps asking until it does.
test_renode_start_waits_for_keywords() {
	export RENODE_STANDIN_READY_DELAY_MS=2000
	renode_setup standin
	start_board
	standin_calls | grep -q '^ExecuteCommand	version' ||
		fail "no version call: $(standin_calls | head -n 3 | tr '\t\n' ' |')"
	[ "$(standin_calls | grep -c '^ExecuteCommand	version')" -gt 1 ] ||
		fail "the first call was not retried"
	unmount_emufs
	assert_no_renode
}

# unmounting with the board running stops Renode
test_renode_unmount_stops_renode() {
	renode_setup standin
	start_board
	unmount_emufs
	assert_no_renode 5
}

# ---- against real Renode (SKIP when there is none) ------------------------------

test_real_renode_snapshots() { case_snapshots real; }
test_real_renode_lifecycle() { case_lifecycle real; }
test_real_renode_uart_both_ways() { case_uart_both_ways real; }
test_real_renode_props() { case_props real; }
test_real_renode_pins() { case_pins real; }
test_real_renode_monitor() { case_monitor real; }
test_real_renode_gdb() { case_gdb real; }
test_real_renode_start_failures() { case_start_failures real; }
test_real_renode_script() { case_script real; }
