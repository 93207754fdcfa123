# shellcheck shell=sh
# board-lib.sh - what the test scripts of examples/boards/ share: sourced
# by each board's test.sh, after it has set $b to the instance's directory
# (MOUNTPOINT/INSTANCE). Nothing but files: the way a CI job tests a guest
# on emufs. Waiting is done on follow/ (a read that blocks until there is
# something new) under `timeout`, never with a fixed sleep.

: "${b:?board-lib.sh: set b to MNTPOINT/INSTANCE before sourcing it}"
pass=0 fail=0
READY=EMUFS-GUEST-READY     # the guests' boot line: a whole line, for grep

# check NAME COMMAND...: run COMMAND, count and print the result.
check() {
	name=$1; shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name"
	fi
}

# summary: the last line, and the exit status of the script.
summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# until_true SECONDS COMMAND...: retry every 0.1 s, for what follow/ does
# not cover (a prompt without a newline after it).
until_true() {
	n=$(($1 * 10)); shift
	while ! "$@"; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1
	done
}

# fresh_start: the instance stopped (whatever it was doing), then started.
fresh_start() {
	case $(cat "$b/state") in
	stopped|exited|crashed) ;;
	*) echo stop >"$b/ctl" ;;
	esac
	echo start >"$b/ctl"
}

# line_seen SECONDS REGEX [CHANNEL]: a line of the channel's current run
# (default serial0) matches REGEX within SECONDS.
line_seen() {
	timeout "$1" grep -q -m1 -E -- "$2" "$b/follow/${3:-serial0}"
}

# booted_times SECONDS N REGEX: REGEX has matched N lines of serial0 (N
# boots) within SECONDS.
booted_times() {
	[ "$(timeout "$1" grep -m"$2" -E -- "$3" "$b/follow/serial0" | wc -l)" -eq "$2" ]
}

# prompt_after LINE PROMPT: serial0, from its last line containing LINE
# (the boot line), holds PROMPT. grep -m1 cannot wait for a prompt: it
# has no newline after it, so this reads the plain file, which shows the
# line in progress too.
prompt_after() {
	awk -v l="$1" -v p="$2" 'index($0, l) { s = "" } { s = s $0 "\n" }
		END { exit !index(s, p) }' "$b/serial0"
}

# type_line TEXT: TEXT and a newline to the guest, as typed on the console.
type_line() { printf '%s\n' "$1" >"$b/serial0"; }

# state_is STATE / state_becomes SECONDS STATE
state_is() { [ "$(cat "$b/state")" = "$1" ]; }
state_becomes() { timeout "$1" grep -q -m1 -x -- "$2" "$b/follow/state"; }

# pin_becomes SECONDS PIN LEVEL: gpio/PIN reads LEVEL within SECONDS.
pin_becomes() { timeout "$1" grep -q -m1 -x -- "$3" "$b/follow/gpio/$2"; }

# image_is NAME: firmware reads the target's own image, an absolute path
# (qemu.kernel, made absolute against the config's directory) to a
# readable file named NAME.
image_is() {
	img=$(cat "$b/firmware")
	case $img in /*/"$1") [ -r "$img" ] ;; *) false ;; esac
}

# gdb_reads_pc: gdb-multiarch attaches to the address in gdb, reads the
# program counter, and detaches (the guest runs on).
gdb_reads_pc() {
	timeout 30 gdb-multiarch -nx -batch -ex "target remote $(cat "$b/gdb")" \
		-ex 'info registers pc' -ex detach 2>&1 | grep -qE '^pc +0x[0-9a-f]+'
}

# boot_checks SECONDS PROMPT: a fresh start, then the guest boots to its
# READY line within SECONDS and shows PROMPT (no newline after it).
boot_checks() {
	fresh_start
	check "state is running"        state_is running
	check "boots to the prompt"     line_seen "$1" "^$READY"
	check "prompt"                  until_true 10 prompt_after "$READY" "$2"
}

# reset_checks SECONDS PROMPT: `reset` boots the guest a second time.
reset_checks() {
	check "reset"                   sh -c "echo reset > '$b/ctl'"
	check "boots again"             booted_times "$1" 2 "^$READY"
	check "prompt again"            until_true 10 prompt_after "$READY" "$2"
}
