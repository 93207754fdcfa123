#!/bin/sh
# board-test.sh MNT [INSTANCE]: a small test suite for the demo board that
# uses nothing but files: the way a CI job tests firmware on emufs.
# Prints one line per check and "N passed, N failed"; exits non-zero on
# any failure. Example: examples/board-test.sh demo board0
set -u
mnt=${1:?usage: board-test.sh MNT [INSTANCE]}
b=$mnt/${2:-board0}
pass=0 fail=0

check() {           # check NAME COMMAND...: run COMMAND, count the result
	name=$1; shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name"
	fi
}

until_true() {      # until_true SECONDS COMMAND...: retry every 0.1 s
	n=$(($1 * 10)); shift
	while ! "$@"; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1
	done
}

booted() { grep -q 'demo ready' "$b/serial0"; }
led_is() { [ "$(cat "$b/gpio/led")" = "$1" ]; }
answers() { echo "echo $1" > "$b/serial0" && until_true 5 grep -q "^$1" "$b/serial0"; }
state_is() { [ "$(cat "$b/state")" = "$1" ]; }
refuses() { ! sh -c "$1" 2>/dev/null; }

# A fresh boot, whatever the board was doing.
[ "$(cat "$b/state")" = stopped ] || echo stop > "$b/ctl"
check "start"                 sh -c "echo start > '$b/ctl'"
check "state is running"      state_is running
check "boot banner"           until_true 5 booted
check "shell answers"         answers "board-test-$$"
check "machine type"          grep -qx ast2500-evb-machine "$b/props/machine/type"
check "button lights the LED" sh -c "echo 1 > '$b/gpio/button'"
check "LED on"                until_true 5 led_is 1
check "firmware reports it"   until_true 5 grep -q 'LED on' "$b/serial0"
check "release"               sh -c "echo 0 > '$b/gpio/button'"
check "LED off"               until_true 5 led_is 0
check "LED is not ours"       refuses "echo 1 > '$b/gpio/led'"
check "pause"                 sh -c "echo pause > '$b/ctl'"
check "state is paused"       state_is paused
check "resume"                sh -c "echo resume > '$b/ctl'"
check "reset keeps the log"   sh -c "echo reset > '$b/ctl'"
check "booted twice"          until_true 5 sh -c "[ \$(grep -c 'demo ready' '$b/serial0') -ge 2 ]"
check "stop"                  sh -c "echo stop > '$b/ctl'"
check "state is stopped"      state_is stopped

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
