#!/bin/sh
# virt-linux/test.sh MNT [INSTANCE]: boots Debian's arm64 kernel on QEMU's
# virt machine and tests it with nothing but files. Prints one line per
# check and "N passed, N failed"; exits non-zero on any failure.
# Example: examples/boards/virt-linux/test.sh /mnt/emufs virt-linux
set -u
b=${1:?usage: test.sh MNT [INSTANCE]}/${2:-virt-linux}
. "$(dirname "$0")/../board-lib.sh"

# sysrq_help: magic SysRq on the console, ttyAMA0 (serial0): a BREAK, then
# the key within 5 s. `h` has no action of its own, so the kernel prints
# its help line ("sysrq: HELP : loglevel(0-9) ..."), at a level it shows
# even under `quiet`; `sysrq_always_enabled` in the config's append makes
# it independent of the kernel's default mask. The key does not reach the
# shell.
sysrq_help() {
	echo 'break serial0' >"$b/ctl" && printf h >"$b/serial0" &&
		timeout 10 grep -q -m1 -i 'sysrq: help' "$b/follow/serial0"
}

boot_checks 90 'guest# '
type_line 'uname -a'
check "uname -a answers"        line_seen 10 '^Linux .* aarch64 GNU/Linux'
check "props: machine type"     grep -qx 'virt-.*machine' "$b/props/machine/type"
check "gdb reads pc"            gdb_reads_pc
# shellcheck disable=SC2016 # expanded by the guest's shell
type_line 'echo still-$((6 * 7))'
check "runs on after gdb"       line_seen 10 '^still-42'
check "sysrq h after a break"   sysrq_help
reset_checks 90 'guest# '
type_line 'poweroff -f'
check "poweroff: exited"        state_becomes 20 exited
summary
