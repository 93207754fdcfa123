# test_examples.sh - the scripts in examples/ work as their comments say,
# on the demo board of `make run` (examples/demo.json, demo firmware).

EXAMPLES=$(cd "$TESTS_DIR/../../examples" && pwd)

# The demo config with the demo firmware of this build.
mount_demo() {
	python3 - "$EXAMPLES/demo.json" "$CONFIG" "$DEMO_FIRMWARE" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["targets"]["ast-demo"]["qemu"]["kernel"] = sys.argv[3]
json.dump(cfg, open(sys.argv[2], "w"))
PY
	mount_emufs
	wait_for '[ "$(cat "$MNT/board0/state")" = running ]' 10 ||
		fail "demo board0 did not autostart"
	wait_for 'grep -q "demo ready" "$MNT/board0/serial0"' 10 ||
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
