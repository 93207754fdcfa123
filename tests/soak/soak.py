# soak.py - the load of `make soak` (tests/soak/soak.sh starts it on a live
# mount with two stopped instances and judges what it prints).
#
#   python3 soak.py MNT STATE_DIR EMUFS_PID SECONDS INSTANCE...
#
# Threads, for SECONDS:
#   - SOAK_WRITERS (16) ctl writers: random commands, valid and not, to a
#     random instance, one write(2) per open, 0 to 500 ms apart;
#   - SOAK_READERS (8) readers of every file of every instance (state, ctl,
#     target, log, events, serial0 and its .pty, props files and
#     listings, both pins, poll() on a pin, qmp, gdb, the listings), 0 to
#     SOAK_READER_PAUSE_S (10 ms) apart;
#   - a killer: SIGKILL of a random running QEMU every 5 to 15 s
#     (SOAK_KILL_MIN_S, SOAK_KILL_MAX_S);
#   - a watchdog (the main thread): an operation pending for SOAK_HANG_S
#     (30) is a hang: emufs's stacks are saved and it is killed
#     (hang_exit(), from lib_faults.sh's HANG_EXIT_PY in the environment);
#     emufs dying ends the run at once.
# Content is checked where it is known: state and ctl hold one state word
# and a newline, target "ast\n", a pin "0\n" or "1\n", gdb "host:port\n".
#
# Then: every refused ctl write must have left one line in its instance's
# `log` (contract section 4). The writers count their refusals (any
# errno) per instance; the log lines that say a ctl write was refused are
# emufs's "emufs: <command> refused: " and "emufs: <command> failed: ",
# which only a ctl write produces (src/ctl.c, src/instance.c: start,
# stop, kill, reset, pause, resume; the exits the killer causes are logged
# as "<how>: the emulator ...", a refused qmp write as "write to qmp
# refused", and neither matches). They are counted wherever they start in
# a line, after their timestamp: the emulator's stderr goes to the same
# log in raw chunks, so an emufs line may follow a partial line of QEMU's.
# No other writer of ctl runs (no autostart; the end's stops come after
# the count), the log has no cap in reach (soak.sh sets log_cap_bytes to
# 4 GiB; a shrunk log voids the count) and is never reset, and the line
# is appended before the refusal returns; so the two counts must be
# equal, not merely close. The lines there before the load are subtracted.
#
# At the end the instances that run are stopped, and emufs gets up to
# SOAK_SETTLE_S (15) to bring its descriptors and threads back to their
# count before the load; its RSS must be within 10 % of the start.
#
# Prints a summary, then one "BAD ..." line per failure. Exit status 0,
# 1 (failures) or 3 (a hang).
import collections
import errno
import os
import random
import re
import select
import signal
import sys
import threading
import time

exec(os.environ["HANG_EXIT_PY"])  # hang_exit()

mnt, state_dir, emufs_pid, seconds = (sys.argv[1], sys.argv[2],
                                      int(sys.argv[3]), float(sys.argv[4]))
instances = sys.argv[5:]
WRITERS = int(os.environ.get("SOAK_WRITERS", 16))
READERS = int(os.environ.get("SOAK_READERS", 8))
HANG_S = float(os.environ.get("SOAK_HANG_S", 30))
KILL_MIN_S = float(os.environ.get("SOAK_KILL_MIN_S", 5))
KILL_MAX_S = float(os.environ.get("SOAK_KILL_MAX_S", 15))
READER_PAUSE_S = float(os.environ.get("SOAK_READER_PAUSE_S", 0.01))
SETTLE_S = float(os.environ.get("SOAK_SETTLE_S", 15))
# contract section 4: what any call may fail with
SECTION4 = {"EINVAL", "EBUSY", "EIO", "ESRCH", "EPERM", "EACCES", "ENOENT",
            "ETIMEDOUT"}
STATES = {b"stopped", b"starting", b"running", b"paused", b"stopping",
          b"exited", b"crashed"}
# (what is written to ctl, weight per mille). Refused ones included on
# purpose; few stops and kills (with the killer's), so that an instance
# runs for seconds at a time and its props, pins, qmp and serial are read
# while it runs, not only refused.
CTL_CMDS = [(b"start\n", 160), (b"start paused\n", 60), (b"stop\n", 8),
            (b"kill\n", 3), (b"reset\n", 140), (b"pause\n", 200),
            (b"resume\n", 200), (b"pause\nresume\n", 80), (b"bogus\n", 50),
            (b"start now\n", 40), (b"\n", 40), (b"stop\nbogus\n", 19)]
REFUSAL_RE = re.compile(rb"\.\d{3} emufs: (?:ctl|start|stop|kill|reset|pause"
                        rb"|resume) (?:refused|failed): ")


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


class Bad(Exception):
    """Content that breaks the contract (not an errno)."""


def rd(p, off=0, n=65536):
    fd = os.open(p, os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


def expect(data, ok, what):
    if not ok:
        raise Bad("%s read %r" % (what, data[:60]))


def rd_state(p):
    d = rd(p)
    expect(d, d.endswith(b"\n") and d[:-1] in STATES, "state")


def rd_target(p):
    d = rd(p)
    expect(d, d == b"ast\n", "target")


def rd_tail(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        return os.pread(fd, 65536, max(0, size - 65536))
    finally:
        os.close(fd)


def rd_any(p, rnd):
    size = os.stat(p).st_size
    return rd(p, rnd.randint(0, size) if size else 0, 4096)


def rd_pin(p):
    d = rd(p)
    expect(d, d in (b"0\n", b"1\n"), "pin")


def poll_pin(p):
    """poll() on an open pin: POLLPRI when it changed since the last read."""
    fd = os.open(p, os.O_RDONLY)
    try:
        os.read(fd, 16)
        pl = select.poll()
        pl.register(fd, select.POLLPRI | select.POLLERR)
        pl.poll(50)
    finally:
        os.close(fd)


def rd_gdb(p):
    d = rd(p)
    expect(d, re.fullmatch(rb"[^\s:]+:\d+\n", d) is not None, "gdb")


def qmp(p):
    fd = os.open(p, os.O_RDWR)
    try:
        os.write(fd, b'{"execute": "query-status"}')
        r = os.read(fd, 65536)
        expect(r, b'"return"' in r, "qmp reply")
    finally:
        os.close(fd)


def props_files(d, limit=200):
    """Up to limit property files below d (walked once, while running)."""
    found = []
    for top, dirs, files in os.walk(d):
        found += [os.path.join(top, f) for f in files]
        if len(found) >= limit or top.count("/") - d.count("/") >= 3:
            dirs[:] = []
    return found[:limit]


def reads_of(i, props):
    d = mnt + "/" + i
    ops = [
        ("state", lambda r: rd_state(d + "/state")),
        ("ctl", lambda r: rd_state(d + "/ctl")),
        ("target", lambda r: rd_target(d + "/target")),
        ("log", lambda r: rd_tail(d + "/log")),
        ("events", lambda r: rd_tail(d + "/events")),
        ("serial0", lambda r: rd_any(d + "/serial0", r)),
        ("stat serial0", lambda r: os.stat(d + "/serial0")),
        ("serial0.pty", lambda r: os.readlink(d + "/serial0.pty")),
        ("props/machine/type", lambda r: rd(d + "/props/machine/type")),
        ("props (any file)", lambda r: rd(r.choice(props))),
        ("ls props/machine", lambda r: os.listdir(d + "/props/machine")),
        ("ls props", lambda r: os.listdir(d + "/props")),
        ("gpio/led", lambda r: rd_pin(d + "/gpio/led")),
        ("gpio/button", lambda r: rd_pin(d + "/gpio/button")),
        ("poll gpio/led", lambda r: poll_pin(d + "/gpio/led")),
        ("ls gpio", lambda r: os.listdir(d + "/gpio")),
        ("qmp", lambda r: qmp(d + "/qmp")),
        ("gdb", lambda r: rd_gdb(d + "/gdb")),
        ("ls instance", lambda r: os.listdir(d)),
    ]
    return [(i + " " + name, fn) for name, fn in ops]


# ---- bookkeeping ---------------------------------------------------------

lock = threading.Lock()               # protects everything below
per_op = collections.defaultdict(collections.Counter)  # op -> result -> n
by_errno = collections.Counter()
refusals = collections.Counter()      # instance -> refused ctl writes
bad = []                              # failures, for the summary
current = {}                          # thread -> (since, op) or None
kills = collections.Counter()
done = threading.Event()


def record(name, result, inst=None, is_ctl=False):
    with lock:
        per_op[name][result] += 1
        if result != "OK":
            by_errno[result] += 1
        if is_ctl and result != "OK":
            refusals[inst] += 1
        if result != "OK" and result not in SECTION4 and len(bad) < 40:
            bad.append("%s: %s" % (name, result))


def run(tid, name, fn, rnd, inst=None, is_ctl=False):
    current[tid] = (time.monotonic(), name)
    try:
        fn(rnd)
        r = "OK"
    except OSError as e:
        r = ename(e)
    except Bad as e:
        r = "BADCONTENT"
        with lock:
            if len(bad) < 40:
                bad.append("%s: %s" % (name, e))
    current[tid] = None
    record(name, r, inst, is_ctl)
    return r


def write_ctl(inst, cmd):
    fd = os.open("%s/%s/ctl" % (mnt, inst), os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, cmd)
    finally:
        os.close(fd)


def writer(tid):
    rnd = random.Random(1000 + tid)
    cmds, weights = zip(*CTL_CMDS)
    while not done.is_set():
        inst = rnd.choice(instances)
        cmd = rnd.choices(cmds, weights)[0]
        name = "ctl %s" % (cmd.decode().strip().replace("\n", "+") or
                           "(empty line)")
        run(tid, name, lambda r: write_ctl(inst, cmd), rnd, inst, True)
        done.wait(rnd.uniform(0, 0.5))


def reader(tid, ops):
    rnd = random.Random(tid)
    while not done.is_set():
        if rnd.random() < 0.02:
            run(tid, "ls mount", lambda r: os.listdir(mnt), rnd)
        else:
            name, fn = rnd.choice(ops)
            run(tid, name, fn, rnd)
        # paced: a soak looks for what accumulates, on a shared machine
        done.wait(rnd.uniform(0, READER_PAUSE_S))


def qemu_of(inst):
    """Pids of QEMUs whose command line names inst's state directory."""
    want = ("%s/%s/" % (state_dir, inst)).encode()
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cl = f.read()
        except OSError:
            continue
        if cl.startswith(b"qemu-system") or b"/qemu-system" in cl.split(b"\0")[0]:
            if want in cl:
                pids.append(int(p))
    return pids


def killer():
    """SIGKILL of the QEMU of a random instance among those that have one."""
    rnd = random.Random(7)
    while not done.wait(rnd.uniform(KILL_MIN_S, KILL_MAX_S)):
        running = [(i, p) for i in instances for p in qemu_of(i)]
        if not running:
            continue
        inst, pid = rnd.choice(running)
        try:
            os.kill(pid, signal.SIGKILL)
            with lock:
                kills[inst] += 1
        except OSError:
            pass  # it ended meanwhile


def proc_status():
    """emufs's (fds, threads, RSS in kB)."""
    fds = len(os.listdir("/proc/%d/fd" % emufs_pid))
    st = {}
    with open("/proc/%d/status" % emufs_pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()
    return fds, int(st["Threads"][0]), int(st["VmRSS"][0])


def fd_kinds():
    """emufs's descriptors by what they are (a path, pipe, socket, ...)."""
    kinds = collections.Counter()
    for f in os.listdir("/proc/%d/fd" % emufs_pid):
        try:
            kinds[os.readlink("/proc/%d/fd/%s" % (emufs_pid, f))
                  .split(":")[0]] += 1
        except OSError:
            pass
    return kinds


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def log_refusals(inst):
    with open("%s/%s/log" % (mnt, inst), "rb") as f:
        data = f.read()
    return len(REFUSAL_RE.findall(data)), len(data)


def print_counts(elapsed):
    """What ran and how it ended, per kind; also for a run cut short."""
    with lock:
        total = sum(sum(c.values()) for c in per_op.values())
        print("ran %.1f s: %d operations (%.0f/s), %d writers, %d readers; "
              "QEMU SIGKILLed %d times (%s)" % (
                  elapsed, total, total / max(elapsed, 0.001), WRITERS,
                  READERS, sum(kills.values()),
                  ", ".join("%s %d" % kv for kv in sorted(kills.items()))))
        print("operations per kind (result=count):")
        for name in sorted(per_op):
            print("  %-26s %s" % (name, " ".join(
                "%s=%d" % kv for kv in sorted(per_op[name].items()))))
        print("errors by errno: " + (" ".join(
            "%s=%d" % kv for kv in sorted(by_errno.items())) or "none"))
    sys.stdout.flush()


def hang(what, since):
    """An operation did not return: report, then hang_exit()."""
    print_counts(time.monotonic() - t0)
    print("HANG %s pending for %.1f s, %.0f s into the run" % (
        what, time.monotonic() - since, since - t0))
    print("BAD hang: %s" % what)
    hang_exit()


# ---- the run ---------------------------------------------------------------

# props to sample: walk each instance's tree while it runs (soak.sh
# leaves them stopped; start paused for the walk, then stop)
props = {}
for i in instances:
    write_ctl(i, b"start paused\n")
    props[i] = props_files(mnt + "/" + i + "/props/machine") or \
        [mnt + "/" + i + "/props/machine/type"]
    write_ctl(i, b"stop\n")


def warm_up(seconds=1.0, readers=16):
    """Concurrent reads for a moment, so that the FUSE worker pool is at
    its steady state (libfuse keeps up to 4 idle workers, fs/main.c) when
    the counts are taken: the start count of threads is then that of a
    mount in use, not of one nobody has read yet."""
    end = time.monotonic() + seconds

    def reader():
        while time.monotonic() < end:
            for i in instances:
                rd(mnt + "/" + i + "/state")

    ts = [threading.Thread(target=reader) for _ in range(readers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    time.sleep(1.0)     # the workers past the idle bound end


warm_up()
log0 = {i: log_refusals(i) for i in instances}
fds0, threads0, rss0 = proc_status()
fd_kinds0 = fd_kinds()
print("before: emufs fds %d threads %d RSS %d kB; %s" % (
    fds0, threads0, rss0, ", ".join("%s: %d props files sampled" %
                                    (i, len(props[i])) for i in instances)))
sys.stdout.flush()

ops = [op for i in instances for op in reads_of(i, props[i])]
threads = [threading.Thread(target=writer, args=(n,), daemon=True)
           for n in range(WRITERS)]
threads += [threading.Thread(target=reader, args=(100 + n, ops), daemon=True)
            for n in range(READERS)]
killt = threading.Thread(target=killer, daemon=True)
t0 = time.monotonic()
for t in threads + [killt]:
    t.start()

peak = [fds0, threads0, rss0]
last_sample = 0
died = False
while time.monotonic() - t0 < seconds:
    now = time.monotonic()
    for tid, c in list(current.items()):
        if c and now - c[0] > HANG_S:
            hang(c[1], c[0])
    if not alive(emufs_pid):
        died = True
        break
    if now - last_sample >= 1:
        last_sample = now
        try:
            s = proc_status()
            peak = [max(a, b) for a, b in zip(peak, s)]
        except (OSError, KeyError):
            pass
    time.sleep(0.05)

done.set()
elapsed = time.monotonic() - t0
if died:
    with lock:
        bad.append("emufs died %.1f s into the run" % elapsed)
else:
    # the threads end within their current operation, which the watchdog
    # still bounds
    deadline = time.monotonic() + HANG_S
    for t in threads + [killt]:
        while t.is_alive():
            t.join(0.1)
            if time.monotonic() > deadline:
                pending = [c for c in current.values() if c] or \
                    [(deadline - HANG_S, "a thread that did not end")]
                hang(", ".join(c[1] for c in pending),
                     min(c[0] for c in pending))

def settle(fds0, threads0, rss0, peak):
    """Stop what runs, let emufs settle, compare with the start."""
    for i in instances:
        st = rd(mnt + "/" + i + "/state").strip()
        if st in (b"running", b"paused"):
            try:
                write_ctl(i, b"stop\n")
            except OSError as e:
                # EBUSY is right if the last kill's exit came in between
                st = rd(mnt + "/" + i + "/state").strip()
                if e.errno != errno.EBUSY or st in (b"running", b"paused"):
                    bad.append("%s: stop at the end: %s (%s)" % (
                        i, ename(e), st.decode()))
    deadline = time.monotonic() + SETTLE_S
    while True:
        s = proc_status()
        if s[0] <= fds0 and s[1] <= threads0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    fds1, threads1, rss1 = s
    print("emufs   before  peak  after (%.0f s settle at most)" % SETTLE_S)
    print("  fds     %5d %5d %6d" % (fds0, peak[0], fds1))
    print("  threads %5d %5d %6d" % (threads0, peak[1], threads1))
    print("  RSS kB  %5d %5d %6d (%+.1f%%)" % (rss0, peak[2], rss1,
                                              100.0 * (rss1 - rss0) / rss0))
    if fds1 > fds0:
        more = fd_kinds() - fd_kinds0
        bad.append("emufs holds %d descriptors, %d before; more of: %s" % (
            fds1, fds0, " ".join("%s=%d" % kv for kv in more.items())))
    if threads1 > threads0:
        bad.append("emufs has %d threads, %d before" % (threads1, threads0))
    if rss1 > rss0 * 1.10:
        bad.append("emufs's RSS is %d kB, %d kB before (+%.0f%%, over 10%%)" %
                   (rss1, rss0, 100.0 * (rss1 - rss0) / rss0))


# ---- summary -----------------------------------------------------------

print_counts(elapsed)
if not died:
    for i in instances:
        n, size = log_refusals(i)
        got = n - log0[i][0]
        print("refused ctl writes on %s: %d seen by the writers, %d lines in "
              "its log (log %d -> %d bytes)" % (i, refusals[i], got,
                                               log0[i][1], size))
        if size < log0[i][1]:
            bad.append("%s's log shrank (a cap wrap?): the count is void" % i)
        elif got != refusals[i]:
            bad.append("%s: %d refused ctl writes, %d refusal lines in log" %
                       (i, refusals[i], got))
    settle(fds0, threads0, rss0, peak)
for b in bad:
    print("BAD " + b)
sys.stdout.flush()
sys.exit(1 if bad else 0)
