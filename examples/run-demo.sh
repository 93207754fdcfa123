#!/usr/bin/env bash
# run-demo.sh BUILD_DIR: mount the demo of examples/demo.json at ./demo in
# the foreground, show the board booting, and say what to try. Ctrl-C
# unmounts and stops the emulator. DEMO_MNT and DEMO_CONFIG change the
# mountpoint and the config (the integration test mounts in a scratch
# directory, with the firmware of its build).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
mnt=${DEMO_MNT:-$top/demo}
config=${DEMO_CONFIG:-$top/examples/demo.json}

mkdir -p "$mnt"
# A mount left behind by an emufs that was killed: clear it first.
if ! ls "$mnt" >/dev/null 2>&1; then
	fusermount3 -u -z "$mnt" 2>/dev/null
fi
if mountpoint -q "$mnt"; then
	echo "run-demo: $mnt is already mounted (fusermount3 -u $mnt)" >&2
	exit 1
fi

"$build/emufs" -f -c "$config" "$mnt" &
pid=$!
# Ctrl-C reaches this script; a background job of a script ignores
# SIGINT, so hand emufs a SIGTERM, which it treats the same way.
trap 'kill -TERM $pid 2>/dev/null' INT TERM

# The one wait follow/ cannot do: for the mount itself.
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 $pid 2>/dev/null || { wait $pid; exit $?; }
	sleep 0.1
done
timeout 30 grep -q -m1 'demo ready' "$mnt/board0/follow/serial0" ||
	echo "run-demo: board0 did not boot; its log: $mnt/board0/log" >&2

# The hints run top to bottom, each after the ones above it, in one shell
# (tests/integration/test_examples.sh runs them so): every one ends by
# itself, and the one that stops the board comes last, then a start.
b=$mnt/board0
cat <<MSG
emufs is mounted at $mnt; board0 was started by autostart.
Its UART so far (cat $b/serial0):
--------------------------------------------------------------------
$(cat "$b/serial0")
--------------------------------------------------------------------
Try, in another terminal, top to bottom:
  cd $top; b=$b
  ls \$b \$b/follow
  cat \$b/state
  cat \$b/serial0      # all it said so far; tail -f \$b/serial0 follows it
  echo help > \$b/serial0; timeout 5 grep -m1 -A8 '^commands:' \$b/follow/serial0
  echo 'echo hi' > \$b/serial0; timeout 5 grep -m1 '^hi' \$b/follow/serial0
  echo 'blink 4' > \$b/serial0; timeout 5 grep -m4 -x '[01]' \$b/follow/gpio/led
  echo 1 > \$b/gpio/button; timeout 1 grep -m1 -x 1 \$b/follow/gpio/led; echo 0 > \$b/gpio/button
  examples/press-button.sh \$b
  examples/watch-led.py \$b/gpio/led 2 & sleep 0.5; examples/press-button.sh \$b; wait
  ls \$b/props/machine/soc/gpio
  echo pause > \$b/ctl; cat \$b/state
  echo resume > \$b/ctl; cat \$b/state
  echo reset > \$b/ctl; timeout 10 grep -c -m2 'demo ready' \$b/follow/serial0
  echo stop > \$b/ctl; echo start > \$b/ctl; cat \$b/state
  cat \$b/events \$b/log
  examples/board-test.sh $mnt    # boots board0 afresh, tests it, stops it
  echo start > \$b/ctl; timeout 30 grep -m1 'demo ready' \$b/follow/serial0
Press Ctrl-C here to unmount and stop the board.
MSG
wait $pid
status=$?
# After SIGTERM wait returns early once; wait again for the exit status.
kill -0 $pid 2>/dev/null && { wait $pid; status=$?; }
echo "emufs exited with status $status"
exit $status
