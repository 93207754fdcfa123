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
