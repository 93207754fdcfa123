# test_examples.sh - the scripts in examples/ work as their comments say,
# on the demo board of `make run` (examples/demo.json, demo firmware).

EXAMPLES=$(cd "$TESTS_DIR/../../examples" && pwd)

# The demo config with the demo firmware of this build, in $CONFIG.
write_demo_config() {
	python3 - "$EXAMPLES/demo.json" "$CONFIG" "$DEMO_FIRMWARE" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["targets"]["ast-demo"]["qemu"]["kernel"] = sys.argv[3]
json.dump(cfg, open(sys.argv[2], "w"))
PY
}

# mount_demo: mount it; board0 autostarts and boots.
mount_demo() {
	write_demo_config
	mount_emufs
	timeout 10 grep -q -m1 -x running "$MNT/board0/follow/state" ||
		fail "demo board0 did not autostart"
	timeout 10 grep -q -m1 "demo ready" "$MNT/board0/follow/serial0" ||
		fail "demo board0 did not boot"
}

test_press_button_script_sees_the_led() {
	mount_demo
	out=$("$EXAMPLES/press-button.sh" "$MNT/board0") ||
		fail "press-button.sh failed: $out"
	case $out in *"LED is on"*"LED is off"*) ;;
		*) fail "unexpected output: $out" ;; esac
	unmount_emufs
}

test_watch_led_prints_each_change() {
	mount_demo
	"$EXAMPLES/watch-led.py" "$MNT/board0/gpio/led" 3 > "$SCRATCH/watch" &
	watcher=$!
	wait_for '[ -s "$SCRATCH/watch" ]' 5 || fail "watch-led.py printed nothing"
	echo 1 > "$MNT/board0/gpio/button"
	wait_for 'grep -q ": 1$" "$SCRATCH/watch"' 2 || fail "no change to 1 seen"
	echo 0 > "$MNT/board0/gpio/button"
	wait_for '[ "$(grep -c ": 0$" "$SCRATCH/watch")" -ge 2 ]' 2 ||
		fail "no change back to 0 seen"
	wait $watcher
	assert_eq "$(wc -l < "$SCRATCH/watch")" 3
	unmount_emufs
}

test_expect_script_talks_through_the_pty() {
	command -v expect >/dev/null || skip "expect is not installed"
	mount_demo
	out=$(timeout 30 "$EXAMPLES/console.exp" "$MNT/board0" 2>&1) ||
		fail "console.exp failed: $(printf '%s' "$out" | tail -5)"
	case $out in *"answered through its pty"*) ;;
		*) fail "unexpected output" ;; esac
	unmount_emufs
}

test_board_test_suite_passes() {
	mount_demo
	out=$("$EXAMPLES/board-test.sh" "$MNT" board0) ||
		fail "board-test.sh failed: $(printf '%s' "$out" | grep FAIL)"
	case $out in *"18 passed, 0 failed"*) ;;
		*) fail "unexpected summary: $(printf '%s' "$out" | tail -1)" ;; esac
	unmount_emufs
}

# `make run`'s hints (issue 14.6), as run-demo.sh prints them, run top to
# bottom in one shell that stops at the first failing line: each must
# work after the ones above it, and leave the board running. Then the
# SIGTERM of Ctrl-C unmounts, and emufs exits 0.
test_run_demo_hints_work_top_to_bottom() {
	local demo
	write_demo_config
	mkdir -p "$MNT"
	: >"$SCRATCH/demo.out"
	DEMO_MNT=$MNT DEMO_CONFIG=$CONFIG "$EXAMPLES/run-demo.sh" "$(dirname "$EMUFS")" \
		>"$SCRATCH/demo.out" 2>&1 &
	demo=$!
	wait_for 'grep -q "^Press Ctrl-C" "$SCRATCH/demo.out"' 40 ||
		fail "run-demo.sh printed no hints: $(tail -n 3 "$SCRATCH/demo.out" | tr '\n' '|')"
	sed -n '/^Try, in another terminal/,/^Press Ctrl-C/p' "$SCRATCH/demo.out" |
		sed '1d;$d;s/^  //' >"$SCRATCH/hints.sh"
	[ "$(wc -l <"$SCRATCH/hints.sh")" -ge 10 ] || fail "too few hints: $(cat "$SCRATCH/hints.sh")"
	timeout 45 sh -ex "$SCRATCH/hints.sh" >"$SCRATCH/hints.out" 2>&1 ||
		fail "a hint failed, the last one run: $(grep '^+' "$SCRATCH/hints.out" | tail -n 2 | tr '\n' '|')"
	assert_contains "$SCRATCH/hints.out" "18 passed, 0 failed"
	assert_eq running "$(cat "$MNT/board0/state")" "board0 after the last hint"
	kill -TERM "$demo"
	wait_exit "$demo" 20
	assert_eq 0 "$EXIT_STATUS" "run-demo.sh's status after SIGTERM"
	assert_contains "$SCRATCH/demo.out" "emufs exited with status 0"
}

# The README's quick start (issue 14), as written, top to bottom in one
# sh -e, with this build, its demo firmware and a scratch mountpoint in
# place of build/emufs, examples/demo.json and /tmp/emu. The daemonized
# emufs must be gone after the last line's fusermount3 -u.
test_readme_quick_start_works_top_to_bottom() {
	write_demo_config
	python3 - "$TESTS_DIR/../../README.md" >"$SCRATCH/quick.sh" <<'PY'
import re, sys
blocks = re.findall(r"```sh\n(.*?)```", open(sys.argv[1]).read(), re.S)
print(next(b for b in blocks if "build/emufs -c examples/demo.json" in b), end="")
PY
	sed -i -E "s@/tmp/emu([ /]|\$)@$MNT\1@g; s@build/emufs@$EMUFS@; s@examples/demo.json@$CONFIG@" "$SCRATCH/quick.sh"
	! grep -qE '/tmp/emu([ /]|$)' "$SCRATCH/quick.sh" || fail "the quick start names /tmp/emu after the substitution"
	(cd "$SCRATCH" && timeout 60 sh -ex quick.sh) >"$SCRATCH/quick.out" 2>&1 ||
		fail "a line failed, the last one run: $(grep '^+' "$SCRATCH/quick.out" | tail -n 2 | tr '\n' '|')"
	assert_contains "$SCRATCH/quick.out" "paused"
	is_mounted "$MNT" && fail "still mounted after the quick start's fusermount3 -u"
	wait_for '[ -z "$(emufs_pids)" ]' 15 || fail "emufs still runs after the unmount"
}

# The README shows examples/bats/demo.bats as it is (make examples-test
# runs the file).
test_readme_shows_the_bats_example_as_it_is() {
	python3 - "$TESTS_DIR/../.." <<'PY' || fail "README.md's bats block is not examples/bats/demo.bats"
import re, sys
top = sys.argv[1]
block = re.search(r"```bash\n(load emufs.*?)```", open(top + "/README.md").read(), re.S)
sys.exit(not block or block.group(1) not in open(top + "/examples/bats/demo.bats").read())
PY
}
