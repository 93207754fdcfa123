#!/usr/bin/env python3
"""watch-led.py PIN_FILE [SECONDS]: print every change of a pin, the sysfs way.

poll() on an open pin file reports POLLPRI|POLLERR when the level changed
since the file was last read; then seek to 0 and read the new level.
Example, after `make run`:  examples/watch-led.py demo/board0/gpio/led
and in another terminal:    echo 1 > demo/board0/gpio/button

Changes that come faster than the reads are seen as one. To get every
change in order, with no poll() at all, read the pin's follow/ twin: a
line per level, `cat demo/board0/follow/gpio/led`.
"""
import os
import select
import sys
import time


def main():
    path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0
    fd = os.open(path, os.O_RDONLY)
    level = os.pread(fd, 8, 0).decode().strip()   # reading arms poll
    print(f"{path}: {level}", flush=True)
    poller = select.poll()
    poller.register(fd, select.POLLPRI | select.POLLERR)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if not poller.poll(left * 1000):
            continue
        level = os.pread(fd, 8, 0).decode().strip()
        print(f"{path}: {level}", flush=True)
    os.close(fd)


if __name__ == "__main__":
    main()
