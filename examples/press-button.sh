#!/bin/sh
# press-button.sh BOARD: press the demo board's button and wait for its LED.
#
# BOARD is an instance directory of a mounted emufs, e.g. demo/board0 after
# `make run`. Uses nothing but files: gpio/button is driven by the host,
# gpio/led by the guest firmware, which lights the LED while the button is
# held and says so on its UART.
set -eu
board=${1:?usage: press-button.sh BOARD}
timeout_s=${TIMEOUT:-5}

[ "$(cat "$board/state")" = running ] || { echo "board is not running" >&2; exit 1; }

wait_led() {        # wait_led LEVEL: poll gpio/led until it reads LEVEL
	tries=$((timeout_s * 20))
	while [ "$(cat "$board/gpio/led")" != "$1" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || { echo "LED did not turn $1" >&2; return 1; }
		sleep 0.05
	done
}

echo 1 > "$board/gpio/button"
wait_led 1
echo "button pressed: LED is on"
grep -q 'LED on' "$board/serial0" && echo "the firmware said so on serial0"

echo 0 > "$board/gpio/button"
wait_led 0
echo "button released: LED is off"
