# lib.sh - helpers for the emufs integration tests.
#
# Sourced by every test file (through the runner, tests/run-integration.sh).
# Each test function runs in its own bash process with a fresh scratch
# directory; the helpers below mount emufs there, drive it with the same
# commands a user types, and clean up whatever the test leaves behind:
# the mount, emufs itself, and every QEMU whose command line names the
# scratch directory (never any other QEMU: tests may run beside a
# developer's own emulators).
#
# Environment (set by the runner):
#   EMUFS         the emufs binary
#   FIRMWARE_DIR  where ast2500-test.elf is
#   TESTS_DIR     tests/integration
#   SCRATCH       this test's scratch directory (fresh, empty)
#
# Variables the helpers set or honour:
#   MNT        the mount point ($SCRATCH/mnt)
#   CONFIG     the config file mount_emufs uses ($SCRATCH/cfg.json)
#   STATE_DIR  --state-dir for mount_emufs (default $SCRATCH/state; set it
#              to the empty string to leave --state-dir out)
#   MNT_ARG    the mount point as written on emufs's command line
#              (default $MNT; a test may use a relative path)
#   EMUFS_PID  the foreground emufs started by mount_emufs
#
# Results: a test passes when its function returns. fail MSG / skip MSG
# end it (exit 1 / exit 77) and leave the reason in $SCRATCH/.result.

BANNER='emufs-test-firmware ready'

# ---- results -------------------------------------------------------------

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	[ -e "$SCRATCH/.result" ] || printf '%s\n' "$*" >"$SCRATCH/.result"
	exit 1
}

skip() {
	printf 'SKIP: %s\n' "$*" >&2
	printf '%s\n' "$*" >"$SCRATCH/.skip"
	exit 77
}

# note MSG: a line in the test's output (shown when the test fails).
note() { printf '# %s\n' "$*" >&2; }

# ---- waiting ---------------------------------------------------------------

# wait_for 'CONDITION' TIMEOUT_S: evaluate CONDITION (a shell string) every
# 20 ms until it succeeds (return 0) or TIMEOUT_S seconds (may be
# fractional) pass (return 1).
wait_for() {
	local cond=$1 deadline
	deadline=$(( $(_now_us) + $(_to_us "${2:-5}") ))
	while :; do
		eval "$cond" && return 0
		[ "$(_now_us)" -ge "$deadline" ] && break
		sleep 0.02
	done
	eval "$cond"
}

_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# _to_us SECONDS: "1.5" -> 1500000
_to_us() {
	local s=$1 i f=0
	i=${s%.*}
	[ "$i" != "$s" ] && f=${s#*.}
	f=${f}000000
	echo $(( ${i:-0} * 1000000 + 10#${f:0:6} ))
}

# ---- the fs helper (exact errnos) -----------------------------------------

# A tiny python3 program performing one file-system call, so tests check
# errno names exactly. Prints OK (and for read, the data) or STEP:ERRNAME.
FSOP_PY='
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
step = "open"
def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))
try:
    if op == "write":
        # what the shell does for `echo ... > path`: one write(2)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        step = "write"
        try:
            data = arg.encode()
            n = os.write(fd, data)
            if n != len(data):
                print("write:short %d of %d" % (n, len(data)))
                sys.exit(0)
        finally:
            step = "close"
            os.close(fd)
    elif op == "open_w":
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
    elif op == "read":
        fd = os.open(path, os.O_RDONLY)
        step = "read"
        os.read(fd, 65536)
        os.close(fd)
    elif op == "mkdir":
        step = "mkdir"
        os.mkdir(path)
    elif op == "rmdir":
        step = "rmdir"
        os.rmdir(path)
    elif op == "stat":
        step = "stat"
        os.stat(path)
    else:
        print("usage: unknown op " + op)
        sys.exit(2)
except OSError as e:
    print("%s:%s" % (step, name(e)))
    sys.exit(0)
print("OK")
'

# fsop OP PATH [DATA]: perform one call; prints OK or STEP:ERRNAME.
fsop() { python3 -c "$FSOP_PY" "$@"; }

# expect_errno ERRNO OP PATH [DATA]     (OP: write open_w read mkdir rmdir stat)
# expect_errno ERRNO sh 'SHELL COMMAND'
#   Checks that the call fails with exactly ERRNO (e.g. EINVAL). The sh form
#   runs a command as a user types it and checks that its error message is
#   strerror(ERRNO), e.g. "Invalid argument" from `echo bogus > ctl`.
expect_errno() {
	local want=$1; shift
	if [ "$1" = sh ]; then
		local msg out
		msg=$(python3 -c 'import errno,os,sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$want")
		if out=$(eval "$2" 2>&1); then
			fail "\`$2\` succeeded; expected $want ($msg)"
		fi
		case $out in
		*"$msg"*) return 0 ;;
		*) fail "\`$2\` failed with \"$out\"; expected $want ($msg)" ;;
		esac
	fi
	local got
	got=$(fsop "$@")
	case $got in
	*:"$want") return 0 ;;
	OK) fail "$1 ${2#"$SCRATCH"/} ${3:+$(printf %q "$3")} succeeded; expected $want" ;;
	*) fail "$1 ${2#"$SCRATCH"/} ${3:+$(printf %q "$3")}: got $got; expected $want" ;;
	esac
}

# expect_ok OP PATH [DATA]: the call succeeds.
expect_ok() {
	local got
	got=$(fsop "$@")
	[ "$got" = OK ] || fail "$1 ${2#"$SCRATCH"/} ${3:+$(printf %q "$3")}: got $got; expected success"
}

# ---- assertions --------------------------------------------------------------

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected \"$1\", got \"$2\""
}

# assert_contains FILE TEXT: FILE contains TEXT (fixed string).
assert_contains() {
	grep -qF -- "$2" "$1" 2>/dev/null ||
		fail "${1#"$SCRATCH"/} does not contain \"$2\"; it has: $(tail -c 300 "$1" 2>&1 | cat -v | tr '\n' '|')"
}

assert_not_contains() {
	! grep -qF -- "$2" "$1" 2>/dev/null ||
		fail "${1#"$SCRATCH"/} contains \"$2\""
}

# count FILE TEXT: how many times TEXT occurs in FILE.
count() { grep -oF -- "$2" "$1" 2>/dev/null | wc -l; }

# read_exact FILE: sets REPLY to the file's whole content, trailing
# newlines kept (command substitution would strip them).
read_exact() { REPLY=$(cat -- "$1"; echo x); REPLY=${REPLY%x}; }

# assert_content FILE EXPECTED: FILE holds exactly EXPECTED.
assert_content() {
	read_exact "$1"
	[ "$REPLY" = "$2" ] ||
		fail "${1#"$MNT"/}: expected $(printf %q "$2"), got $(printf %q "$REPLY")"
}

# ---- instances ----------------------------------------------------------------

state_of() { cat "$MNT/$1/state" 2>/dev/null; }

# assert_state INSTANCE STATE: the state file reads exactly "STATE\n".
assert_state() { assert_content "$MNT/$1/state" "$2"$'\n'; }

# wait_state INSTANCE STATE [TIMEOUT_S]
wait_state() {
	wait_for "[ \"\$(state_of $1)\" = $2 ]" "${3:-5}" ||
		fail "$1 did not reach state $2 within ${3:-5}s (state: $(state_of "$1"))"
}

# ctl INSTANCE COMMAND...: the user's `echo COMMAND > ctl`; fails the test
# if the write fails.
ctl() {
	local inst=$1; shift
	local err
	err=$( { echo "$*" >"$MNT/$inst/ctl"; } 2>&1 ) ||
		fail "echo $* > $inst/ctl: ${err##*: }; log: $(tail -n 2 "$MNT/$inst/log" 2>/dev/null | tr '\n' '|')"
}

log_lines() { wc -l <"$MNT/$1/log"; }

# log_settle INSTANCE: wait (at most 2 s) until the log has not grown for
# 0.1 s, so the emulator's own output does not mix with what a test counts.
log_settle() {
	local size last=-1 deadline=$(( $(_now_us) + 2000000 ))
	while [ "$(_now_us)" -lt "$deadline" ]; do
		size=$(stat -c %s "$MNT/$1/log" 2>/dev/null)
		[ "$size" = "$last" ] && return 0
		last=$size
		sleep 0.1
	done
}

# expect_refused ERRNO INSTANCE FILE DATA [WORD]: writing DATA to FILE of
# INSTANCE fails with ERRNO and appends exactly one line to its log (the
# reason), which mentions WORD when given (case-insensitive).
expect_refused() {
	local want=$1 inst=$2 file=$3 data=$4 word=${5-}
	local before after line
	log_settle "$inst"
	before=$(log_lines "$inst")
	expect_errno "$want" write "$MNT/$inst/$file" "$data"
	after=$(log_lines "$inst")
	[ "$after" -eq $((before + 1)) ] ||
		fail "refused write of $(printf %q "$data") to $inst/$file: log grew by $((after - before)) lines, expected 1"
	line=$(tail -n 1 "$MNT/$inst/log")
	if [ -n "$word" ] && ! grep -qiF -- "$word" <<<"$line"; then
		fail "log line for refused $(printf %q "$data") does not mention \"$word\": $line"
	fi
	note "$inst/log: $line"
}

# events_of INSTANCE: one line per JSON line of events: EVENT, or
# EMUFS_STATE:<state>, EMUFS_SNAPSHOT:<action> <name>; a line that is not a JSON object gives BADJSON:...
events_of() {
	python3 -c '
import json, sys
for raw in open(sys.argv[1], "rb").read().decode(errors="replace").splitlines():
    try:
        ev = json.loads(raw)
        name = ev["event"]
    except Exception:
        print("BADJSON:" + raw[:80]); continue
    if name == "EMUFS_STATE":
        print("EMUFS_STATE:" + str((ev.get("data") or {}).get("state")))
    elif name == "EMUFS_SNAPSHOT":
        d = ev.get("data") or {}
        print("EMUFS_SNAPSHOT:%s %s" % (d.get("action"), d.get("name")))
    else:
        print(name)
' "$MNT/$1/events"
}

# emufs_states INSTANCE: the EMUFS_STATE states of events, space-separated.
emufs_states() { events_of "$1" | sed -n 's/^EMUFS_STATE://p' | tr '\n' ' ' | sed 's/ $//'; }

has_event() { events_of "$1" | grep -qx -- "$2"; }

# ---- processes ------------------------------------------------------------------

_re_escape() { printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g'; }

# qemu_pids: QEMUs whose command line names the scratch directory.
qemu_pids() { pgrep -f -- "qemu-system[^ ]* .*$(_re_escape "$SCRATCH")"; }

# emufs_pids: emufs processes (and their janitors) of this test.
emufs_pids() { pgrep -f -- "^$(_re_escape "$EMUFS") .*$(_re_escape "$SCRATCH")"; }

no_qemu_left() { [ -z "$(qemu_pids)" ]; }

# assert_no_qemu [TIMEOUT_S]: no QEMU of this test runs (now, or within
# TIMEOUT_S: a zombie has no command line, so pgrep never sees one).
# state_dir_holds_only_kept_logs: after a SIGKILL of emufs, nothing but
# the crashed@ folders of kept logs (and the mark that emufs made the
# directory) in the state directory.
state_dir_holds_only_kept_logs() {
	[ -z "$(ls -A "$STATE_DIR" 2>/dev/null | grep -v -e '^crashed@' -e '^\.emufs-made$')" ]
}

assert_no_qemu() {
	wait_for no_qemu_left "${1:-0}" ||
		fail "QEMU still running: $(qemu_pids | tr '\n' ' ')"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" != Z ]
}

# is_mounted PATH: PATH is a mount point (also a dead FUSE mount, which
# `mountpoint` cannot stat).
is_mounted() {
	awk -v p="$1" '$2 == p { found = 1 } END { exit !found }' /proc/self/mounts
}

# ---- configuration --------------------------------------------------------------

# write_config [FILE] <<EOF ... EOF: the config from stdin, into
# $SCRATCH/FILE (default cfg.json); sets CONFIG to it.
write_config() {
	CONFIG=$SCRATCH/${1:-cfg.json}
	cat >"$CONFIG"
}

QEMU_ARM=${QEMU_ARM:-qemu-system-arm}

# write_std_config INSTANCE...: a config with these targets:
#   ast           the test firmware on ast2500-evb, serial0 = UART index 0
#   ast-noreboot  the same with -no-reboot (a guest reset ends QEMU, status 0)
#   nobin         a binary that does not exist
#   badmachine    a machine QEMU does not know
#   exitsatonce   /bin/false as the emulator
# and one instance per argument NAME[=TARGET][+] (target default ast; a
# trailing + sets autostart).
write_std_config() {
	local fw=$FIRMWARE_DIR/ast2500-test.elf inst sep=""
	local qemu=$QEMU_ARM
	{
		cat <<EOF
{
  "targets": {
    "ast": {
      "emulator": "qemu",
      "qemu": { "binary": "$qemu", "machine": "ast2500-evb",
                "kernel": "$fw", "args": ["-nic", "none"] },
      "serial": { "serial0": 0 }
    },
    "ast-noreboot": {
      "emulator": "qemu",
      "qemu": { "binary": "$qemu", "machine": "ast2500-evb",
                "kernel": "$fw", "args": ["-nic", "none", "-no-reboot"] },
      "serial": { "serial0": 0 }
    },
    "nobin": {
      "emulator": "qemu",
      "qemu": { "binary": "$SCRATCH/no-such-qemu", "machine": "ast2500-evb",
                "kernel": "$fw" },
      "serial": { "serial0": 0 }
    },
    "badmachine": {
      "emulator": "qemu",
      "qemu": { "binary": "$qemu", "machine": "no-such-board",
                "kernel": "$fw" },
      "serial": { "serial0": 0 }
    },
    "exitsatonce": {
      "emulator": "qemu",
      "qemu": { "binary": "/bin/false", "machine": "ast2500-evb" },
      "serial": { "serial0": 0 }
    }
  },
  "instances": {
EOF
		for inst in "$@"; do
			local name=${inst%+} target=ast auto=false
			[ "$name" != "$inst" ] && auto=true
			case $name in *=*) target=${name#*=}; name=${name%%=*} ;; esac
			printf '%s    "%s": { "target": "%s", "autostart": %s }' \
				"$sep" "$name" "$target" "$auto"
			sep=$',\n'
		done
		printf '\n  }\n}\n'
	} >"$SCRATCH/cfg.json"
	CONFIG=$SCRATCH/cfg.json
}

# ---- requirements ------------------------------------------------------------------

require_qemu() {
	command -v "$QEMU_ARM" >/dev/null 2>&1 || skip "$QEMU_ARM not installed"
	[ -r "$FIRMWARE_DIR/ast2500-test.elf" ] ||
		skip "no $FIRMWARE_DIR/ast2500-test.elf (make firmware)"
}

require_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null 2>&1 || skip "fusermount3 not installed"
}

# ---- mounting ---------------------------------------------------------------------

# mount_emufs [ARGS...]: `$EMUFS -f -c $CONFIG --state-dir $STATE_DIR ARGS
# $MNT_ARG` in the background, like libfuse's tests: waits until the mount
# is live; fails if emufs exits first. Sets EMUFS_PID.
mount_emufs() {
	require_fuse
	[ -x "$EMUFS" ] || fail "no emufs binary at $EMUFS"
	local sd=()
	[ -n "$STATE_DIR" ] && sd=(--state-dir "$STATE_DIR")
	mkdir -p "$MNT"
	# SIGINT as in a terminal (a background job would ignore it)
	( trap - INT QUIT
	  exec "$EMUFS" -f -c "$CONFIG" "${sd[@]}" "$@" "${MNT_ARG:-$MNT}" \
		>>"$SCRATCH/emufs.out" 2>&1 ) &
	EMUFS_PID=$!
	echo "$EMUFS_PID" >>"$SCRATCH/.emufs_pids"
	local deadline=$((SECONDS + 10))
	until mountpoint -q "$MNT"; do
		if ! alive "$EMUFS_PID"; then
			local rc=0
			wait "$EMUFS_PID" || rc=$?
			fail "emufs exited (status $rc) before the mount was live: $(head -c 200 "$SCRATCH/emufs.out" | tr '\n' '|')"
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "mount not live after 10s"
		sleep 0.02
	done
}

# expect_config_refused TEXT: emufs refuses $CONFIG at load: exit 2, a
# message on stderr naming TEXT (a JSON path), nothing mounted
# (test_cli.sh has its own, stricter about the message).
expect_config_refused() {
	local rc=0 err
	timeout 10 "$EMUFS" -f -c "$CONFIG" --state-dir "$SCRATCH/state" "$MNT" \
		>"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || rc=$?
	err=$(cat "$SCRATCH/stderr")
	is_mounted "$MNT" && fail "the bad config was mounted"
	assert_eq 2 "$rc" "exit status for a bad config (stderr: $err)"
	grep -qF -- "$1" <<<"$err" || fail "message does not name \"$1\": $err"
	note "refused: $err"
}

# wait_exit PID TIMEOUT_S: wait for a child to end; sets EXIT_STATUS.
# Fails the test when it does not end in time.
wait_exit() {
	wait_for "! alive $1" "$2" || fail "process $1 still running after ${2}s"
	EXIT_STATUS=0
	wait "$1" || EXIT_STATUS=$?
}

# emufs_said: the last lines emufs printed (on one line), for a failure's
# message.
emufs_said() { tail -n 3 "$SCRATCH/emufs.out" 2>/dev/null | tr '\n' '|'; }

# unmount_emufs: fusermount3 -u, then emufs must exit with status 0.
unmount_emufs() {
	local out
	out=$(fusermount3 -u "$MNT" 2>&1) || fail "fusermount3 -u: $out"
	wait_exit "$EMUFS_PID" 15
	[ "$EXIT_STATUS" -eq 0 ] ||
		fail "emufs exited with status $EXIT_STATUS after fusermount3 -u: $(emufs_said)"
	EMUFS_PID=
}

# ---- cleanup --------------------------------------------------------------------------

# Unmount and kill everything of this test; a QEMU that survives its
# emufs turns a pass into a failure (the contract: no emulator outlives
# its emufs).
_lib_cleanup() {
	local rc=$? pid m
	set +e
	trap - EXIT TERM INT
	# programs the test left reading the mount (tail -f ...)
	pkill -TERM -f -- "$(_re_escape "$SCRATCH/mnt")/" 2>/dev/null
	# the mounts: a clean unmount lets emufs stop its emulators
	for m in $(awk -v s="$SCRATCH/" 'index($2, s) == 1 { print $2 }' /proc/self/mounts); do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null
	done
	# emufs processes: give them time to stop their emulators, then kill
	wait_for '[ -z "$(emufs_pids)" ]' 10 ||
		{ pkill -TERM -f -- "^$(_re_escape "$EMUFS") .*$(_re_escape "$SCRATCH")"
		  wait_for '[ -z "$(emufs_pids)" ]' 3 ||
		  pkill -KILL -f -- "^$(_re_escape "$EMUFS") .*$(_re_escape "$SCRATCH")"; }
	# an emufs the test did not end itself must not have died of a signal
	if [ -n "${EMUFS_PID-}" ] && ! alive "$EMUFS_PID"; then
		local st=0
		wait "$EMUFS_PID" 2>/dev/null || st=$?
		if [ "$st" -gt 128 ] && [ "$rc" -eq 0 ]; then
			echo "emufs died during the test (status $st, signal $((st - 128)))" >"$SCRATCH/.result"
			rc=1
		fi
	fi
	for pid in $(cat "$SCRATCH/.emufs_pids" 2>/dev/null); do
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if ! wait_for no_qemu_left 3; then
		local left
		left=$(qemu_pids | tr '\n' ' ')
		pkill -KILL -f -- "qemu-system[^ ]* .*$(_re_escape "$SCRATCH")"
		if [ "$rc" -eq 0 ]; then
			echo "QEMU left running after its emufs ended (pids $left)" >"$SCRATCH/.result"
			rc=1
		fi
	fi
	exit "$rc"
}

# _lib_run_test FILE FUNCTION: the body of one test process.
_lib_run_test() {
	local file
	file=$(realpath "$1") || exit 1
	cd "$SCRATCH" || exit 1
	MNT=$SCRATCH/mnt
	CONFIG=$SCRATCH/cfg.json
	STATE_DIR=$SCRATCH/state
	EMUFS_PID=
	mkdir -p "$MNT"
	trap _lib_cleanup EXIT
	trap 'fail "killed (timeout)"' TERM
	trap 'fail "interrupted"' INT
	# shellcheck source=/dev/null
	source "$file"
	local rc=0
	"$2" || rc=$?
	[ "$rc" -eq 0 ] || fail "$2 returned status $rc"
	exit 0
}

if [ "${1-}" = --run-test ]; then
	_lib_run_test "$2" "$3"
fi
