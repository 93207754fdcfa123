# test_slurm.sh - an emulator started through a launcher (interface.md 6,
# issue 19): QEMU as a Slurm job step (`srun ... --`) of a real one-node
# cluster, its QMP and serial links back to emufs over loopback TCP. The
# same commands a user types, as for a local emulator: lifecycle, state
# and events, serial, props, gpio, qmp; a broken link or a dead QEMU is
# `crashed`; no QEMU and no srun outlive emufs; a missing launcher is EIO.
#
# The cluster (scripts/slurm-cluster.sh) is started once for this file by
# the runner, which gives the tests SLURM_CONF; if it cannot start, every
# test here fails with the daemons' log tails.
# integration-fixture: scripts/slurm-cluster.sh
# integration-timeout: 90

. "$TESTS_DIR/lib_extra.sh"

SRUN='["srun", "--quiet", "--nodes=1", "--ntasks=1", "--"]'

# write_srun_config [LAUNCHER_JSON] [EXTRA_TARGET_KEYS] [SETTINGS_JSON]:
# board0 of the test firmware through LAUNCHER_JSON (default srun). The
# firmware is copied into the scratch directory, so that every process of
# the test (srun, QEMU) names it on its command line (qemu_pids, the
# runner's sweep).
write_srun_config() {
	require_qemu
	[ -n "${SLURM_CONF-}" ] ||
		fail "no SLURM_CONF: run through tests/run-integration.sh, which starts the cluster"
	mkdir -p "$SCRATCH/fw"
	cp "$FIRMWARE_DIR/ast2500-test.elf" "$SCRATCH/fw/"
	FIRMWARE_DIR=$SCRATCH/fw write_ast_config '' \
		", \"launcher\": ${1:-$SRUN}${2-}" "${3-}"
}

# srun_pids: the srun processes of this test.
srun_pids() { pgrep -f -- "srun .*$(_re_escape "$SCRATCH")"; }
# job_qemu_pid: the QEMU that Slurm runs for this test (not srun).
job_qemu_pid() { pgrep -f -- "^[^ ]*qemu-system[^ ]* .*$(_re_escape "$SCRATCH")"; }
# no_job_left: no srun, no QEMU, and no job step in the cluster.
no_job_left() {
	[ -z "$(srun_pids)" ] && [ -z "$(job_qemu_pid)" ] &&
		[ -z "$(squeue -h 2>/dev/null)" ]
}
assert_no_job_left() {
	wait_for no_job_left "${1:-5}" ||
		fail "left behind: srun $(srun_pids | tr '\n' ' '), qemu $(job_qemu_pid | tr '\n' ' '), squeue: $(squeue -h 2>&1 | tr '\n' '|')"
}

setup_srun_running() {
	write_srun_config "" "$AST_GPIO_JSON" "${1-}"
	mount_emufs
	ctl board0 start
	wait_banner board0 serial0 5
}

# ---- lifecycle ------------------------------------------------------------

test_srun_start_pause_resume_stop_with_state_and_events() {
	setup_srun_running
	assert_state board0 running
	grep -q 'emufs: started srun (pid [0-9]*)' "$MNT/board0/log" ||
		fail "log does not name srun: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	[ -n "$(job_qemu_pid)" ] || fail "no QEMU runs for the job"
	[ "$(squeue -h | wc -l)" -eq 1 ] || fail "squeue: $(squeue -h | tr '\n' '|')"
	pause_resume_with_events board0
	wait_for '[ "$(emufs_states board0)" = "starting running paused running" ]' 2 ||
		fail "EMUFS_STATE sequence: $(emufs_states board0)"
	ctl board0 stop
	assert_state board0 stopped
	grep -q 'quit: the emulator exited with status 0' "$MNT/board0/log" ||
		fail "stop did not end QEMU by quit: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left
	unmount_emufs
}

test_srun_kill_ends_the_job_step() {
	setup_srun_running
	ctl board0 kill
	assert_state board0 stopped
	assert_no_job_left
	ctl board0 start
	wait_banner board0 serial0 5
	assert_state board0 running
	unmount_emufs
}

# ---- serial, props, gpio, qmp --------------------------------------------

test_srun_line_written_to_serial0_is_echoed_by_guest() {
	setup_srun_running
	echo hello >"$MNT/board0/serial0" || fail "echo hello > serial0 failed"
	# the firmware echoes every byte, then answers the unknown line
	wait_text "$MNT/board0/serial0" "? hello" 3
	assert_content "$MNT/board0/serial0" "$BANNER"$'\r\nhello\n? hello\r\n'
	unmount_emufs
}

test_srun_props_read_a_qom_property() {
	setup_srun_running
	local v
	v=$(cat "$MNT/board0/props/machine/soc/hw-strap1") ||
		fail "cat props/machine/soc/hw-strap1 failed"
	assert_match '[0-9]+' "$v" "props/machine/soc/hw-strap1"
	[ -d "$MNT/board0/props/machine/soc/gpio" ] || fail "props/machine/soc/gpio is not a directory"
	unmount_emufs
}

test_srun_button_drives_led_through_the_firmware() {
	setup_srun_running
	local g=$MNT/board0/gpio
	assert_content "$g/led" $'0\n'
	echo 1 >"$g/button" || fail "echo 1 > gpio/button failed"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 2 || fail "gpio/led reads $(cat "$g/led") after button 1"
	echo 0 >"$g/button" || fail "echo 0 > gpio/button failed"
	wait_for "[ \"\$(cat '$g/led')\" = 0 ]" 2 || fail "gpio/led did not go back to 0"
	unmount_emufs
}

test_srun_qmp_file_answers_a_command() {
	setup_srun_running
	local reply
	exec 3<>"$MNT/board0/qmp"
	printf '{"execute": "query-status"}' >&3
	IFS= read -r -t 5 reply <&3 || fail "no reply on qmp"
	exec 3>&-
	[[ $reply == '{"return":'*'"status":"running"'* ]] ||
		fail "qmp replied: $reply"
	unmount_emufs
}

# ---- gdb, relayed --------------------------------------------------------------

# gdb_session: lib_extra.sh.

# The launched QEMU's stub dials emufs; `gdb` gives emufs's loopback port
# for it. A gdb session, detach, a second session: both work, and the
# guest runs on after each.
test_srun_gdb_relayed_to_a_loopback_port_twice() {
	setup_srun_running
	local addr q
	addr=$(cat "$MNT/board0/gdb") || fail "cat gdb failed"
	q=$(job_qemu_pid)
	tr '\0' ' ' <"/proc/$q/cmdline" | grep -q -- '-gdb chardev:emufs-gdb' ||
		fail "QEMU's stub is not on the link: $(tr '\0' ' ' <"/proc/$q/cmdline")"
	gdb_relay_works "$addr"
	ctl board0 stop
	assert_state board0 stopped
	expect_errno ESRCH read "$MNT/board0/gdb"
	unmount_emufs
}

# One user at a time: a second connection while gdb is attached is closed
# at once, and the first session goes on.
test_srun_gdb_second_connection_is_closed() {
	setup_srun_running
	local addr
	addr=$(cat "$MNT/board0/gdb") || fail "cat gdb failed"
	python3 - "$addr" <<'PY' || fail "the relay did not behave"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
def packet(s, body):
    s.sendall(b"$%s#%02x" % (body, sum(body) % 256))
def answer(s):
    buf = b""
    while b"#" not in buf or len(buf) < buf.index(b"#") + 3:
        d = s.recv(4096)
        if not d: sys.exit("the first connection was closed")
        buf += d
    return buf
one = socket.create_connection((host, int(port)), timeout=10)
one.sendall(b"+")
packet(one, b"?")
assert b"$T" in answer(one), "no stop reply"
two = socket.create_connection((host, int(port)), timeout=10)
assert two.recv(100) == b"", "the second connection was not closed"
one.sendall(b"+")
packet(one, b"qAttached:1")
assert b"$1#31" in answer(one), "the first session broke"
one.sendall(b"+")
packet(one, b"D;1")
assert b"$OK#9a" in answer(one), "no answer to detach"
PY
	wait_state board0 running 2
	unmount_emufs
}

# The stub's link broken while QEMU runs: crashed, log names it.
test_a_broken_gdb_link_is_crashed_with_the_link_named() {
	setup_srun_running '{ "request_timeout_ms": 2000 }'
	# the gdb chardev is QEMU's second TCP link (after QMP: qemu_argv.c)
	break_link_expect_crashed 2 gdb
	assert_no_job_left
	unmount_emufs
}

# ---- what a launched emulator cannot use yet -----------------------------

test_srun_trace_switch_is_enotsup_and_logged() {
	setup_srun_running
	expect_errno ENOTSUP sh "echo 'aspeed_gpio_*' > '$MNT/board0/trace/enable'"
	grep -q 'trace/: not supported for an emulator started through a launcher' \
		"$MNT/board0/log" || fail "no reason in log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	unmount_emufs
}

# ---- bad input --------------------------------------------------------------

test_launcher_program_missing_is_eio_with_the_reason_in_log() {
	write_srun_config '["no-such-launcher-emufs", "--"]'
	mount_emufs
	expect_errno EIO sh "echo start > '$MNT/board0/ctl'"
	assert_state board0 stopped
	grep -q 'launcher no-such-launcher-emufs: No such file or directory' \
		"$MNT/board0/log" || fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	unmount_emufs
}

test_qemu_killed_behind_srun_is_crashed() {
	setup_srun_running
	local q
	q=$(job_qemu_pid)
	[ -n "$q" ] || fail "no QEMU runs for the job"
	kill -KILL $q
	wait_for '[ "$(state_of board0)" = crashed ]' 5 ||
		fail "state is $(state_of board0) 5 s after QEMU was killed"
	grep -q 'ended by itself' "$MNT/board0/log" ||
		fail "no reason in log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left
	unmount_emufs
}

# tcp_links_of PID: "LOCAL_FD PEER_PORT" of each TCP connection of PID.
tcp_links_of() {
	ss -tnpH state established 2>/dev/null |
		sed -n "s/.*[: ]\\([0-9][0-9]*\\) *users:((\"[^\"]*\",pid=$1,fd=\\([0-9]*\\))).*/\\2 \\1/p"
}

# break_link_expect_crashed N NAME: reset QEMU's Nth TCP link (a sed
# address over its links by fd: they are made in command-line order), the
# one named NAME; within the request timeout the instance is crashed and
# log names the link.
break_link_expect_crashed() {
	local q link port
	q=$(job_qemu_pid)
	link=$(tcp_links_of "$q" | sort -n | sed -n "$1p")
	port=${link#* }
	[ -n "$port" ] || fail "no TCP link $1 of QEMU $q: $(tcp_links_of "$q" | tr '\n' '|')"
	ss -K dst 127.0.0.1 dport = "$port" >/dev/null 2>&1 ||
		fail "ss -K could not reset the link to port $port"
	wait_for '[ "$(state_of board0)" = crashed ]' 4 ||
		fail "state is $(state_of board0) 4 s after the $2 link broke"
	grep -q "the $2 connection to QEMU (pid [0-9]*) broke while it runs" \
		"$MNT/board0/log" || fail "log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
}

# A serial link that breaks while QEMU runs (ss -K resets QEMU's end):
# within the request timeout the instance is crashed and log names the
# link. QEMU's serial chardev is its last TCP link (the QMP one is made
# first, qemu_argv.c), so the highest fd.
test_a_broken_serial_link_is_crashed_with_the_link_named() {
	setup_srun_running '{ "request_timeout_ms": 2000 }'
	break_link_expect_crashed '$' serial0
	assert_no_job_left
	unmount_emufs
}

# ---- nothing outlives emufs ------------------------------------------------

test_sigkill_of_emufs_leaves_no_qemu_and_no_srun() {
	setup_srun_running
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
	# srun dies of the parent-death signal; Slurm then ends the step.
	assert_no_job_left 10
}

test_unmount_stops_the_job() {
	setup_srun_running
	unmount_emufs
	assert_no_job_left
}
