# test_load.sh - concurrent readers while another instance cycles (issue 8,
# part 4; contract 3, 4). `make tsan` runs this file under ThreadSanitizer
# (INTEGRATION_FILTER=load) and `make asan` under ASan + UBSan; both write
# their reports to emufs's stderr, which mount_emufs collects in
# $SCRATCH/emufs.out: a report there fails the test.
#
# Two instances of the test firmware: a runs the whole time (a writer
# keeps its UART and its button busy), b is started and stopped 50 times.
# Meanwhile 8 reader threads read every kind of file of a (state, ctl,
# target, log, events, serial0, its .pty link, a property, both pins, the
# listing of a props directory, qmp query-status, gdb) and of b.
#
# b's cycles use `start paused` (then `stop`), four out of five times: it
# launches and connects everything a `start` does, but the firmware does not
# busy-poll a host core, so 50 cycles fit in about 20 s on 2 cores beside
# a's running QEMU; every fifth cycle is a full `start`, so b also runs.
# The cycles are spread over LOAD_SECONDS (default 20).
#
# Checked: every error is an errno of contract section 4 (counted per
# errno and printed), a's files give no error at all, no call hangs (each
# is watched; 20 s pending is a hang), the 50 cycles complete without an
# error, emufs is alive at the end with the same number of open file
# descriptors and the same files in b's state directory as before the
# load, the unmount is clean (exit status 0) and no QEMU is left.

# emufs_fds: open file descriptors of the emufs process
emufs_fds() { ls "/proc/$EMUFS_PID/fd" | wc -l; }

. "$TESTS_DIR/lib_faults.sh"

LOAD_PY='
import collections, errno, os, random, sys, threading, time
mnt, cycles, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
SECTION4 = {"EINVAL", "EBUSY", "EIO", "ESRCH", "EPERM", "EACCES", "ENOENT", "ETIMEDOUT"}
HANG_S = 20.0
MAX_S = seconds + 25
def ename(e): return errno.errorcode.get(e.errno, str(e.errno))
def rd(p, off=0):
    fd = os.open(p, os.O_RDONLY)
    try: return os.pread(fd, 65536, off)
    finally: os.close(fd)
def rd_tail(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        return os.pread(fd, 65536, max(0, size - 65536))
    finally: os.close(fd)
def rd_any(p, rnd):
    size = os.stat(p).st_size
    return rd(p, rnd.randint(0, size) if size else 0)
def qmp(p):
    fd = os.open(p, os.O_RDWR)
    try:
        os.write(fd, b"{\"execute\": \"query-status\"}")
        r = os.read(fd, 65536)
        if b"\"return\"" not in r:
            raise OSError(errno.EPROTO, "bad reply %r" % r[:80])
    finally: os.close(fd)
def wr(p, d):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try: os.write(fd, d)
    finally: os.close(fd)
def ops_of(i):
    d = mnt + "/" + i
    return [
        (i + " state", lambda r: rd(d + "/state")),
        (i + " ctl", lambda r: rd(d + "/ctl")),
        (i + " target", lambda r: rd(d + "/target")),
        (i + " log", lambda r: rd_tail(d + "/log")),
        (i + " events", lambda r: rd_tail(d + "/events")),
        (i + " serial0", lambda r: rd_any(d + "/serial0", r)),
        (i + " stat serial0", lambda r: os.stat(d + "/serial0")),
        (i + " serial0.pty", lambda r: os.readlink(d + "/serial0.pty")),
        (i + " props/machine/type", lambda r: rd(d + "/props/machine/type")),
        (i + " props gpioA1", lambda r: rd(d + "/props/machine/soc/gpio/gpioA1")),
        (i + " gpio/led", lambda r: rd(d + "/gpio/led")),
        (i + " gpio/button", lambda r: rd(d + "/gpio/button")),
        (i + " ls props/machine", lambda r: os.listdir(d + "/props/machine")),
        (i + " ls props", lambda r: os.listdir(d + "/props")),
        (i + " ls gpio", lambda r: os.listdir(d + "/gpio")),
        (i + " ls", lambda r: os.listdir(d)),
        (i + " qmp query-status", lambda r: qmp(d + "/qmp")),
        (i + " gdb", lambda r: rd(d + "/gdb")),
    ]
A, B = ops_of("a"), ops_of("b")
ROOT = [("ls mount", lambda r: os.listdir(mnt))]
lock = threading.Lock()
counts = collections.Counter()          # result -> n
per_op = collections.defaultdict(collections.Counter)
slowest = collections.defaultdict(float)
bad = []
current = {}
done = threading.Event()
def record(name, r, took):
    with lock:
        counts[r] += 1
        per_op[name][r] += 1
        if took > slowest[name]: slowest[name] = took
        if r != "OK" and (r not in SECTION4 or name.startswith("a ")) and len(bad) < 30:
            bad.append("%s: %s" % (name, r))
def run(tid, name, fn, rnd):
    current[tid] = (time.monotonic(), name)
    t = time.monotonic()
    try:
        fn(rnd); r = "OK"
    except OSError as e:
        r = ename(e)
    current[tid] = None
    record(name, r, time.monotonic() - t)
    return r
def reader(tid):
    rnd = random.Random(tid)
    while not done.is_set():
        k = rnd.random()
        name, fn = rnd.choice(A if k < 0.6 else B if k < 0.97 else ROOT)
        run(tid, name, fn, rnd)
writer_n = [0]
def writer():
    rnd, lvl = random.Random(99), 0
    while not done.is_set():
        if rnd.random() < 0.5:
            run("writer", "a write serial0", lambda r: wr(mnt + "/a/serial0", b"ping\n"), rnd)
        else:
            lvl ^= 1
            run("writer", "a write gpio/button", lambda r: wr(mnt + "/a/gpio/button", b"%d\n" % lvl), rnd)
        writer_n[0] += 1
        time.sleep(0.01)
cyc = {"done": 0, "times": [], "errors": []}
def cycler():
    t0 = time.monotonic()
    for n in range(cycles):
        cmd = b"start\n" if n % 5 == 4 else b"start paused\n"
        c0 = time.monotonic()
        for c in (cmd, b"stop\n"):
            r = run("cycler", "b ctl " + c.decode().strip(), lambda rr: wr(mnt + "/b/ctl", c), None)
            if r != "OK":
                cyc["errors"].append("cycle %d: %s: %s" % (n + 1, c.decode().strip(), r))
                return
            if c == cmd:
                time.sleep(0.05)
        cyc["times"].append(time.monotonic() - c0)
        cyc["done"] += 1
        # spread the cycles over the run
        lag = t0 + (n + 1) * seconds / cycles - time.monotonic()
        if lag > 0: time.sleep(lag)
threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(8)]
threads += [threading.Thread(target=writer, daemon=True)]
cyct = threading.Thread(target=cycler, daemon=True)
t0 = time.monotonic()
for t in threads + [cyct]: t.start()
def report(final):
    el = time.monotonic() - t0
    total = sum(counts.values())
    print("%d reader/writer ops in %.1fs: %.0f ops/s; cycles of b: %d of %d%s" % (
        total, el, total / el, cyc["done"], cycles,
        (", %.2f..%.2fs each" % (min(cyc["times"]), max(cyc["times"]))) if cyc["times"] else ""))
    print("results: " + " ".join("%s=%d" % kv for kv in sorted(counts.items())))
    errs = collections.Counter()
    for name, c in per_op.items():
        for r, k in c.items():
            if r != "OK": errs[name + ":" + r] += k
    print("errors by file: " + (" ".join("%s=%d" % kv for kv in sorted(errs.items())) or "none"))
    worst = sorted(slowest.items(), key=lambda kv: -kv[1])[:4]
    print("slowest: " + " ".join("%s=%.3fs" % kv for kv in worst))
    for b in bad: print("BAD " + b)
    for e in cyc["errors"]: print("BAD cycler " + e)
    sys.stdout.flush()
while True:
    now = time.monotonic()
    for tid, c in list(current.items()):
        if c and now - c[0] > HANG_S:
            report(False)
            print("HANG %s pending for %.1fs" % (c[1], now - c[0]))
            hang_exit()
    if not cyct.is_alive() and now - t0 >= seconds:
        break
    if now - t0 > MAX_S:
        report(False)
        print("BAD cycles not done after %.0fs" % MAX_S)
        sys.stdout.flush()
        os._exit(1)
    time.sleep(0.05)
done.set()
for t in threads: t.join(HANG_S)
if any(t.is_alive() for t in threads):
    print("HANG a thread did not finish"); hang_exit()
report(True)
sys.exit(1 if bad or cyc["errors"] or cyc["done"] < cycles else 0)
'

test_eight_readers_while_another_instance_cycles_50_times() {
	require_qemu
	fault_config "" a b
	mount_emufs
	ctl a start
	wait_for "grep -qF '$BANNER' '$MNT/a/serial0'" 3 || fail "no banner in a/serial0"
	# one cycle of b first, so that what emufs sets up once is there
	ctl b start paused
	ctl b stop
	sleep 0.3
	local fds0 files0 out rc=0 line
	fds0=$(emufs_fds)
	files0=$(ls -A "$STATE_DIR/b" | tr '\n' ' ')
	out=$(EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
		timeout 100 python3 -c "$HANG_EXIT_PY$LOAD_PY" "$MNT" "${LOAD_CYCLES:-50}" "${LOAD_SECONDS:-20}") || rc=$?
	while IFS= read -r line; do note "$line"; done <<<"$out"
	[ "$rc" -ne 124 ] || fail "the load did not end within 100 s"
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "$(grep -m 1 HANG <<<"$out"); emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -eq 0 ] || fail "$(grep -m 3 BAD <<<"$out" | tr '\n' '|')"
	alive "$EMUFS_PID" || fail "emufs died under load"
	assert_state a running
	assert_state b stopped
	echo ping >"$MNT/a/serial0" || fail "a/serial0 write after the load"
	assert_content "$MNT/a/props/machine/type" $'ast2500-evb-machine\n'
	# no leak: descriptors and state files as before
	sleep 0.3
	local fds1 files1
	fds1=$(emufs_fds)
	files1=$(ls -A "$STATE_DIR/b" | tr '\n' ' ')
	note "emufs: $fds0 open descriptors before the load, $fds1 after; $(grep -E '^(VmRSS|Threads)' "/proc/$EMUFS_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
	[ "$fds1" -le "$fds0" ] || fail "emufs holds $fds1 descriptors after the load, $fds0 before: $(ls -l "/proc/$EMUFS_PID/fd" | awk '{print $NF}' | sort | uniq -c | sort -rn | head -n 5 | tr '\n' '|')"
	[ "$files1" = "$files0" ] || fail "b's state directory had \"$files0\" before the load, \"$files1\" after"
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}
