# lib_extra.sh - helpers shared by test_serial.sh, test_props.sh,
# test_gpio.sh and test_extras.sh, on top of lib.sh (which the runner has
# already sourced). Sourced by those files: `. "$TESTS_DIR/lib_extra.sh"`.
#
# Configs here are written with absolute paths except where a test checks
# that a path is relative to the config file's directory.

SHIM_BANNER='emufs-shim-firmware ready'
# tests/firmware (check_burst.py), found from this file's own place
FIRMWARE_SRC=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../firmware" && pwd)
CHECK_BURST=$FIRMWARE_SRC/check_burst.py

# ast_target_json NAME [EXTRA_QEMU_KEYS] [EXTRA_TARGET_KEYS]: one target
# running the test firmware on ast2500-evb, serial0 = UART index 0.
# EXTRA_QEMU_KEYS are JSON members added to the "qemu" object (with a
# leading comma), EXTRA_TARGET_KEYS members added to the target.
ast_target_json() {
	cat <<EOF
    "$1": {
      "emulator": "qemu",
      "qemu": { "binary": "$QEMU_ARM", "machine": "ast2500-evb",
                "kernel": "$FIRMWARE_DIR/ast2500-test.elf",
                "args": ["-nic", "none"]${2-} },
      "serial": { "serial0": 0 }${3-}
    }
EOF
}

# The two QOM pins of the test firmware: A0 in (button), A1 out (led).
AST_GPIO_JSON=',
      "gpio": {
        "button": { "qom": "/machine/soc/gpio", "property": "gpioA0", "direction": "in" },
        "led":    { "qom": "/machine/soc/gpio", "property": "gpioA1", "direction": "out" }
      }'

# write_ast_config [EXTRA_QEMU_KEYS] [EXTRA_TARGET_KEYS] [SETTINGS_JSON]:
# instance board0 of target ast (see ast_target_json), not autostarted.
write_ast_config() {
	{
		echo '{ "targets": {'
		ast_target_json ast "${1-}" "${2-}"
		echo '  },'
		echo '  "instances": { "board0": { "target": "ast" } }'
		[ -n "${3-}" ] && echo "  , \"settings\": $3"
		echo '}'
	} >"$SCRATCH/cfg.json"
	CONFIG=$SCRATCH/cfg.json
}

# write_shim_config: instance lm of the lm3s-shim firmware: channels
# console (UART0) and shim (UART1); pins in2 (shim pin 2, in) and out6
# (shim pin 6, out).
write_shim_config() {
	cat >"$SCRATCH/cfg.json" <<EOF
{
  "targets": {
    "lm3s": {
      "emulator": "qemu",
      "qemu": { "binary": "$QEMU_ARM", "machine": "lm3s6965evb",
                "kernel": "$FIRMWARE_DIR/lm3s-shim.elf",
                "args": ["-nic", "none"] },
      "serial": { "console": 0, "shim": 1 },
      "gpio": {
        "in2":  { "shim": "shim", "pin": 2, "direction": "in" },
        "out6": { "shim": "shim", "pin": 6, "direction": "out" }
      }
    }
  },
  "instances": { "lm": { "target": "lm3s" } }
}
EOF
	CONFIG=$SCRATCH/cfg.json
}

require_shim_firmware() {
	command -v "$QEMU_ARM" >/dev/null 2>&1 || skip "$QEMU_ARM not installed"
	[ -r "$FIRMWARE_DIR/lm3s-shim.elf" ] ||
		skip "no $FIRMWARE_DIR/lm3s-shim.elf (make firmware)"
}

# wait_text FILE TEXT [TIMEOUT_S]: FILE contains TEXT (fixed string)
# within the deadline, else the test fails showing the file's end.
wait_text() {
	wait_for "grep -qF -- $(printf %q "$2") $(printf %q "$1")" "${3:-2}" ||
		fail "no \"$2\" in ${1#"$SCRATCH"/} within ${3:-2}s; it has: $(tail -c 300 "$1" 2>&1 | cat -v | tr '\n' '|')"
}

# wait_banner INSTANCE [CHANNEL] [TIMEOUT_S]
wait_banner() {
	wait_text "$MNT/$1/${2:-serial0}" "$BANNER" "${3:-2}"
}

# start_running INSTANCE: `echo start > ctl`, then the banner.
start_running() {
	ctl "$1" start
	wait_banner "$1"
}

# size_of FILE: st_size as stat(1) reports it
size_of() { stat -c %s -- "$1"; }

# assert_match REGEX VALUE WHAT: VALUE matches the extended REGEX (whole).
assert_match() {
	[[ $2 =~ ^$1$ ]] || fail "${3:-value}: \"$2\" does not match /^$1\$/"
}

# log_mentions INSTANCE TEXT: the instance's log contains TEXT.
log_mentions() { grep -qF -- "$2" "$MNT/$1/log"; }

# refused_after_stop INSTANCE FILE: FILE (under the instance), opened while
# it runs, then written once `stop` ended the run: ESRCH, with one line in
# log; then FILE is gone. The instance must be running.
refused_after_stop() {
	local inst=$1 file=$MNT/$1/$2 before err
	exec 7>"$file" || fail "open of $2 failed"
	ctl "$inst" stop
	log_settle "$inst"
	before=$(log_lines "$inst")
	err=$( { printf 1 >&7; } 2>&1) && fail "a write to an open $2 after stop succeeded"
	exec 7>&-
	grep -qF "No such process" <<<"$err" || fail "write to $2 after stop: \"$err\", expected ESRCH"
	assert_eq $((before + 1)) "$(log_lines "$inst")" "log lines after the refused write"
	expect_errno ENOENT stat "$file"
}

# assert_board_works INSTANCE: the test firmware's board (ast, with
# AST_GPIO_JSON) running: serial echo, a prop, the button driving the led
# through the firmware, and a command through the qmp file.
assert_board_works() {
	local d=$MNT/$1 g=$MNT/$1/gpio reply
	echo hello >"$d/serial0" || fail "echo hello > serial0 failed"
	wait_text "$d/serial0" "? hello" 3
	assert_match '[0-9]+' "$(cat "$d/props/machine/soc/hw-strap1")" \
		"props/machine/soc/hw-strap1"
	echo 1 >"$g/button" || fail "echo 1 > gpio/button failed"
	wait_for "[ \"\$(cat '$g/led')\" = 1 ]" 2 || fail "gpio/led did not follow the button"
	exec 3<>"$d/qmp"
	printf '{"execute": "query-status"}' >&3
	IFS= read -r -t 5 reply <&3 || fail "no reply on qmp"
	exec 3>&-
	[[ $reply == '{"return":'*'"status":"running"'* ]] || fail "qmp replied: $reply"
}

# gdb_session ADDR: a batch gdb-multiarch session on ADDR that reads pc and
# the words there, then detaches; or fail.
# (test_slurm.sh, test_attach.sh: a launched or attached QEMU's stub.)
gdb_session() {
	command -v gdb-multiarch >/dev/null 2>&1 ||
		fail "gdb-multiarch is not installed (scripts/setup-deps.sh)"
	local out
	out=$(timeout 30 gdb-multiarch -nx -batch -ex "target remote $1" \
		-ex 'info registers pc' -ex 'x/4x $pc' -ex detach 2>&1) ||
		fail "gdb-multiarch failed (status $?): $(tail -n 3 <<<"$out" | tr '\n' '|')"
	grep -qE '^pc +0x[0-9a-f]+' <<<"$out" || fail "gdb printed no pc: $(tr '\n' '|' <<<"$out")"
	grep -qE '^0x[0-9a-f]+:'$'\t''0x[0-9a-f]{8}' <<<"$out" ||
		fail "gdb read no memory at pc: $(tr '\n' '|' <<<"$out")"
	grep -q 'detached' <<<"$out" || fail "gdb did not detach: $(tr '\n' '|' <<<"$out")"
}

# gdb_relay_works ADDR: board0's gdb relay at ADDR is emufs's port on
# 127.0.0.1 (not QEMU's); two gdb sessions through it, the guest running
# on (serial ping, pong) after each.
gdb_relay_works() {
	local addr=$1
	assert_match '127\.0\.0\.1:[0-9]+' "$addr" "gdb"
	ss -tlnpH "src 127.0.0.1 and sport = :${addr##*:}" | grep -q "pid=$EMUFS_PID," ||
		fail "emufs does not listen on $addr: $(ss -tlnpH "sport = :${addr##*:}")"
	gdb_session "$addr"
	wait_state board0 running 2
	echo ping >"$MNT/board0/serial0" || fail "echo ping > serial0 failed"
	wait_text "$MNT/board0/serial0" pong 3
	gdb_session "$addr"
	wait_state board0 running 2
}

# pause_resume_with_events INST: pause and resume a running INST through
# ctl, each seen in `state` and as QEMU's STOP / RESUME in `events`.
pause_resume_with_events() {
	ctl "$1" pause
	assert_state "$1" paused
	wait_for "has_event $1 STOP" 2 || fail "no STOP event: $(events_of "$1" | tr '\n' ' ')"
	ctl "$1" resume
	assert_state "$1" running
	wait_for "has_event $1 RESUME" 2 || fail "no RESUME event"
}
