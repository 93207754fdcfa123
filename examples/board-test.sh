#!/bin/sh
# board-test.sh MNT [INSTANCE]: a small test suite for the demo board that
# uses nothing but files: the way a CI job tests firmware on emufs.
# Prints one line per check and "N passed, N failed"; exits non-zero on
# any failure. It boots the board afresh and leaves it stopped.
# Example: examples/board-test.sh demo board0
#
# Every wait is one grep on a follow/ file (contract 3.8) under `timeout`:
# it returns as soon as the line is there, and fails at the deadline.
set -u
mnt=${1:?usage: board-test.sh MNT [INSTANCE]}
b=$mnt/${2:-board0}
f=$b/follow
pass=0 fail=0

check() {           # check NAME COMMAND...: run COMMAND, count the result
	name=$1; shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name"
	fi
}

state_is() { [ "$(cat "$b/state")" = "$1" ]; }
refuses() { ! sh -c "$1" 2>/dev/null; }
# answers TEXT: the shell runs `echo TEXT`; its typed echo starts with the
# prompt, so ^TEXT is the answer only.
answers() { echo "echo $1" > "$b/serial0" && timeout 5 grep -q -m1 "^$1" "$f/serial0"; }
# booted N: the run's output holds the banner N times
booted() { [ "$(timeout 10 grep -c -m"$1" 'demo ready' "$f/serial0")" = "$1" ]; }

# A fresh boot, whatever the board was doing: an autostart still on its
# way first ends (any state line but `starting`), then a running board
# stops; `start` works from stopped, exited and crashed.
state_is starting && timeout 30 grep -q -m1 -v -x starting "$f/state"
case $(cat "$b/state") in running|paused) echo stop > "$b/ctl" ;; esac
check "start"                 sh -c "echo start > '$b/ctl'"
check "state is running"      state_is running
check "boot banner"           booted 1
check "shell answers"         answers "board-test-$$"
check "machine type"          grep -qx ast2500-evb-machine "$b/props/machine/type"
check "button lights the LED" sh -c "echo 1 > '$b/gpio/button'"
check "LED on"                timeout 5 grep -q -m1 -x 1 "$f/gpio/led"
check "firmware reports it"   timeout 5 grep -q -m1 'LED on' "$f/serial0"
check "release"               sh -c "echo 0 > '$b/gpio/button'"
check "LED off"               timeout 5 grep -q -m1 -x 0 "$f/gpio/led"
check "LED is not ours"       refuses "echo 1 > '$b/gpio/led'"
check "pause"                 sh -c "echo pause > '$b/ctl'"
check "state is paused"       state_is paused
check "resume"                sh -c "echo resume > '$b/ctl'"
check "reset keeps the log"   sh -c "echo reset > '$b/ctl'"
check "booted twice"          booted 2
check "stop"                  sh -c "echo stop > '$b/ctl'"
check "state is stopped"      state_is stopped

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
