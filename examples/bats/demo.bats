#!/usr/bin/env bats
# demo.bats: the demo board tested in bats, with nothing but files.
# Every wait is one line through follow/, with its deadline.
# Run: make examples-test, or bats examples/bats after make demo-firmware.

load emufs

setup_file() { emufs_mount; }
teardown_file() { emufs_unmount; }

setup() {      # each test gets a freshly booted board
	echo start > "$B/ctl"
	timeout 30 grep -q -m1 'demo ready' "$B/follow/serial0"
}

teardown() {   # and leaves it stopped, whatever happened
	case $(cat "$B/state") in running|paused) echo stop > "$B/ctl" ;; esac
}

@test "the button lights the LED" {
	echo 1 > "$B/gpio/button"
	timeout 2 grep -q -m1 -x 1 "$B/follow/gpio/led"
	timeout 5 grep -q -m1 'LED on' "$B/follow/serial0"
	echo 0 > "$B/gpio/button"
	timeout 2 grep -q -m1 -x 0 "$B/follow/gpio/led"
}

@test "the shell echoes a line" {
	echo 'echo hello from bats' > "$B/serial0"
	timeout 5 grep -q -m1 '^hello from bats' "$B/follow/serial0"
}

@test "stop stops the board" {
	echo stop > "$B/ctl"
	timeout 5 grep -q -m1 -x stopped "$B/follow/state"
}
