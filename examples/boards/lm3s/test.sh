#!/bin/sh
# lm3s/test.sh MNT [INSTANCE]: a Cortex-M3 (QEMU's lm3s6965evb) running
# the shim test firmware (tests/firmware/lm3s-shim.c): console on UART0,
# the GPIO shim on UART1; the firmware mirrors input pin 2 (button) to
# output pin 6 (led). Prints one line per check and "N passed, N failed";
# exits non-zero on any failure.
set -u
b=${1:?usage: test.sh MNT [INSTANCE]}/${2:-lm3s}
. "$(dirname "$0")/../board-lib.sh"

fresh_start
check "state is running"        state_is running
check "firmware is the kernel"  image_is lm3s-shim.elf
check "boot banner"             line_seen 20 'emufs-shim-firmware ready' console
check "button up, led off"      pin_becomes 5 led 0
check "press button"            sh -c "echo 1 > '$b/gpio/button'"
check "led on"                  pin_becomes 5 led 1
check "release button"          sh -c "echo 0 > '$b/gpio/button'"
check "led off"                 pin_becomes 5 led 0
check "led is the guest's"      sh -c "! echo 1 > '$b/gpio/led' 2>/dev/null"
check "gdb reads pc"            gdb_reads_pc
check "stop"                    sh -c "echo stop > '$b/ctl'"
check "state is stopped"        state_is stopped
summary
