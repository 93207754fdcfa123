#!/bin/sh
# raspi3b-linux/test.sh MNT [INSTANCE]: Debian's arm64 kernel on QEMU's
# raspi3b (console on the PL011, serial0), and the GPIO shim on the mini
# UART: the guest's gpio-agent turns emufs's pins into files in /run/gpio.
# Prints one line per check and "N passed, N failed"; exits non-zero on
# any failure. Boots in 15-25 s on a 2-core machine.
set -u
b=${1:?usage: test.sh MNT [INSTANCE]}/${2:-raspi3b-linux}
. "$(dirname "$0")/../board-lib.sh"

boot_checks 120 'guest# '
type_line 'uname -m'
check "uname -m answers"        line_seen 10 '^aarch64'
# an input pin: the host drives it, the guest reads it from a file
check "drive button"            sh -c "echo 1 > '$b/gpio/button'"
# shellcheck disable=SC2016 # expanded by the guest's shell
type_line 'echo button=$(cat /run/gpio/0)'
check "guest reads button"      line_seen 10 '^button=1'
# an output pin: the guest drives it, the host reads gpio/led
type_line 'gpio-out 4 1'
check "guest lights led"        pin_becomes 10 led 1
type_line 'gpio-out 4 0'
check "guest clears led"        pin_becomes 10 led 0
check "stop"                    sh -c "echo stop > '$b/ctl'"
check "state is stopped"        state_is stopped
summary
