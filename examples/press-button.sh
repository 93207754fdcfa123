#!/bin/sh
# press-button.sh BOARD: press the demo board's button and wait for its LED.
#
# BOARD is an instance directory of a mounted emufs, e.g. demo/board0 after
# `make run`. Uses nothing but files: gpio/button is driven by the host,
# gpio/led by the guest firmware, which lights the LED while the button is
# held and says so on its UART. Each wait is one grep on a follow/ file:
# follow/gpio/led gives the level at open, then every change.
set -eu
board=${1:?usage: press-button.sh BOARD}
timeout_s=${TIMEOUT:-5}

[ "$(cat "$board/state")" = running ] || { echo "board is not running" >&2; exit 1; }

wait_led() {        # wait_led LEVEL: until gpio/led is LEVEL, or the deadline
	timeout "$timeout_s" grep -q -m1 -x "$1" "$board/follow/gpio/led" ||
		{ echo "LED did not turn $1 within ${timeout_s}s" >&2; return 1; }
}

echo 1 > "$board/gpio/button"
wait_led 1
echo "button pressed: LED is on"
timeout "$timeout_s" grep -q -m1 'LED on' "$board/follow/serial0" &&
	echo "the firmware said so on serial0"

echo 0 > "$board/gpio/button"
wait_led 0
echo "button released: LED is off"
