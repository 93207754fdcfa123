# test_props.sh - props/ (contract 3.4, issue 4): the QOM tree of a real
# QEMU ast2500-evb running the test firmware, read and written as files.
#
# Tests that only look at QOM start the machine paused (`start paused`):
# QOM is the same, and a paused QEMU does not busy-poll a host core.

. "$TESTS_DIR/lib_extra.sh"

P= # $MNT/board0/props

setup_board() {
	require_qemu
	write_ast_config
	mount_emufs
	P=$MNT/board0/props
}

setup_paused() { setup_board; ctl board0 start paused; }

setup_running() { setup_board; start_running board0; }

# ---- reading --------------------------------------------------------------------

test_ls_R_of_gpio_controller_lists_gpioA0() {
	setup_paused
	ls -R "$P/machine/soc/gpio" >"$SCRATCH/ls.out" 2>"$SCRATCH/ls.err" ||
		fail "ls -R props/machine/soc/gpio: $(head -c 300 "$SCRATCH/ls.err")"
	grep -qx gpioA0 "$SCRATCH/ls.out" || fail "ls -R does not list gpioA0: $(head -c 300 "$SCRATCH/ls.out" | tr '\n' ' ')"
	grep -qx gpioA1 "$SCRATCH/ls.out" || fail "ls -R does not list gpioA1"
	[ -f "$P/machine/soc/gpio/gpioA0" ] || fail "gpioA0 is not a regular file"
	[ -d "$P/machine/soc" ] || fail "props/machine/soc (a child<>) is not a directory"
	ctl board0 stop
	unmount_emufs
}

test_string_property_reads_as_is() {
	setup_paused
	assert_content "$P/machine/type" $'ast2500-evb-machine\n'
	ctl board0 stop
	unmount_emufs
}

test_int_property_reads_as_decimal() {
	setup_paused
	local v
	v=$(cat "$P/machine/soc/hw-strap1") || fail "cat props/machine/soc/hw-strap1 failed"
	assert_match '[0-9]+' "$v" "props/machine/soc/hw-strap1"
	# a known value: the board's 512 MiB of RAM
	assert_content "$P/machine/soc/ram-size" $'536870912\n'
	ctl board0 stop
	unmount_emufs
}

test_bool_property_reads_true_or_false() {
	setup_paused
	assert_content "$P/machine/soc/gpio/gpioA1" $'false\n'
	assert_content "$P/machine/soc/realized" $'true\n'
	ctl board0 stop
	unmount_emufs
}

test_property_reads_with_python_and_head_c() {
	setup_paused
	local out
	out=$(python3 -c 'import sys; print(repr(open(sys.argv[1]).read()))' "$P/machine/type") ||
		fail "python open().read() of props/machine/type failed"
	assert_eq "'ast2500-evb-machine\\n'" "$out" "python open().read()"
	assert_eq ast "$(head -c 3 "$P/machine/type")" "head -c 3 props/machine/type"
	# reads in small pieces add up to the value
	assert_eq ast2500-evb-machine "$(dd if="$P/machine/type" bs=2 status=none)" "dd bs=2"
	ctl board0 stop
	unmount_emufs
}

# ---- writing --------------------------------------------------------------------

test_bool_write_accepts_1_true_on_and_reads_back_true() {
	setup_paused
	local a0=$P/machine/soc/gpio/gpioA0 v
	for v in 1 true on; do
		echo "$v" >"$a0" || fail "echo $v > gpioA0 failed"
		assert_content "$a0" $'true\n'
		echo 0 >"$a0" || fail "echo 0 > gpioA0 failed"
		assert_content "$a0" $'false\n'
	done
	for v in TRUE yes; do
		expect_ok write "$a0" "$v"
		assert_content "$a0" $'true\n'
		expect_ok write "$a0" off
		assert_content "$a0" $'false\n'
	done
	ctl board0 stop
	unmount_emufs
}

# Integers: decimal or 0x hex in, decimal out; anything else EINVAL.
test_int_write_accepts_decimal_and_hex_and_reads_back_decimal() {
	setup_paused
	local f=$P/machine/phandle-start
	echo 0x20 >"$f" || fail "echo 0x20 > props/machine/phandle-start failed"
	assert_content "$f" $'32\n'
	echo 4660 >"$f" || fail "echo 4660 > props/machine/phandle-start failed"
	assert_content "$f" $'4660\n'
	expect_refused EINVAL board0 props/machine/phandle-start $'1.5\n' phandle-start
	expect_refused EINVAL board0 props/machine/phandle-start $'0x\n' phandle-start
	expect_refused EINVAL board0 props/machine/phandle-start $'ten\n' phandle-start
	assert_content "$f" $'4660\n'
	ctl board0 stop
	unmount_emufs
}

# Strings: as written less one trailing newline. Other types: JSON.
test_string_and_json_writes_read_back() {
	setup_paused
	local f=$P/machine/append
	echo 'console=ttyS4 quiet' >"$f" || fail "echo ... > props/machine/append failed"
	assert_content "$f" $'console=ttyS4 quiet\n'
	# one write(2) of "two\n\n": only one newline is taken off
	expect_ok write "$f" $'two\n\n'
	assert_content "$f" $'two\n\n'
	expect_ok write "$f" 'no newline'
	assert_content "$f" $'no newline\n'
	# a struct property: compact JSON out, JSON in
	assert_content "$P/machine/boot" $'{"order":""}\n'
	echo '{"order": "c"}' >"$P/machine/boot" || fail "echo JSON > props/machine/boot failed"
	assert_content "$P/machine/boot" $'{"order":"c"}\n'
	ctl board0 stop
	unmount_emufs
}

# The firmware mirrors input A0 to output A1 and reports it on serial0.
test_gpioA0_write_is_mirrored_to_gpioA1_and_led_line() {
	setup_running
	assert_content "$P/machine/soc/gpio/gpioA1" $'false\n'
	echo true >"$P/machine/soc/gpio/gpioA0" || fail "echo true > gpioA0 failed"
	wait_for "[ \"\$(cat '$P/machine/soc/gpio/gpioA1')\" = true ]" 1 ||
		fail "gpioA1 reads $(cat "$P/machine/soc/gpio/gpioA1") 1 s after gpioA0 was set"
	wait_text "$MNT/board0/serial0" "LED 1" 1
	ctl board0 stop
	unmount_emufs
}

test_bad_bool_is_einval_and_logged() {
	setup_paused
	expect_refused EINVAL board0 props/machine/soc/gpio/gpioA0 $'maybe\n' gpioA0
	expect_errno EINVAL sh "echo maybe > '$P/machine/soc/gpio/gpioA0'"
	assert_content "$P/machine/soc/gpio/gpioA0" $'false\n'
	ctl board0 stop
	unmount_emufs
}

test_read_only_property_is_eacces_and_logged() {
	setup_paused
	expect_refused EACCES board0 props/machine/type $'x\n' type
	expect_errno EACCES sh "echo x > '$P/machine/type'"
	assert_content "$P/machine/type" $'ast2500-evb-machine\n'
	ctl board0 stop
	unmount_emufs
}

# ---- links and names ------------------------------------------------------------

test_link_property_is_a_relative_symlink_cd_follows() {
	setup_paused
	local dram=$P/machine/soc/dram target
	[ -L "$dram" ] || fail "props/machine/soc/dram is not a symlink: $(ls -ld "$dram")"
	target=$(readlink "$dram")
	case $target in
	/*|'') fail "readlink props/machine/soc/dram: \"$target\", expected a relative path" ;;
	esac
	note "dram -> $target"
	# it resolves inside props/ to the object's directory
	local real
	real=$(realpath "$dram") || fail "realpath of dram failed"
	case $real in "$P"/*) ;; *) fail "dram resolves to $real, outside props/" ;; esac
	[ -d "$real" ] || fail "dram -> $target is not a directory"
	( cd "$dram" || exit 1
	  ls >"$SCRATCH/ls.out" || exit 1
	  cat type >"$SCRATCH/type.out" || exit 1 ) || fail "cd props/machine/soc/dram; ls; cat type failed"
	grep -qx type "$SCRATCH/ls.out" || fail "ls in dram does not list type: $(tr '\n' ' ' <"$SCRATCH/ls.out")"
	grep -qx size "$SCRATCH/ls.out" || fail "ls in dram does not list size"
	assert_content "$SCRATCH/type.out" $'memory-region\n'
	ctl board0 stop
	unmount_emufs
}

test_names_with_brackets_work() {
	setup_paused
	local d="$P/machine/unattached/device[0]"
	[ -d "$d" ] || fail "no directory props/machine/unattached/device[0]"
	ls "$P/machine/unattached" | grep -qxF 'device[0]' || fail "ls unattached does not list device[0]"
	ls "$d" | grep -qx type || fail "ls device[0] does not list type"
	local t
	t=$(cat "$d/type") || fail "cat device[0]/type failed"
	[ -n "$t" ] || fail "device[0]/type is empty"
	note "device[0] is a $t"
	assert_content "$P/machine/soc/cpu[0]/type" $'arm1176-arm-cpu\n'
	ctl board0 stop
	unmount_emufs
}

# ---- lifetime ---------------------------------------------------------------------

test_props_is_empty_when_stopped_and_after_stop() {
	setup_board
	[ -d "$P" ] || fail "no props/ directory while stopped"
	assert_eq "" "$(ls -A "$P")" "ls -A props/ before start"
	expect_errno ENOENT stat "$P/machine"
	ctl board0 start paused
	ls "$P" | grep -qx machine || fail "props/ does not list machine while running"
	ctl board0 stop
	assert_eq "" "$(ls -A "$P")" "ls -A props/ after stop"
	expect_errno ENOENT stat "$P/machine/type"
	expect_errno ENOENT read "$P/machine/type"
	unmount_emufs
}

# An object deleted while running takes its properties with it.
test_props_of_a_removed_object_are_enoent() {
	setup_paused
	local out
	out=$(python3 - "$MNT/board0/qmp" <<'EOF'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, json.dumps({"execute": "object-add", "arguments":
    {"qom-type": "secret", "id": "s0", "data": "hello"}}).encode())
print(os.read(fd, 4096).decode().strip())
EOF
) || fail "object-add through qmp failed: $out"
	assert_eq '{"return":{}}' "$out" "reply to object-add"
	assert_content "$P/objects/s0/type" $'secret\n'
	assert_content "$P/objects/s0/data" $'hello\n'
	out=$(python3 - "$MNT/board0/qmp" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b'{"execute": "object-del", "arguments": {"id": "s0"}}')
print(os.read(fd, 4096).decode().strip())
EOF
) || fail "object-del through qmp failed: $out"
	assert_eq '{"return":{}}' "$out" "reply to object-del"
	expect_errno ENOENT read "$P/objects/s0/type"
	expect_errno ENOENT read "$P/objects/s0/data"
	# the listing follows within its 1 s cache
	wait_for "! ls '$P/objects' | grep -qx s0" 2 || fail "props/objects still lists s0"
	ctl board0 stop
	unmount_emufs
}

# docs/reference.md: every path below props/ is ENOENT while not running;
# a file opened while running and written after the run ended is ESRCH.
test_property_write_while_stopped_is_enoent_or_esrch_through_an_old_open_file() {
	setup_paused
	local a0=$P/machine/soc/gpio/gpioA0
	exec 3>"$a0" || fail "cannot open gpioA0 for writing"
	ctl board0 stop
	log_settle board0
	local before
	before=$(log_lines board0)
	# shellcheck disable=SC2320
	local err
	err=$( { echo 1 >&3; } 2>&1 ) && fail "write through a file opened while running succeeded after stop"
	exec 3>&-
	case $err in *"No such process"*) ;; *) fail "write after stop: \"$err\", expected ESRCH (No such process)" ;; esac
	[ "$(log_lines board0)" -eq $((before + 1)) ] ||
		fail "the refused write after stop added $(( $(log_lines board0) - before )) log lines, expected 1"
	note "log: $(tail -n 1 "$MNT/board0/log")"
	# a new open finds nothing: props/ is empty
	expect_errno ENOENT write "$a0" $'1\n'
	expect_errno ENOENT sh "echo 1 > '$a0'"
	unmount_emufs
}
