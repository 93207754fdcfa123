#!/usr/bin/env bash
# soak.sh - `make soak`: emufs under a long mixed load (issue 12), not part
# of `make test`.
#
#   tests/soak/soak.sh            (make soak SOAK_SECONDS=60 for a short run)
#
# Mounts emufs on the test firmware with two instances, a and b, and runs
# tests/soak/soak.py for SOAK_SECONDS (default 600): 16 ctl writers, 8
# readers of every file, one QEMU SIGKILLed every 5 to 15 s, every
# operation watched for a hang. Passes when nothing hung, every error was
# one of contract section 4, every refused ctl write left its line in
# `log`, emufs's descriptors and threads came back to their count before
# the load and its RSS to within 10 % of it, the unmount exited 0, no
# QEMU was left and (with an ASan build, EMUFS=build/asan/emufs) no
# sanitizer report. Prints a summary; exit status 0 when it passed.
#
# Environment: EMUFS (default build/emufs), FIRMWARE_DIR (build/firmware),
# SOAK_SECONDS, SOAK_WRITERS, SOAK_READERS, SOAK_HANG_S, SOAK_KILL_MIN_S,
# SOAK_KILL_MAX_S, SOAK_SETTLE_S (soak.py), KEEP_SCRATCH=1.
#
# Run as a script, it makes a scratch directory and runs the function
# soak_test below through tests/integration/lib.sh, as the integration
# runner runs a test: the same helpers, the same clean-up (mount, emufs,
# every QEMU of the scratch directory) and the same verdict (.result).

soak_test() {
	require_qemu
	# the refusal count needs a log that never wraps: a cap out of reach
	fault_config "" a b
	python3 - "$CONFIG" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg.setdefault("settings", {})["log_cap_bytes"] = 4 << 30
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
	mount_emufs
	# one run of each first, so that what emufs sets up once is there
	ctl a start
	wait_banner a
	ctl a stop
	ctl b start paused
	ctl b stop
	local rc st
	EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
	HANG_EXIT_PY=$HANG_EXIT_PY \
		timeout $((SOAK_SECONDS + 300)) python3 "$SOAK_DIR/soak.py" \
		"$MNT" "$STATE_DIR" "$EMUFS_PID" "$SOAK_SECONDS" a b \
		| tee "$SCRATCH/soak.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "$(grep -m 1 HANG "$SCRATCH/soak.out"); emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -ne 124 ] || fail "soak.py did not end within $((SOAK_SECONDS + 300)) s"
	if ! alive "$EMUFS_PID"; then
		st=0
		wait "$EMUFS_PID" || st=$?
		EMUFS_PID=
		assert_no_sanitizer_report
		fail "emufs died during the soak (status $st$([ "$st" -gt 128 ] &&
			echo ", signal $((st - 128))")): $(tail -n 3 "$SCRATCH/emufs.out" | tr '\n' '|')"
	fi
	# the unmount may take the state directory: keep the logs for a look
	mkdir -p "$SCRATCH/logs"
	for i in a b; do
		cp "$MNT/$i/log" "$SCRATCH/logs/$i.log"
		cp "$MNT/$i/events" "$SCRATCH/logs/$i.events"
	done
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
	[ "$rc" -eq 0 ] ||
		fail "$(grep '^BAD ' "$SCRATCH/soak.out" | head -n 5 | tr '\n' '|')"
	echo "soak: passed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
	root=$(dirname "$(dirname "$SOAK_DIR")")
	EMUFS=$(realpath "${EMUFS:-$root/build/emufs}")
	FIRMWARE_DIR=$(realpath "${FIRMWARE_DIR:-$root/build/firmware}")
	TESTS_DIR=$root/tests/integration
	SOAK_SECONDS=${SOAK_SECONDS:-600}
	export EMUFS FIRMWARE_DIR TESTS_DIR SOAK_DIR SOAK_SECONDS
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/emufs-soak.XXXXXX") || exit 1
	echo "soak: $SOAK_SECONDS s, scratch $scratch"
	rc=0
	# lib.sh sources this file (the branch above is then skipped), runs
	# soak_test, and cleans up after it whatever happens
	SCRATCH=$scratch bash "$TESTS_DIR/lib.sh" --run-test \
		"$SOAK_DIR/soak.sh" soak_test </dev/null || rc=$?
	if [ "$rc" -eq 0 ] && [ ! -e "$scratch/.result" ] &&
	   [ "${KEEP_SCRATCH:-0}" != 1 ]; then
		rm -rf --one-file-system -- "$scratch"
	else
		[ "$rc" -ne 0 ] || rc=1
		echo "soak: FAILED: $(head -n 1 "$scratch/.result" 2>/dev/null)"
		echo "soak: kept $scratch (emufs.out, soak.out, logs/)"
	fi
	exit "$rc"
fi

# sourced by lib.sh: fault_config, wait_banner, hang handling
. "$TESTS_DIR/lib_faults.sh"
