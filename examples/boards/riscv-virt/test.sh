#!/bin/sh
# riscv-virt/test.sh MNT [INSTANCE]: the bare-metal RISC-V guest on QEMU's
# riscv64 virt machine (riscv-virt/guest/), tested with nothing but files.
# Prints one line per check and "N passed, N failed"; exits non-zero on
# any failure.
set -u
b=${1:?usage: test.sh MNT [INSTANCE]}/${2:-riscv-virt}
. "$(dirname "$0")/../board-lib.sh"

boot_checks 20 'riscv> '
type_line 'uname -a'
check "uname -a answers"        line_seen 10 '^emufs-riscv-virt riscv64'
check "props: machine type"     grep -qx 'virt-.*machine' "$b/props/machine/type"
check "gdb reads pc"            gdb_reads_pc
reset_checks 20 'riscv> '
type_line poweroff
check "poweroff: exited"        state_becomes 10 exited
summary
