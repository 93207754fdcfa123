# test_qemu_defects.sh - defects found on real guests (issue 15), against
# a real QEMU: integers past INT64_MAX in QMP replies and writes, the
# serial BREAK (ctl `break`), and the qemu.initrd/dtb/append keys.

. "$TESTS_DIR/lib_extra.sh"

QEMU_AARCH64=${QEMU_AARCH64:-qemu-system-aarch64}

# A read that is answered "at once" takes well under the request timeout,
# which these tests set to 10 s (the defect: every such read waited it out).
QD_SETTINGS='{ "request_timeout_ms": 10000 }'

# elapsed_ms CMD...: run CMD with its output to $SCRATCH/out; the time it
# took in ms in ELAPSED, its status in STATUS.
elapsed_ms() {
	local t0=$(_now_us)
	STATUS=0
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || STATUS=$?
	ELAPSED=$(( ($(_now_us) - t0) / 1000 ))
}

# ---- integers past INT64_MAX (uint64) --------------------------------------------

# The address space's root region is 2^64 - 1 bytes long on every machine.
test_uint64_above_int64_max_reads_exact_at_once() {
	require_qemu
	write_ast_config "" "" "$QD_SETTINGS"
	mount_emufs
	ctl board0 start paused
	elapsed_ms cat "$MNT/board0/props/machine/unattached/system[0]/size"
	[ "$STATUS" -eq 0 ] || fail "cat size failed: $(head -c 200 "$SCRATCH/err")"
	assert_eq 18446744073709551615 "$(cat "$SCRATCH/out")" "props .../system[0]/size"
	[ "$ELAPSED" -lt 3000 ] || fail "the read took ${ELAPSED} ms (the request timeout is 10 s)"
	ctl board0 stop
	unmount_emufs
}

# The raw qmp file gets the reply too, with the number exact.
test_raw_qmp_reply_with_uint64_is_exact_and_at_once() {
	require_qemu
	write_ast_config "" "" "$QD_SETTINGS"
	mount_emufs
	ctl board0 start paused
	local t0=$(_now_us) out
	out=$(python3 - "$MNT/board0/qmp" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b'{"execute":"qom-get","arguments":{"path":"/machine/unattached/system[0]","property":"size"},"id":7}\n')
print(os.read(fd, 65536).decode(), end="")
PY
) || fail "raw qmp read failed"
	local ms=$(( ($(_now_us) - t0) / 1000 ))
	assert_eq '{"return":18446744073709551615,"id":7}' "$out" "raw qmp reply"
	[ "$ms" -lt 3000 ] || fail "the raw reply took ${ms} ms"
	ctl board0 stop
	unmount_emufs
}

# `grep -r . props` reads every property, the 2^64 - 1 sizes too: it must
# not wait a request timeout on any of them.
test_grep_r_props_finishes_quickly() {
	require_qemu
	write_ast_config "" "" "$QD_SETTINGS"
	mount_emufs
	ctl board0 start paused
	elapsed_ms grep -r . "$MNT/board0/props"
	grep -qx '.*/system\[0\]/size:18446744073709551615' "$SCRATCH/out" ||
		fail "grep -r does not show system[0]/size exact"
	[ "$ELAPSED" -lt 9000 ] || fail "grep -r . props took ${ELAPSED} ms"
	ctl board0 stop
	unmount_emufs
}

# A uint64 written past INT64_MAX reaches QEMU exact: rvbar of an aarch64
# CPU is writable at run time.
test_uint64_write_above_int64_max_is_exact() {
	command -v "$QEMU_AARCH64" >/dev/null 2>&1 || skip "$QEMU_AARCH64 not installed"
	write_config <<EOF
{ "targets": { "virt": { "emulator": "qemu",
    "qemu": { "binary": "$QEMU_AARCH64", "machine": "virt",
              "args": ["-cpu", "cortex-a57", "-nic", "none"] } } },
  "settings": $QD_SETTINGS,
  "instances": { "virt": { "target": "virt" } } }
EOF
	mount_emufs
	ctl virt start paused
	local f="$MNT/virt/props/machine/unattached/device[0]/rvbar"
	assert_content "$f" $'0\n'
	echo 18446744073709551615 >"$f" || fail "writing 2^64 - 1 to rvbar failed: $(tail -n 1 "$MNT/virt/log")"
	assert_content "$f" $'18446744073709551615\n'
	echo 0xfffffffffffffffe >"$f" || fail "writing 0x...fe to rvbar failed"
	assert_content "$f" $'18446744073709551614\n'
	expect_errno EINVAL write "$f" 18446744073709551616
	ctl virt stop
	unmount_emufs
}

# ---- serial BREAK and the mux escape -----------------------------------------------

running_board0() {
	require_qemu
	write_ast_config
	mount_emufs
	start_running board0
}

# Every 0x01 written to a channel reaches the guest as itself (the test
# firmware echoes every byte), and "\x01x", the mux's quit, quits nothing.
test_0x01_written_reaches_guest_and_is_no_mux_command() {
	running_board0
	local s=$MNT/board0/serial0 from
	from=$(size_of "$s")
	printf 'A\001xB\001\001c\001' >"$s" || fail "write to serial0 failed"
	wait_for "[ \$(size_of '$s') -ge $((from + 8)) ]" 5 ||
		fail "the guest did not echo 8 bytes"
	assert_eq "$(printf 'A\001xB\001\001c\001' | od -An -tx1)" \
		"$(tail -c +$((from + 1)) "$s" | head -c 8 | od -An -tx1)" "echo of the bytes"
	# still running: "\x01x" did not quit QEMU, "\x01c" switched nothing
	printf '\nping\n' >"$s"
	wait_text "$s" pong 5
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

# `break serial0` reaches the guest's 16550 as a break: QEMU's serial
# model then receives a NUL byte (LSR BI|DR), which the firmware echoes.
test_break_reaches_the_guest_uart() {
	running_board0
	local s=$MNT/board0/serial0 from
	from=$(size_of "$s")
	ctl board0 break serial0
	wait_for "[ \$(size_of '$s') -gt $from ]" 5 ||
		fail "the guest saw no break (no byte echoed)"
	assert_eq " 00" "$(tail -c +$((from + 1)) "$s" | head -c 1 | od -An -tx1)" "the byte a break gives"
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

test_break_errors() {
	require_qemu
	write_ast_config
	mount_emufs
	expect_errno ESRCH write "$MNT/board0/ctl" "break serial0"
	log_mentions board0 "break refused: the instance is stopped" ||
		fail "log does not say why break was refused"
	start_running board0
	expect_errno EINVAL write "$MNT/board0/ctl" "break nosuch"
	log_mentions board0 'break refused: no channel "nosuch"' ||
		fail "log does not name the unknown channel"
	expect_errno EINVAL write "$MNT/board0/ctl" "break"
	expect_errno EINVAL write "$MNT/board0/ctl" "break serial0 serial0"
	ctl board0 break serial0
	assert_state board0 running
	ctl board0 stop
	unmount_emufs
}

# ---- qemu.initrd, qemu.dtb, qemu.append --------------------------------------------

# write_kernel_config [EXTRA_QEMU_KEYS]: target "virt" (qemu-system-arm
# virt) booting loop.bin, a raw kernel that spins (QEMU loads it, its
# initrd and dtb as for Linux), with files next to the config and every
# path in it relative.
write_kernel_config() {
	printf '\376\377\377\352' >"$SCRATCH/loop.bin"       # b .
	head -c 4096 /dev/zero >"$SCRATCH/initrd.img"
	"$QEMU_ARM" -M virt,dumpdtb="$SCRATCH/virt.dtb" -display none \
		-nic none >/dev/null 2>&1
	[ -s "$SCRATCH/virt.dtb" ] || fail "could not dump virt's dtb"
	write_config <<EOF
{ "targets": { "virt": { "emulator": "qemu",
    "qemu": { "binary": "$QEMU_ARM", "machine": "virt", "kernel": "loop.bin",
              "args": ["-nic", "none"]${1-} } } } }
EOF
}

# The paths are the config's directory's, not QEMU's working directory
# (/), as inside args; QEMU got them (its machine properties say so).
test_initrd_dtb_append_keys_reach_qemu_resolved() {
	require_qemu
	write_kernel_config ', "initrd": "initrd.img", "dtb": "./virt.dtb",
              "append": "console=ttyAMA0 emufs-test=1"'
	mount_emufs
	ctl virt start paused
	local m=$MNT/virt/props/machine
	assert_content "$m/initrd" "$SCRATCH/initrd.img"$'\n'
	assert_content "$m/dtb" "$SCRATCH/virt.dtb"$'\n'
	assert_content "$m/append" $'console=ttyAMA0 emufs-test=1\n'
	assert_content "$m/kernel" "$SCRATCH/loop.bin"$'\n'
	ctl virt stop
	unmount_emufs
}

# expect_refused_config TEXT: the config is refused before mounting, exit
# status 2, one line naming TEXT.
expect_refused_config() {
	local rc=0
	timeout 10 "$EMUFS" -f -c "$CONFIG" "$MNT" >/dev/null \
		2>"$SCRATCH/stderr" || rc=$?
	is_mounted "$MNT" && fail "the bad config was mounted"
	assert_eq 2 "$rc" "exit status for a bad config ($(cat "$SCRATCH/stderr"))"
	grep -qF -- "$1" "$SCRATCH/stderr" ||
		fail "message does not name \"$1\": $(cat "$SCRATCH/stderr")"
}

test_initrd_dtb_append_are_checked_at_load() {
	require_qemu
	mkdir -p "$MNT"
	write_kernel_config ', "initrd": "no-such.img"'
	expect_refused_config "targets.virt.qemu.initrd: expected a readable file, got \"$SCRATCH/no-such.img\""
	write_kernel_config ', "dtb": "."'
	expect_refused_config "targets.virt.qemu.dtb: expected a readable file"
	write_kernel_config ', "append": ["a"]'
	expect_refused_config "targets.virt.qemu.append: expected a string"
}

# ---- modes of properties QEMU refuses ----------------------------------------------

mode_of() { stat -c %a -- "$1"; }

# legacy-memory is listed in qom-list like any str property, but QEMU
# neither reads nor writes it. QOM does not say so over QMP: the mode
# loses what QEMU refused, for the rest of the run.
test_refused_property_mode_says_what_it_allows() {
	require_qemu
	write_ast_config
	mount_emufs
	ctl board0 start paused
	local f=$MNT/board0/props/machine/soc/legacy-memory
	local t=$MNT/board0/props/machine/soc/type
	expect_errno EACCES read "$f"
	assert_eq 200 "$(mode_of "$f")" "mode of legacy-memory after a refused read"
	expect_errno EACCES write "$t" x
	assert_eq 444 "$(mode_of "$t")" "mode of type after a refused write"
	assert_eq 644 "$(mode_of "$MNT/board0/props/machine/soc/gpio/gpioA0")" "mode of gpioA0"
	ctl board0 stop
	unmount_emufs
}
