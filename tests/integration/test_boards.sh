# test_boards.sh - the example boards of examples/boards/ boot real guests
# (issue 15): each board's own test.sh, which uses nothing but files, runs
# against a mount of that board's own config, examples/boards/NAME/
# board.json as it is (it names the guest kit of `make guest-kit`, which
# `make integration` depends on, relative to itself). The checks each
# script makes are counted, so a check that stops running is a failure
# too. What each board costs is in docs/boards.md.
#
# A missing kit fails (it is part of the build); a missing emulator binary
# skips, naming the package (`make deps` installs it).
#
# Linux boots take 5-25 s on a loaded 2-core machine, more than the
# runner's default limit allows for two of them:
# integration-timeout: 240

BOARDS=$(cd "$TESTS_DIR/../../examples/boards" && pwd)

# mount_board NAME BINARY PACKAGE: emufs mounted on board NAME's config.
# The kit's files it names are checked first, so that a missing kit says
# what makes it (emufs itself would refuse a missing initrd or dtb, but
# not a missing kernel, until start).
mount_board() {
	local f
	command -v "$2" >/dev/null 2>&1 ||
		skip "$2 is not installed (package $3; make deps installs it)"
	CONFIG=$BOARDS/$1/board.json
	while IFS= read -r f; do
		case $f in /*) ;; *) f=$BOARDS/$1/$f ;; esac
		[ -r "$f" ] ||
			fail "no guest kit: $1's $f is missing (make guest-kit)"
	done < <(python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["targets"].values():
	for k in ("kernel", "initrd", "dtb"):
		if k in t["qemu"]: print(t["qemu"][k])' "$CONFIG")
	mount_emufs
}

# run_board NAME CHECKS: examples/boards/NAME/test.sh passes, all CHECKS
# of its checks.
run_board() {
	local out
	out=$("$BOARDS/$1/test.sh" "$MNT" "$1" 2>&1)
	note "$1/test.sh: $(tr '\n' '|' <<<"$out")"
	case $out in
	*$'\n'"$2 passed, 0 failed") ;;
	*) fail "$1/test.sh: $(grep '^FAIL' <<<"$out" | tr '\n' ' ')($(tail -n 1 <<<"$out"), expected $2 passed); serial0 ends: $(tail -c 200 "$MNT/$1/serial0" 2>&1 | cat -v | tr '\n' '|')" ;;
	esac
}

# virt: boot to the prompt, uname -a, props, gdb reads pc, magic SysRq h
# after a `break serial0` prints the kernel's help line, reset boots
# again, poweroff -f ends QEMU with status 0 (PSCI SYSTEM_OFF): exited.
test_virt_linux_boots_answers_resets_and_powers_off() {
	mount_board virt-linux qemu-system-aarch64 qemu-system-arm
	run_board virt-linux 12
	assert_state virt-linux exited
	assert_eq 2 "$(count "$MNT/virt-linux/serial0" EMUFS-GUEST-READY)" "boots in serial0"
	assert_contains "$MNT/virt-linux/log" "exited with status 0"
	unmount_emufs
}

# raspi3b: the one boot (the dearest of the boards) tests the prompt, a
# command, and both directions of shim pins through the guest's agent.
test_raspi3b_linux_boots_with_shim_pins() {
	mount_board raspi3b-linux qemu-system-aarch64 qemu-system-arm
	run_board raspi3b-linux 10
	assert_contains "$MNT/raspi3b-linux/shim" "GPIO 4 1"
	unmount_emufs
}

test_riscv_virt_boots_answers_resets_and_powers_off() {
	mount_board riscv-virt qemu-system-riscv64 qemu-system-misc
	run_board riscv-virt 10
	assert_state riscv-virt exited
	unmount_emufs
}

test_lm3s_shim_pins_follow_the_firmware() {
	mount_board lm3s qemu-system-arm qemu-system-arm
	run_board lm3s 12
	unmount_emufs
}
