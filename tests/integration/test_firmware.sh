# test_firmware.sh - the `firmware` file (contract 3.7): the image the next
# start boots, the target's own unless one was written; and the line a
# failed start leaves in `log` (issue 14.4): the emulator's own reason
# first, so `tail -n 1 log` after a failed start says what went wrong.

STANDIN_DIR=$(cd "$TESTS_DIR/../renode-standin" && pwd)
FW=$FIRMWARE_DIR/ast2500-test.elf

# the demo firmware (make demo-firmware): another image for the same
# board, with its own banner
require_demo() {
	[ -r "${DEMO_FIRMWARE-}" ] ||
		skip "no demo firmware (\$DEMO_FIRMWARE; make demo-firmware)"
}

setup_board() {
	require_qemu
	write_std_config board0 "$@"
	mount_emufs
}

test_firmware_reads_the_targets_kernel() {
	setup_board
	ls "$MNT/board0" | grep -qx firmware || fail "ls board0 does not list firmware"
	assert_content "$MNT/board0/firmware" "$FW"$'\n'
	assert_eq $(( ${#FW} + 1 )) "$(stat -c %s "$MNT/board0/firmware")" "st_size of firmware"
	unmount_emufs
}

# One target, another image: a copy of the demo firmware (a path with a
# space and a comma, which QEMU's option syntax would split) boots, and
# prints the demo's banner, not the test firmware's; an empty line goes
# back to the target's own.
test_firmware_written_image_boots_and_empty_line_goes_back() {
	require_demo
	setup_board
	local img="$SCRATCH/test images/demo, copy.elf"
	mkdir -p "$SCRATCH/test images"
	cp "$DEMO_FIRMWARE" "$img"
	echo "$img" >"$MNT/board0/firmware" || fail "echo IMAGE > firmware failed"
	assert_content "$MNT/board0/firmware" "$img"$'\n'
	assert_contains "$MNT/board0/log" "firmware set to $img"
	ctl board0 start
	wait_for "grep -qF 'demo ready' '$MNT/board0/serial0'" 5 ||
		fail "the written image did not boot: serial0 has $(cat -v "$MNT/board0/serial0" | head -c 200)"
	assert_not_contains "$MNT/board0/serial0" "$BANNER"
	ctl board0 stop
	# for the runs that follow, not just the next one
	assert_content "$MNT/board0/firmware" "$img"$'\n'
	echo >"$MNT/board0/firmware" || fail "echo > firmware failed"
	assert_content "$MNT/board0/firmware" "$FW"$'\n'
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 5 ||
		fail "the target's own image did not boot after the empty line"
	ctl board0 stop
	unmount_emufs
}

test_firmware_refuses_what_is_not_a_readable_regular_file() {
	setup_board
	mkfifo "$SCRATCH/fifo"
	cp "$FW" "$SCRATCH/img.elf"
	expect_refused EINVAL board0 firmware $'build/firmware/x.elf\n' "absolute"
	expect_refused EINVAL board0 firmware "$SCRATCH/no-such.elf"$'\n' "No such file"
	expect_refused EINVAL board0 firmware "$SCRATCH"$'\n' "directory"
	expect_refused EINVAL board0 firmware "$SCRATCH/fifo"$'\n' "regular"
	expect_refused EINVAL board0 firmware "$SCRATCH/img.elf"$'\n'"$SCRATCH/img.elf"$'\n' "one line"
	if [ "$(id -u)" -ne 0 ]; then
		chmod 000 "$SCRATCH/img.elf"
		expect_refused EINVAL board0 firmware "$SCRATCH/img.elf"$'\n' "Permission denied"
	else
		note "running as root: an unreadable file cannot be made"
	fi
	# nothing was set by any of them
	assert_content "$MNT/board0/firmware" "$FW"$'\n'
	unmount_emufs
}

test_firmware_is_ebusy_while_running_and_writable_once_crashed() {
	setup_board
	cp "$FW" "$SCRATCH/img.elf"
	ctl board0 start
	expect_refused EBUSY board0 firmware "$SCRATCH/img.elf"$'\n' "running"
	expect_errno EBUSY sh "echo '$SCRATCH/img.elf' > '$MNT/board0/firmware'"
	kill -KILL $(qemu_pids)
	wait_state board0 crashed
	expect_ok write "$MNT/board0/firmware" "$SCRATCH/img.elf"$'\n'
	assert_content "$MNT/board0/firmware" "$SCRATCH/img.elf"$'\n'
	unmount_emufs
}

# exitsatonce has no kernel (it would boot from drives): nothing to show,
# nothing to replace
test_firmware_of_a_target_without_kernel_is_empty_and_refuses_writes() {
	setup_board x=exitsatonce
	assert_content "$MNT/x/firmware" $'\n'
	expect_refused EINVAL x firmware "$FW"$'\n' "no image"
	expect_refused EINVAL x firmware $'\n' "no image"
	assert_content "$MNT/x/firmware" $'\n'
	unmount_emufs
}

test_writing_target_resets_firmware_to_the_new_targets_image() {
	setup_board
	cp "$FW" "$SCRATCH/img.elf"
	echo "$SCRATCH/img.elf" >"$MNT/board0/firmware" || fail "set firmware"
	echo ast-noreboot >"$MNT/board0/target" || fail "set target"
	assert_content "$MNT/board0/firmware" "$FW"$'\n'
	# the same target again resets it too
	echo "$SCRATCH/img.elf" >"$MNT/board0/firmware" || fail "set firmware"
	echo ast-noreboot >"$MNT/board0/target" || fail "set target again"
	assert_content "$MNT/board0/firmware" "$FW"$'\n'
	# and to a target without an image of its own: empty
	echo "$SCRATCH/img.elf" >"$MNT/board0/firmware" || fail "set firmware"
	echo exitsatonce >"$MNT/board0/target" || fail "set target exitsatonce"
	assert_content "$MNT/board0/firmware" $'\n'
	unmount_emufs
}

# ---- Renode (the stand-in, tests/renode-standin) ------------------------------

# board of target stm32 (the stand-in's platform, the test firmware as its
# ELF: the stand-in checks only the ELF magic), and target scripted (a
# script, no firmware)
setup_renode() {
	export PATH="$STANDIN_DIR:$PATH"
	export RENODE_STANDIN_RECORD=$SCRATCH/standin
	mkdir -p "$RENODE_STANDIN_RECORD"
	{
		echo 'mach create "scripted"'
		echo "machine LoadPlatformDescription @$STANDIN_DIR/standin-board.repl"
	} >"$SCRATCH/board.resc"
	write_config <<EOF
{
  "settings": { "request_timeout_ms": 10000 },
  "targets": {
    "stm32": {
      "emulator": "renode",
      "renode": { "binary": "renode", "platform": "$STANDIN_DIR/standin-board.repl",
                  "firmware": "$FW" },
      "serial": { "serial0": "sysbus.usart2" }
    },
    "scripted": {
      "emulator": "renode",
      "renode": { "binary": "renode", "script": "$SCRATCH/board.resc" },
      "serial": { "serial0": "sysbus.usart2" }
    }
  },
  "instances": { "board": { "target": "stm32" } }
}
EOF
	mount_emufs
}

test_renode_firmware_is_loaded_and_paths_the_monitor_cannot_express_are_einval() {
	setup_renode
	assert_content "$MNT/board/firmware" "$FW"$'\n'
	cp "$FW" "$SCRATCH/a;b.elf"
	cp "$FW" "$SCRATCH/tab"$'\t'"x.elf"
	cp "$FW" "$SCRATCH/img copy.elf"
	expect_refused EINVAL board firmware "$SCRATCH/a;b.elf"$'\n' "monitor"
	expect_refused EINVAL board firmware "$SCRATCH/tab"$'\t'"x.elf"$'\n' "monitor"
	# a space the monitor writes "\ ": taken, and loaded
	expect_ok write "$MNT/board/firmware" "$SCRATCH/img copy.elf"$'\n'
	ctl board start
	grep -qxF $'ExecuteCommand\tsysbus LoadELF @'"${SCRATCH// /\\ }/img\\ copy.elf" "$SCRATCH/standin/calls" ||
		fail "no LoadELF of the written image: $(grep LoadELF "$SCRATCH/standin/calls" | tr '\t\n' ' |')"
	ctl board stop
	unmount_emufs
}

test_renode_script_target_has_no_firmware() {
	setup_renode
	echo scripted >"$MNT/board/target" || fail "set target scripted"
	assert_content "$MNT/board/firmware" $'\n'
	expect_refused EINVAL board firmware "$FW"$'\n' "no image"
	unmount_emufs
}

# ---- a failed start says what the emulator said (issue 14.4) ------------------

# The image is not there when start runs (not built yet, or a `make
# clean` in between): QEMU says "could not load kernel" and exits; the
# last line of log, the failure, quotes it before emufs's own reason.
test_failed_start_log_line_quotes_the_emulators_message() {
	require_qemu
	write_std_config board0
	sed -i "s|\"kernel\": \"$FW\"|\"kernel\": \"$SCRATCH/img.elf\"|" "$CONFIG"
	mount_emufs
	expect_errno EIO write "$MNT/board0/ctl" $'start\n'
	assert_state board0 stopped
	local last
	last=$(tail -n 1 "$MNT/board0/log")
	note "log: $last"
	case $last in
	*"emufs: start failed: qemu-system-"*"could not load kernel '$SCRATCH/img.elf'"*" ("*")") ;;
	*) fail "last line of log is not the failure quoting QEMU: $last; log: $(tail -n 4 "$MNT/board0/log" | tr '\n' '|')" ;;
	esac
	[ "$(grep -c 'start failed' "$MNT/board0/log")" -eq 1 ] ||
		fail "not one 'start failed' line: $(grep 'start failed' "$MNT/board0/log" | tr '\n' '|')"
	unmount_emufs
}

# An emulator that prints its reason and exits before it connects (here a
# "renode" that cannot run): the same line shape.
test_failed_renode_start_quotes_what_renode_printed() {
	require_fuse
	cat >"$SCRATCH/renode" <<'EOF'
#!/bin/sh
echo "renode: loading Renode"
echo "renode: cannot find the .NET runtime" >&2
exit 3
EOF
	chmod +x "$SCRATCH/renode"
	write_config <<EOF
{
  "targets": {
    "broken": {
      "emulator": "renode",
      "renode": { "binary": "$SCRATCH/renode", "platform": "$STANDIN_DIR/standin-board.repl" }
    }
  }
}
EOF
	mount_emufs
	expect_errno EIO write "$MNT/broken/ctl" $'start\n'
	local last
	last=$(tail -n 1 "$MNT/broken/log")
	note "log: $last"
	case $last in
	*"emufs: start failed: renode: loading Renode; renode: cannot find the .NET runtime (Renode exited before it wrote robot_port"*) ;;
	*) fail "last line of log is not the failure quoting Renode: $last" ;;
	esac
	unmount_emufs
}

# QEMU's error and the hint after it: both, in QEMU's order.
test_failed_start_quotes_qemus_error_and_the_hint_after_it() {
	setup_board x=badmachine
	expect_errno EIO write "$MNT/x/ctl" $'start\n'
	local last
	last=$(tail -n 1 "$MNT/x/log")
	note "log: $last"
	case $last in
	*"emufs: start failed: qemu-system-"*"unsupported machine type; Use -machine help"*" (QEMU "*")") ;;
	*) fail "last line of log is not the failure quoting QEMU: $last" ;;
	esac
	unmount_emufs
}
