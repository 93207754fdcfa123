#!/usr/bin/env python3
"""check_burst.py: validate a "burst N" captured from the test firmware.

The firmware's burst is the first N bytes of lines 0, 1, 2, ... where
line k is k as 8 zero-padded digits followed by TAIL (64 bytes a line),
then the trailer "\\r\\nBURST DONE\\r\\n". The capture may hold anything
before the burst (banner, the echoed command); the N bytes just before
the first trailer must be the pattern.

    check_burst.py N [FILE]     (FILE defaults to stdin)

Exit status 0 if the burst is complete and correct, 1 otherwise, with the
first problem on stderr. Tests can also import expected() and check().
"""
import sys

TAIL = b" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n"
LINE = 64
TRAILER = b"\r\nBURST DONE\r\n"
assert 8 + len(TAIL) == LINE


def expected(n):
    """The first n bytes of the burst pattern."""
    lines = (n + LINE - 1) // LINE
    return b"".join(b"%08d" % k + TAIL for k in range(lines))[:n]


def check(data, n):
    """Return None if data holds a correct n-byte burst, else the problem."""
    end = data.find(TRAILER)
    if end < 0:
        return "no %r trailer in %d bytes captured" % (TRAILER, len(data))
    if end < n:
        return "only %d bytes before the trailer, expected %d" % (end, n)
    got, want = data[end - n:end], expected(n)
    if got == want:
        return None
    first = next(i for i in range(n) if got[i] != want[i])
    return "first difference at burst offset %d (line %d): got %r, want %r" % (
        first, first // LINE, got[first:first + 16], want[first:first + 16])


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].isdigit():
        sys.stderr.write(__doc__)
        return 2
    n = int(argv[1])
    if len(argv) == 3:
        with open(argv[2], "rb") as f:
            data = f.read()
    else:
        data = sys.stdin.buffer.read()
    problem = check(data, n)
    if problem:
        sys.stderr.write("check_burst: %s\n" % problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
