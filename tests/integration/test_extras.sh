# test_extras.sh - issue 7: preconfig files, per-run drive overlays, the
# events log, the raw qmp file and the gdb address (contract 2, 3, 3.6).

. "$TESTS_DIR/lib_extra.sh"

setup_board() {
	require_qemu
	write_ast_config "$@"
	mount_emufs
}

setup_running() { setup_board "$@"; start_running board0; }

# qmp_py: a python helper on the qmp file. `qmp_call QMPFILE JSON` writes
# one command on a fresh O_RDWR open file and prints what one read returns.
qmp_call() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, sys.argv[2].encode())
sys.stdout.write(os.read(fd, 1 << 20).decode())
EOF
}

# ---- preconfig ------------------------------------------------------------------

test_preconfig_sets_a_property_before_the_machine_runs() {
	cat >"$SCRATCH/board.qmp" <<'EOF'
# the machine's dtb dump path, set while QEMU is in --preconfig

qom-set path=/machine property=dumpdtb value=/x/y.dtb
EOF
	# a path relative to the config file's directory
	setup_running ', "preconfig": "board.qmp"'
	assert_content "$MNT/board0/props/machine/dumpdtb" $'/x/y.dtb\n'
	ctl board0 stop
	unmount_emufs
}

test_bad_preconfig_line_fails_start_with_eio_and_names_file_and_line() {
	cat >"$SCRATCH/bad.qmp" <<'EOF'
# line 2 is good, line 3 is not
qom-set path=/machine property=dumpdtb value=/x/y.dtb
qom-set path=/machine property=nonexistent value=1
qom-set path=/machine property=dumpdtb value=/never/reached.dtb
EOF
	setup_board ', "preconfig": "bad.qmp"'
	log_settle board0
	local before
	before=$(log_lines board0)
	expect_errno EIO write "$MNT/board0/ctl" $'start\n'
	# start returns once the failed run is over: no QEMU is left
	assert_no_qemu
	assert_state board0 stopped
	[ "$(log_lines board0)" -gt "$before" ] || fail "nothing appended to log"
	local line
	line=$(grep -F 'bad.qmp:3:' "$MNT/board0/log" | tail -n 1)
	[ -n "$line" ] || fail "log does not name bad.qmp:3: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	grep -qF GenericError <<<"$line" || fail "log line does not give QEMU's error class: $line"
	grep -qF nonexistent <<<"$line" || fail "log line does not give QEMU's error: $line"
	note "log: $line"
	# the same again (the instance is usable), and with the shell's wording
	expect_errno EIO sh "echo start > '$MNT/board0/ctl'"
	assert_no_qemu
	unmount_emufs
}

# ---- drive overlays -------------------------------------------------------------

# The base is never written: the run writes into a fresh qcow2 overlay in
# the state directory, which is deleted when the run ends.
test_overlay_drive_is_per_run_and_leaves_base_untouched() {
	command -v qemu-img >/dev/null 2>&1 || skip "qemu-img not installed"
	qemu-img create -q -f raw "$SCRATCH/flash.img" 32M || fail "qemu-img create failed"
	local sum0
	sum0=$(sha256sum <"$SCRATCH/flash.img")
	setup_running ', "drives": [ { "file": "flash.img", "format": "raw", "if": "mtd", "overlay": true } ]'
	local overlays
	overlays=$(find "$STATE_DIR" -name '*.qcow2')
	[ "$(wc -w <<<"$overlays")" -eq 1 ] || fail "expected one qcow2 overlay in the state dir, found: $overlays"
	note "overlay: ${overlays#"$STATE_DIR"/}"
	qemu-img info -U "$overlays" >"$SCRATCH/info.out" 2>&1 || fail "qemu-img info of the overlay: $(cat "$SCRATCH/info.out")"
	grep -q '^file format: qcow2' "$SCRATCH/info.out" || fail "overlay is not qcow2: $(cat "$SCRATCH/info.out")"
	grep -qF "flash.img" "$SCRATCH/info.out" || fail "overlay's backing file is not flash.img: $(cat "$SCRATCH/info.out")"
	# Write 64 KiB of 0xab through QEMU's block layer (HMP qemu-io, as the
	# guest's flash controller would), flush, and read it back. qemu-io
	# prints on QEMU's stdout, which is in log.
	local dev
	dev=$(python3 - "$MNT/board0/qmp" <<'EOF'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b'{"execute": "query-block"}')
blk = json.loads(os.read(fd, 1 << 20))["return"]
dev = [b["device"] for b in blk if b.get("inserted", {}).get("file", "").endswith(".qcow2")]
print(dev[0] if len(dev) == 1 else "none: %r" % blk)
EOF
)
	assert_match '[a-z]+[0-9]+' "$dev" "the drive on the overlay (query-block)"
	local off
	off=$(size_of "$MNT/board0/log")
	qemu_io_hmp "$dev" "write -P 0xab 0 65536" "wrote 65536/65536" "$off"
	qemu_io_hmp "$dev" "flush" "" "$off"
	qemu_io_hmp "$dev" "read -P 0xab 0 65536" "read 65536/65536" "$off"
	# the write is in the overlay file, not in the base
	if command -v qemu-io >/dev/null 2>&1; then
		qemu-io -U -r -f qcow2 -c 'read -P 0xab 0 65536' "$overlays" >"$SCRATCH/io.out" 2>&1 ||
			fail "qemu-io on the overlay: $(cat "$SCRATCH/io.out")"
		! grep -qi 'verification failed' "$SCRATCH/io.out" ||
			fail "the overlay file does not hold the write: $(cat "$SCRATCH/io.out")"
	fi
	assert_eq "$sum0" "$(sha256sum <"$SCRATCH/flash.img")" "sha256 of the base while running, after a write"
	ctl board0 stop
	[ ! -e "$overlays" ] || fail "overlay ${overlays#"$STATE_DIR"/} still exists after stop"
	assert_eq "" "$(find "$STATE_DIR" -name '*.qcow2')" "qcow2 files in the state dir after stop"
	assert_eq "$sum0" "$(sha256sum <"$SCRATCH/flash.img")" "sha256 of the base after stop"
	# a new run gets a fresh overlay: it reads the base's zeros again
	start_running board0
	off=$(size_of "$MNT/board0/log")
	qemu_io_hmp "$dev" "read -P 0 0 65536" "read 65536/65536" "$off"
	ctl board0 stop
	unmount_emufs
}

# qemu_io_hmp DEVICE 'QEMU-IO COMMAND' EXPECT LOG_OFFSET: run it through
# the qmp file (HMP qemu-io); its output goes to QEMU's stdout, so to log:
# wait until log past LOG_OFFSET has EXPECT, and no failed verification.
qemu_io_hmp() {
	local out
	out=$(qmp_call "$MNT/board0/qmp" "$(printf '{"execute": "human-monitor-command", "arguments": {"command-line": "qemu-io %s \\"%s\\""}}' "$1" "$2")")
	case $out in
	*'"return"'*) ;;
	*) fail "HMP qemu-io $1 \"$2\": $out" ;;
	esac
	[ -z "$3" ] && return 0
	wait_for "tail -c +$(($4 + 1)) '$MNT/board0/log' | grep -qF '$3'" 2 ||
		fail "no \"$3\" in log after qemu-io $2: $(tail -c +$(($4 + 1)) "$MNT/board0/log" | tr '\n' '|')"
	! tail -c +$(($4 + 1)) "$MNT/board0/log" | grep -qiE 'verification failed|error' ||
		fail "qemu-io $2: $(tail -c +$(($4 + 1)) "$MNT/board0/log" | tr '\n' '|')"
}

# ---- events ---------------------------------------------------------------------

test_events_has_STOP_and_RESUME_after_pause_and_resume() {
	setup_running
	ctl board0 pause
	wait_for 'has_event board0 STOP' 2 || fail "no STOP in events: $(events_of board0 | tr '\n' ' ')"
	ctl board0 resume
	# RESUME after the STOP (the first RESUME is from start's cont)
	wait_for '[ "$(events_of board0 | grep -xE "STOP|RESUME" | tr "\n" " ")" = "RESUME STOP RESUME " ]' 2 ||
		fail "STOP/RESUME sequence in events: $(events_of board0 | tr '\n' ' ')"
	! events_of board0 | grep -q '^BADJSON' || fail "events has a line that is not JSON: $(events_of board0 | grep BADJSON)"
	ctl board0 stop
	unmount_emufs
}

# ---- qmp ----------------------------------------------------------------------

test_two_open_qmp_files_each_get_their_own_reply() {
	setup_running
	local out
	out=$(timeout 10 python3 - "$MNT/board0/qmp" <<'EOF'
import json, os, sys
a = os.open(sys.argv[1], os.O_RDWR)
b = os.open(sys.argv[1], os.O_RDWR)
os.write(a, b'{"execute": "query-status", "id": "a"}')
os.write(b, b'{"execute": "query-name", "id": "b"}')
ra = os.read(a, 1 << 20)
rb = os.read(b, 1 << 20)
problems = []
for name, raw, key in (("a", ra, "status"), ("b", rb, None)):
    lines = raw.decode().splitlines()
    if len(lines) != 1 or not raw.endswith(b"\n"):
        problems.append("%s read %r, expected one line" % (name, raw)); continue
    msg = json.loads(lines[0])
    if msg.get("id") != name or "return" not in msg:
        problems.append("%s got %r" % (name, msg))
    elif key and key not in msg["return"]:
        problems.append("%s got a reply that is not query-status's: %r" % (name, msg))
    elif not key and "status" in msg["return"]:
        problems.append("%s got query-status's reply: %r" % (name, msg))
# nothing else is pending on either
for name, fd in (("a", a), ("b", b)):
    rest = os.read(fd, 1 << 20)
    if rest:
        problems.append("%s has more: %r" % (name, rest))
print("; ".join(problems) or "OK")
EOF
)
	assert_eq OK "$out" "two interleaved qmp conversations"
	ctl board0 stop
	unmount_emufs
}

test_bad_json_to_qmp_is_einval_and_logged() {
	setup_running
	expect_refused EINVAL board0 qmp '{"execute": ' qmp
	expect_refused EINVAL board0 qmp 'query-status' qmp
	expect_refused EINVAL board0 qmp '{"arguments": {}}' qmp
	expect_errno EINVAL sh "echo 'not json' > '$MNT/board0/qmp'"
	# the channel is fine afterwards
	local out
	out=$(qmp_call "$MNT/board0/qmp" '{"execute": "query-status", "id": 7}')
	case $out in
	*'"id":7'*'running'*|*'running'*'"id":7'*) ;;
	*) fail "query-status after the bad writes: $out" ;;
	esac
	ctl board0 stop
	unmount_emufs
}

# QMP events go to events, never to a reader of qmp.
test_events_never_appear_in_a_qmp_read() {
	setup_running
	local out
	out=$(timeout 10 python3 - "$MNT/board0/qmp" "$MNT/board0/ctl" <<'EOF'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
res = []
os.write(fd, b'{"execute": "stop"}')       # QEMU sends STOP
res.append(os.read(fd, 1 << 20))
ctl = os.open(sys.argv[2], os.O_WRONLY)
os.write(ctl, b"reset\n")                   # QEMU sends RESET
os.close(ctl)
res.append(os.read(fd, 1 << 20))           # nothing pending: 0 bytes
os.write(fd, b'{"execute": "cont"}')       # QEMU sends RESUME
res.append(os.read(fd, 1 << 20))
res.append(os.read(fd, 1 << 20))
print(" ".join(r.decode().strip() or "-" for r in res))
EOF
) || fail "qmp conversation failed: $out"
	assert_eq '{"return":{}} - {"return":{}} -' "$out" "what qmp reads returned around STOP, RESET and RESUME"
	# the events went to events
	wait_for 'has_event board0 RESET' 2 || fail "no RESET in events"
	wait_for '[ "$(events_of board0 | grep -xE "STOP|RESET|RESUME" | tr "\n" " ")" = "RESUME STOP RESET RESUME " ]' 2 ||
		fail "events: $(events_of board0 | tr '\n' ' ')"
	# and the raw stop/cont were followed by state
	wait_state board0 running 2
	ctl board0 stop
	unmount_emufs
}

# ---- gdb ----------------------------------------------------------------------

test_gdb_gives_a_tcp_address_gdb_can_use() {
	setup_running
	local addr
	addr=$(cat "$MNT/board0/gdb") || fail "cat gdb failed"
	assert_match '127\.0\.0\.1:[0-9]+' "$addr" "gdb"
	python3 -c '
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
socket.create_connection((host, int(port)), timeout=3).close()
' "$addr" || fail "TCP connect to $addr failed"
	if command -v gdb-multiarch >/dev/null 2>&1; then
		local out
		out=$(timeout 30 gdb-multiarch -nx -batch -ex "target remote $addr" -ex 'info registers pc' 2>&1) ||
			fail "gdb-multiarch failed (status $?): $(tail -n 3 <<<"$out" | tr '\n' '|')"
		grep -qE '^pc +0x[0-9a-f]+' <<<"$out" || fail "gdb-multiarch printed no pc: $(tr '\n' '|' <<<"$out")"
		note "gdb: $(grep -E '^pc ' <<<"$out")"
		# gdb stopped the CPUs while attached; detaching let them run
		wait_state board0 running 2
		echo ping >"$MNT/board0/serial0" || fail "echo ping > serial0 after gdb failed"
		wait_text "$MNT/board0/serial0" pong 2
	else
		note "gdb-multiarch not installed (scripts/setup-deps.sh): the gdb session part was skipped"
	fi
	ctl board0 stop
	expect_errno ESRCH read "$MNT/board0/gdb"
	unmount_emufs
}
