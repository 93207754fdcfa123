#!/bin/sh
# virt-linux/test.sh MNT [INSTANCE]: boots Debian's arm64 kernel on QEMU's
# virt machine and tests it with nothing but files. Prints one line per
# check and "N passed, N failed"; exits non-zero on any failure.
# Example: examples/boards/virt-linux/test.sh /mnt/emufs virt-linux
set -u
b=${1:?usage: test.sh MNT [INSTANCE]}/${2:-virt-linux}
. "$(dirname "$0")/../board-lib.sh"

boot_checks 90 'guest# '
type_line 'uname -a'
check "uname -a answers"        line_seen 10 '^Linux .* aarch64 GNU/Linux'
check "props: machine type"     grep -qx 'virt-.*machine' "$b/props/machine/type"
check "gdb reads pc"            gdb_reads_pc
# shellcheck disable=SC2016 # expanded by the guest's shell
type_line 'echo still-$((6 * 7))'
check "runs on after gdb"       line_seen 10 '^still-42'
reset_checks 90 'guest# '
type_line 'poweroff -f'
check "poweroff: exited"        state_becomes 20 exited
summary
