# test_disk.sh - what a file reads under load and when the disk is full
# (issue 12): small files are one snapshot per read (contract 3.2), one
# open qmp file serves a reader and a writer at once (3.6), the FUSE
# worker pool shrinks after a burst, and a full state directory is never
# silent (3.3).

. "$TESTS_DIR/lib_extra.sh"

setup_running() {
	require_qemu
	write_ast_config "$@"
	mount_emufs
	start_running board0
}

# ---- small files: one snapshot per read ----------------------------------------

# While a loop pauses and resumes the guest, every `cat state` (open, read
# until 0) reads one whole state line, never the start of one state and
# the end of another ("paused\n\n", "running\n\n" before the fix).
test_cat_state_is_never_torn_while_pause_resume_loops() {
	setup_running
	local out
	out=$(timeout 40 python3 - "$MNT/board0" <<'EOF'
import os, sys, threading, time
d = sys.argv[1]
states = {s + "\n" for s in ("stopped", "starting", "running", "paused",
                             "stopping", "exited", "crashed")}
stop = False
flips = 0
def flipper():
    global flips
    while not stop:
        for cmd in (b"pause\n", b"resume\n"):
            fd = os.open(d + "/ctl", os.O_WRONLY)
            os.write(fd, cmd)
            os.close(fd)
            flips += 1
t = threading.Thread(target=flipper)
t.start()
reads = torn = 0
seen = {}
examples = []
end = time.monotonic() + 6
while time.monotonic() < end:
    for name in ("state", "ctl"):
        fd = os.open(d + "/" + name, os.O_RDONLY)
        data = b""
        while True:                # as cat does: read until 0
            chunk = os.read(fd, 131072)
            if not chunk:
                break
            data += chunk
        os.close(fd)
        text = data.decode(errors="replace")
        reads += 1
        seen[text] = seen.get(text, 0) + 1
        if text not in states:
            torn += 1
            if len(examples) < 5:
                examples.append(repr(text))
stop = True
t.join()
if torn:
    print("%d of %d reads torn, e.g. %s" % (torn, reads, ", ".join(examples)))
elif seen.get("running\n", 0) < 10 or seen.get("paused\n", 0) < 10 or flips < 50:
    print("the loop did not alternate: %d flips, reads %r" % (flips, seen))
else:
    print("OK %d reads, %d flips" % (reads, flips))
EOF
)
	note "$out"
	case $out in OK*) ;; *) fail "cat state under pause/resume: $out" ;; esac
	# a shell `cat` too, as the user types it
	local i s
	for i in $(seq 200); do
		s=$(cat "$MNT/board0/state"; echo x)
		case $s in running$'\n'x | paused$'\n'x) ;;
		*) fail "cat state read $(printf %q "${s%x}")" ;; esac
	done
	[ "$(state_of board0)" = paused ] && ctl board0 resume
	ctl board0 stop
	unmount_emufs
}

# A read that goes on from where the last one ended serves the text the
# read at offset 0 took, even when the state changed in between.
test_a_read_that_goes_on_after_a_state_change_serves_the_same_line() {
	setup_running
	local out
	out=$(timeout 20 python3 - "$MNT/board0" <<'EOF'
import os, sys
d = sys.argv[1]
fd = os.open(d + "/state", os.O_RDONLY)
first = os.pread(fd, 3, 0)           # takes the snapshot: "run"
ctl = os.open(d + "/ctl", os.O_WRONLY)
os.write(ctl, b"pause\n")
os.close(ctl)
rest = os.pread(fd, 100, 3)          # the same snapshot: "ning\n"
again = os.pread(fd, 100, 0)         # from the start: a new one
os.close(fd)
text = (first + rest).decode()
print("OK" if text == "running\n" and again == b"paused\n" else
      "read %r, then %r from offset 0" % (text, again))
EOF
)
	assert_eq OK "$out" "a read that goes on after a pause"
	ctl board0 stop
	unmount_emufs
}

# ---- qmp: a reader and a writer on one open file ---------------------------------

# One thread writes commands on an open qmp file while another reads the
# replies from the same file: every reply arrives whole, once, in order.
# EMUFS_TEST_RAW_JOIN_DELAY_US (fs/ops.c) holds each write for 2 ms
# between taking the unread replies and storing them with the new one;
# without a lock the reader took bytes there that then came again.
test_qmp_one_open_file_read_and_written_at_once_loses_no_reply() {
	export EMUFS_TEST_RAW_JOIN_DELAY_US=2000
	setup_running
	local out
	out=$(timeout 50 python3 - "$MNT/board0/qmp" <<'EOF'
import ctypes, json, os, sys, threading, time
fd = os.open(sys.argv[1], os.O_RDWR)
N = 500
done = False
got = bytearray()
# read(2) and write(2) on one open file are serialized by the kernel
# (f_pos_lock); Linux AIO (io_submit) is not, so the reader uses it.
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_io_setup, SYS_io_getevents, SYS_io_submit = 206, 208, 209
class Iocb(ctypes.Structure):
    _fields_ = [("data", ctypes.c_uint64), ("key", ctypes.c_uint32),
                ("rw_flags", ctypes.c_uint32), ("opcode", ctypes.c_uint16),
                ("reqprio", ctypes.c_int16), ("fildes", ctypes.c_uint32),
                ("buf", ctypes.c_uint64), ("nbytes", ctypes.c_uint64),
                ("offset", ctypes.c_int64), ("reserved2", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("resfd", ctypes.c_uint32)]
class Event(ctypes.Structure):
    _fields_ = [("data", ctypes.c_uint64), ("obj", ctypes.c_uint64),
                ("res", ctypes.c_int64), ("res2", ctypes.c_int64)]
ctx = ctypes.c_ulong(0)
assert libc.syscall(SYS_io_setup, 1, ctypes.byref(ctx)) == 0
rbuf = ctypes.create_string_buffer(5)
def aio_read():
    cb = Iocb(opcode=0, fildes=fd, nbytes=5,   # IOCB_CMD_PREAD
              buf=ctypes.addressof(rbuf))
    cbp = ctypes.pointer(cb)
    if libc.syscall(SYS_io_submit, ctx, 1, ctypes.byref(cbp)) != 1:
        raise OSError(ctypes.get_errno(), "io_submit")
    ev = Event()
    if libc.syscall(SYS_io_getevents, ctx, 1, 1, ctypes.byref(ev), None) != 1:
        raise OSError(ctypes.get_errno(), "io_getevents")
    if ev.res < 0:
        raise OSError(-ev.res, "aio read")
    return rbuf.raw[:ev.res]
def reader():
    while True:
        chunk = aio_read()          # small and slow: the reader lags,
        if chunk:                   # so each write finds unread bytes
            got.extend(chunk)
            time.sleep(0.0005)
        elif done:
            return
t = threading.Thread(target=reader)
t.start()
for i in range(N):
    os.write(fd, b'{"execute": "query-status", "id": %d}' % i)
done = True
t.join()
ids, bad = [], []
for line in got.decode(errors="replace").splitlines():
    try:
        ids.append(json.loads(line)["id"])
    except Exception:
        bad.append(line[:60])
if bad:
    print("%d lines that are not replies, e.g. %r" % (len(bad), bad[:3]))
elif ids != list(range(N)):
    missing = sorted(set(range(N)) - set(ids))
    print("%d replies, %d missing (e.g. %r), order ok: %s" % (
        len(ids), len(missing), missing[:5], ids == sorted(ids)))
else:
    print("OK")
EOF
)
	assert_eq OK "$out" "replies read beside the writer"
	ctl board0 stop
	unmount_emufs
}

# ---- the FUSE worker pool --------------------------------------------------------

threads_of() { ls "/proc/$1/task" 2>/dev/null | wc -l; }

# A burst of 48 concurrent readers makes libfuse start workers; once it is
# over, emufs keeps no more than a few idle (it kept all of them before).
# burst_threads SECONDS: 48 threads read a property for SECONDS at once;
# prints the peak thread count of emufs seen meanwhile.
burst_threads() {
	local peak=0 n pid end
	end=$(( $(_now_us) + $1 * 1000000 ))
	# threads blocked in read() at once: each property read waits on a
	# QMP round trip, so the requests overlap and libfuse adds workers
	python3 - "$MNT/board0" "$end" >"$SCRATCH/burst.out" <<'EOF' &
import os, sys, threading, time
d, end = sys.argv[1], int(sys.argv[2]) / 1e6
ok = [0]
def reader():
    while time.time() < end:
        with open(os.path.join(d, "props/machine/type"), "rb") as f:
            if f.read(4096):
                ok[0] += 1
ts = [threading.Thread(target=reader) for _ in range(48)]
for t in ts: t.start()
for t in ts: t.join()
print(ok[0])
EOF
	pid=$!
	while [ "$(_now_us)" -lt "$end" ]; do
		n=$(threads_of "$EMUFS_PID")
		[ "$n" -gt "$peak" ] && peak=$n
		sleep 0.05
	done
	wait "$pid" || fail "the burst's readers failed: $(cat "$SCRATCH/burst.out")"
	echo "$peak"
}

test_fuse_workers_fall_back_after_a_burst() {
	setup_running
	local before peak=0 i try
	before=$(threads_of "$EMUFS_PID")
	# On a loaded machine the readers may not overlap enough at first:
	# a burst that did not grow the pool proves nothing, so try again.
	for try in 1 2 3; do
		peak=$(burst_threads 3) || fail "the burst's readers failed: $(cat "$SCRATCH/burst.out")"
		[ "$peak" -ge $((before + 10)) ] && break
		note "burst $try grew the pool only to $peak threads"
	done
	note "emufs threads: $before before, $peak at the peak of the burst"
	[ "$peak" -ge $((before + 10)) ] ||
		fail "the burst did not grow the pool ($before -> $peak threads): the test proves nothing"
	# a few requests after the burst let idle workers notice they are spare
	for i in $(seq 20); do cat "$MNT/board0/state" >/dev/null; done
	wait_for "[ \$(threads_of $EMUFS_PID) -le $((before + 5)) ]" 5 ||
		fail "emufs still has $(threads_of "$EMUFS_PID") threads after the burst (before: $before, peak: $peak)"
	note "after the burst: $(threads_of "$EMUFS_PID") threads"
	ctl board0 stop
	unmount_emufs
}

# ---- a full state directory ----------------------------------------------------

# small_state_dir: the state directory on a 2 MiB tmpfs of this test's
# own, lazily unmounted when the test ends (lib.sh and the runner unmount
# only FUSE mounts).
small_state_dir() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	SMALL=$SCRATCH/small
	mkdir -p "$SMALL"
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$SMALL" ||
		skip "cannot mount a tmpfs"
	# before lib.sh's cleanup (which exits), keeping the test's status
	trap 'st=$?; umount -l "$SMALL" 2>/dev/null; (exit $st); _lib_cleanup' EXIT
	STATE_DIR=$SMALL/state
}

# fill_disk: a file that takes every free block of the tmpfs.
fill_disk() {
	dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null
	[ "$(df --output=avail -B1 "$SMALL" | tail -n 1)" -lt 65536 ] ||
		fail "the tmpfs is not full: $(df -h "$SMALL" | tail -n 1)"
}

# events_json INSTANCE EVENT: the data of each EVENT in events, one JSON
# object a line.
events_json() {
	python3 - "$MNT/$1/events" "$2" <<'EOF'
import json, sys
for raw in open(sys.argv[1], "rb").read().decode(errors="replace").splitlines():
    ev = json.loads(raw)           # every line is whole JSON
    if ev["event"] == sys.argv[2]:
        print(json.dumps(ev["data"], sort_keys=True))
EOF
}

# Serial output on a full disk: the guest runs on, st_size counts every
# byte it sent, `log` and `events` say from which offset output is lost
# (even while they cannot be written themselves), and when there is room
# again the bytes that follow are at their own offsets and the notice
# states the lost range.
test_full_state_dir_is_never_silent_and_keeps_offsets() {
	require_qemu
	small_state_dir
	write_ast_config
	mount_emufs
	start_running board0
	local S0=$MNT/board0/serial0 total from to data
	fill_disk
	echo 'burst 100000' >"$S0" || fail "echo burst > serial0 failed"
	# banner, echoed command, pattern, trailer: all counted
	total=$((27 + 13 + 100000 + 14))
	wait_for "[ \$(size_of '$S0') -eq $total ]" 20 ||
		fail "serial0 stopped at $(size_of "$S0") bytes, the guest sent $total"
	assert_state board0 running
	# the notice, at the end of log and in events, while the disk is full
	wait_for "tail -n 2 '$MNT/board0/log' | grep -q 'serial0: cannot write'" 5 ||
		fail "no notice at the end of log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	data=$(events_json board0 EMUFS_LOG_ERROR | grep '"file": "serial0"') ||
		fail "no EMUFS_LOG_ERROR for serial0 in events: $(events_of board0 | tr '\n' ' ')"
	from=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["from"])' "$data")
	note "serial0 lost from offset $from; log: $(tail -n 1 "$MNT/board0/log")"
	[ "$from" -ge 27 ] && [ "$from" -lt "$total" ] ||
		fail "lost from offset $from: not within the burst (0-$total)"
	assert_contains "$MNT/board0/log" "output from offset $from on is lost"
	# cat reads every offset: what was written, then NUL bytes
	assert_eq "$total" "$(cat "$S0" | wc -c)" "bytes cat reads while lost"

	rm -f "$SMALL/filler"
	echo ping >"$S0" || fail "echo ping > serial0 failed"
	wait_for "[ \$(size_of '$S0') -eq $((total + 11)) ]" 10 ||
		fail "serial0 is $(size_of "$S0") bytes after ping, expected $((total + 11))"
	wait_for "grep -q 'serial0: writing again' '$MNT/board0/log'" 5 ||
		fail "log does not say serial0 writes again: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	assert_contains "$MNT/board0/log" "bytes $from-$total ($((total - from)) bytes) were lost"
	data=$(events_json board0 EMUFS_LOG_RESUMED | grep '"file": "serial0"') ||
		fail "no EMUFS_LOG_RESUMED for serial0 in events"
	assert_eq "{\"file\": \"serial0\", \"instance\": \"board0\", \"lost_from\": $from, \"lost_to\": $total}" "$data" "EMUFS_LOG_RESUMED"
	# every offset means what it says: the stream up to from, NUL bytes
	# in the lost range, and the ping exchange at its own offset
	local why
	why=$(python3 - "$S0" "$FIRMWARE_SRC" "$from" "$total" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import check_burst
data = open(sys.argv[1], "rb").read()
lo, hi = int(sys.argv[3]), int(sys.argv[4])
stream = (b"emufs-test-firmware ready\r\n" + b"burst 100000\n" +
          check_burst.expected(100000) + b"\r\nBURST DONE\r\n")
if data[:lo] != stream[:lo]:
    print("the bytes before %d are not the stream's" % lo)
elif data[lo:hi] != bytes(hi - lo):
    print("the lost range %d-%d does not read as NUL bytes" % (lo, hi))
elif data[hi:] != b"ping\npong\r\n":
    print("after the lost range: %r" % data[hi:hi + 40])
EOF
)
	[ -z "$why" ] || fail "serial0 after the full disk: $why"
	ctl board0 stop
	unmount_emufs
}
