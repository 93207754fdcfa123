#!/usr/bin/env bash
# run-integration.sh - the emufs integration tests: a real QEMU through a
# real FUSE mount, driven with the commands a user types.
#
#   tests/run-integration.sh [PATTERN...]
#
# Runs every function test_* of every tests/integration/test_*.sh (or only
# those whose file topic or function name contains one of the PATTERNs),
# each in its own bash process and session, with a fresh scratch directory
# and a time limit (INTEGRATION_TIMEOUT, default 60 s, or more where a file
# has a line "# integration-timeout: SECONDS"). Prints one line per
# test (PASS name / FAIL name: reason / SKIP name: reason), the output of
# each failed test, and at the end exactly one line
#   integration: N passed, N failed[, N skipped]
# Exit status: 0 when nothing failed.
#
# Environment: EMUFS (default build/emufs), FIRMWARE_DIR (default
# build/firmware), INTEGRATION_TIMEOUT, KEEP_SCRATCH=1 (keep scratch
# directories), V=1 (print each test's duration).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
TESTS_DIR=${TESTS_DIR:-$here/integration}
EMUFS=${EMUFS:-$root/build/emufs}
FIRMWARE_DIR=${FIRMWARE_DIR:-$root/build/firmware}
TIMEOUT=${INTEGRATION_TIMEOUT:-60}
# absolute paths: tests change directory, and process matching uses them
case $EMUFS in /*) ;; *) EMUFS=$PWD/$EMUFS ;; esac
case $FIRMWARE_DIR in /*) ;; *) FIRMWARE_DIR=$PWD/$FIRMWARE_DIR ;; esac
case $TESTS_DIR in /*) ;; *) TESTS_DIR=$PWD/$TESTS_DIR ;; esac
export EMUFS FIRMWARE_DIR TESTS_DIR

pass=0 fail=0 skipped=0
current_pid='' current_scratch=''

re_escape() { printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g'; }

# sweep SCRATCH: whatever a test left, even after being killed: its mounts
# (lazily unmounted), every process whose command line names the scratch
# directory (emufs, its janitor, QEMU), then the directory itself.
sweep() {
	local s=$1 m re
	[ -n "$s" ] && [ -d "$s" ] || return 0
	for m in $(awk -v s="$s/" 'index($2, s) == 1 { print $2 }' /proc/self/mounts); do
		fusermount3 -u -z "$m" 2>/dev/null
	done
	re=$(re_escape "$s")
	if pgrep -f -- "$re" >/dev/null; then
		pkill -KILL -f -- "$re"
		sleep 0.2
	fi
	if [ "${KEEP_SCRATCH:-0}" != 1 ] &&
	   ! awk -v s="$s/" 'index($2, s) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
		rm -rf --one-file-system -- "$s"
	fi
}

on_signal() {
	if [ -n "$current_pid" ]; then
		kill -TERM -- "-$current_pid" 2>/dev/null
		sleep 1
		kill -KILL -- "-$current_pid" 2>/dev/null
	fi
	sweep "$current_scratch"
	fixture_stop
	echo "integration: interrupted"
	exit 130
}
trap on_signal INT TERM

# selected TOPIC FUNCTION: no pattern, or one matches the topic or name
selected() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p
	for p in "${patterns[@]}"; do
		case "$1" in *"$p"*) return 0 ;; esac
		case "$2" in *"$p"*) return 0 ;; esac
	done
	return 1
}

# run_test FILE FUNCTION NAME LIMIT_S
run_test() {
	local file=$1 func=$2 name=$3 limit=$4 status reason start elapsed timed_out=0
	local scratch
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/emufs-it.XXXXXX") || {
		echo "FAIL $name: cannot create a scratch directory"
		fail=$((fail + 1)); return
	}
	current_scratch=$scratch
	start=${EPOCHREALTIME/[.,]/}
	# own session and process group: a timeout kills the whole test;
	# SIGINT not ignored (as for a background job), so that tests can
	# send it to emufs like a user's ^C
	( trap - INT QUIT
	  SCRATCH=$scratch exec setsid bash "$TESTS_DIR/lib.sh" --run-test "$file" "$func" \
		>"$scratch/.out" 2>&1 </dev/null ) &
	current_pid=$!
	local deadline=$((start + limit * 1000000))
	while kill -0 "$current_pid" 2>/dev/null; do
		if [ "${EPOCHREALTIME/[.,]/}" -ge "$deadline" ]; then
			timed_out=1
			kill -TERM -- "-$current_pid" 2>/dev/null
			local grace=$((SECONDS + 15))
			while kill -0 "$current_pid" 2>/dev/null && [ "$SECONDS" -lt "$grace" ]; do
				sleep 0.1
			done
			kill -KILL -- "-$current_pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	status=0
	wait "$current_pid" 2>/dev/null || status=$?
	current_pid=
	elapsed=$(( (${EPOCHREALTIME/[.,]/} - start) / 1000 ))
	local t=""
	[ "${V:-0}" = 1 ] && t=" ($((elapsed / 1000)).$(printf %03d $((elapsed % 1000)))s)"

	if [ "$timed_out" = 1 ]; then
		echo "FAIL $name: timed out after ${limit}s$t"
		fail=$((fail + 1))
		show_output "$scratch"
	elif [ "$status" -eq 77 ] && [ -e "$scratch/.skip" ]; then
		echo "SKIP $name: $(head -n 1 "$scratch/.skip")$t"
		skipped=$((skipped + 1))
	elif [ "$status" -eq 0 ] && [ ! -e "$scratch/.result" ]; then
		echo "PASS $name$t"
		pass=$((pass + 1))
	else
		reason=$(head -n 1 "$scratch/.result" 2>/dev/null)
		echo "FAIL $name: ${reason:-exit status $status}$t"
		fail=$((fail + 1))
		show_output "$scratch"
	fi
	sweep "$scratch"
	current_scratch=
}

# the last lines a failed test printed, indented
show_output() {
	[ -s "$1/.out" ] || return 0
	tail -n 15 "$1/.out" | sed 's/^/    | /'
	[ "${KEEP_SCRATCH:-0}" = 1 ] && echo "    | (scratch kept: $1)"
	return 0
}

# A file whose tests all need something running (a Slurm cluster) names
# a script in a line "# integration-fixture: PATH" (PATH from the
# repository root): `PATH start DIR` runs once, before the file's first
# selected test, and prints NAME=VALUE lines that its tests get in their
# environment; `PATH stop DIR` runs after its last. When the start fails,
# every test of the file FAILS with the fixture's output (never a skip).
fixture_cmd='' fixture_dir='' fixture_err=''
fixture_env=()

fixture_start() {
	local out line
	fixture_cmd=$root/$1
	fixture_dir=$(mktemp -d "${TMPDIR:-/tmp}/emufs-fixture.XXXXXX") || {
		fixture_err="cannot create a fixture directory"; return; }
	fixture_env=() fixture_err=''
	if out=$("$fixture_cmd" start "$fixture_dir" 2>&1); then
		while IFS= read -r line; do
			case $line in [A-Za-z_]*=*) fixture_env+=("$line") ;; esac
		done <<<"$out"
		# the file's tests inherit them (run_test's processes)
		[ ${#fixture_env[@]} -eq 0 ] || export "${fixture_env[@]}"
	else
		fixture_err="fixture $1 did not start: $(printf '%s' "$out" | tail -n 20)"
	fi
}

fixture_stop() {
	[ -n "$fixture_dir" ] || return 0
	"$fixture_cmd" stop "$fixture_dir" >/dev/null 2>&1
	[ "${KEEP_SCRATCH:-0}" = 1 ] || rm -rf --one-file-system -- "$fixture_dir"
	local v
	for v in "${fixture_env[@]}"; do
		unset "${v%%=*}"
	done
	fixture_cmd='' fixture_dir='' fixture_err=''
	fixture_env=()
}

patterns=("$@")

if [ ! -x "$EMUFS" ]; then
	echo "FAIL setup: no emufs binary at $EMUFS (run make)"
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

for file in "$TESTS_DIR"/test_*.sh; do
	[ -e "$file" ] || continue
	topic=$(basename "$file" .sh)
	topic=${topic#test_}
	# the test functions, in the order the file defines them
	funcs=$(sed -nE 's/^[[:space:]]*(function[[:space:]]+)?(test_[A-Za-z0-9_]+)[[:space:]]*\(\).*/\2/p' "$file")
	# a file whose tests need longer (guests that boot Linux) says so in
	# a line "# integration-timeout: SECONDS"; the larger limit wins
	limit=$(sed -n 's/^# integration-timeout: *\([0-9][0-9]*\).*/\1/p' "$file" | head -n 1)
	[ "${limit:-0}" -gt "$TIMEOUT" ] || limit=$TIMEOUT
	fixture=$(sed -n 's/^# integration-fixture: *\([^ ]*\).*/\1/p' "$file" | head -n 1)
	for func in $funcs; do
		selected "$topic" "$func" || continue
		if [ -n "$fixture" ] && [ -z "$fixture_dir" ]; then
			fixture_start "$fixture"
		fi
		if [ -n "$fixture_err" ]; then
			echo "FAIL $func: ${fixture_err%%$'\n'*}"
			printf '%s\n' "$fixture_err" | tail -n +2 | sed 's/^/    | /'
			fail=$((fail + 1))
			continue
		fi
		run_test "$file" "$func" "$func" "$limit"
	done
	fixture_stop
done

if [ ${#patterns[@]} -gt 0 ] && [ $((pass + fail + skipped)) -eq 0 ]; then
	echo "no test matches: ${patterns[*]}" >&2
	fail=1
fi

summary="integration: $pass passed, $fail failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$fail" -eq 0 ]
