#!/usr/bin/env bash
# run-demo.sh BUILD_DIR: mount the demo of examples/demo.json at ./demo in
# the foreground, show the board booting, and say what to try. Ctrl-C
# unmounts and stops the emulator.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
mnt=$top/demo

mkdir -p "$mnt"
# A mount left behind by an emufs that was killed: clear it first.
if ! ls "$mnt" >/dev/null 2>&1; then
	fusermount3 -u -z "$mnt" 2>/dev/null
fi
if mountpoint -q "$mnt"; then
	echo "run-demo: $mnt is already mounted (fusermount3 -u $mnt)" >&2
	exit 1
fi

"$build/emufs" -f -c "$top/examples/demo.json" "$mnt" &
pid=$!
# Ctrl-C reaches this script; a background job of a script ignores
# SIGINT, so hand emufs a SIGTERM, which it treats the same way.
trap 'kill -TERM $pid 2>/dev/null' INT TERM

for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 $pid 2>/dev/null || { wait $pid; exit $?; }
	sleep 0.1
done
for _ in $(seq 100); do
	grep -q 'demo>' "$mnt/board0/serial0" 2>/dev/null && break
	sleep 0.1
done

cat <<MSG
emufs is mounted at $mnt; board0 was started by autostart.
Its UART so far (cat $mnt/board0/serial0):
--------------------------------------------------------------------
$(cat "$mnt/board0/serial0")
--------------------------------------------------------------------
Try, in another terminal:
  ls $mnt/board0
  cat $mnt/board0/state
  tail -f $mnt/board0/serial0
  echo help > $mnt/board0/serial0
  echo 'blink 3' > $mnt/board0/serial0
  echo 1 > $mnt/board0/gpio/button; cat $mnt/board0/gpio/led
  examples/press-button.sh $mnt/board0
  examples/watch-led.py $mnt/board0/gpio/led
  ls $mnt/board0/props/machine/soc/gpio
  examples/board-test.sh $mnt
  echo pause > $mnt/board0/ctl; cat $mnt/board0/state
  echo resume > $mnt/board0/ctl
  echo reset > $mnt/board0/ctl
  echo stop > $mnt/board0/ctl; echo start > $mnt/board0/ctl
  cat $mnt/board0/events $mnt/board0/log
Press Ctrl-C here to unmount and stop the board.
MSG
wait $pid
status=$?
# After SIGTERM wait returns early once; wait again for the exit status.
kill -0 $pid 2>/dev/null && { wait $pid; status=$?; }
echo "emufs exited with status $status"
exit $status
