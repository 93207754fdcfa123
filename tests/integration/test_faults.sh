# test_faults.sh - faults injected with SIGKILL (issue 8, part 2;
# contract 1, 3.2, 3.3, 4).
#
# QEMU is killed right after start, during start, while running, during a
# props read loop, during a serial burst, and over and over while the
# target is being changed; emufs itself is killed while its instances run;
# and the mount is unmounted while readers hammer it. After each: the state
# is what contract 3.2 says, no error outside section 4, nothing hangs,
# the serial log keeps every byte received before the crash, `start` works
# again, and no QEMU is left. emufs's stderr (where ASan, UBSan and TSan
# report) must hold no sanitizer report.

# start_works INSTANCE: `start` succeeds, the banner comes, props answer.
start_works() {
	ctl "$1" start
	assert_state "$1" running
	wait_banner "$1"
	assert_content "$MNT/$1/props/machine/type" $'ast2500-evb-machine\n'
}

. "$TESTS_DIR/lib_faults.sh"

# READER_PY STOPFILE ALLOWED THREADS SPEC...: THREADS threads, each
# running the SPECs (read:PATH, ls:PATH, stat:PATH, qmp:PATH) in random
# order until STOPFILE exists. Prints op and errno counts; BAD lines for
# errnos outside ALLOWED (comma-separated). A call pending for more than
# HANG_S (8) seconds is a hang: it prints HANG and exits 3 at once.
READER_PY='
import errno, os, random, sys, threading, time, collections
stopfile, allowed, nthreads = sys.argv[1], set(sys.argv[2].split(",")), int(sys.argv[3])
specs = [s.split(":", 1) for s in sys.argv[4:]]
HANG_S = 8.0
counts = collections.Counter()
bad = []
current = {}
lock = threading.Lock()
def do(op, path):
    if op == "read":
        fd = os.open(path, os.O_RDONLY)
        try: os.read(fd, 65536)
        finally: os.close(fd)
    elif op == "ls":
        os.listdir(path)
    elif op == "stat":
        os.stat(path)
    elif op == "qmp":
        fd = os.open(path, os.O_RDWR)
        try:
            os.write(fd, b"{\"execute\": \"query-status\"}"); os.read(fd, 65536)
        finally: os.close(fd)
def worker(i):
    rnd = random.Random(i)
    while not os.path.exists(stopfile):
        op, path = rnd.choice(specs)
        current[i] = (time.monotonic(), op, path)
        try:
            do(op, path); r = "OK"
        except OSError as e:
            r = errno.errorcode.get(e.errno, str(e.errno))
        current[i] = None
        with lock:
            counts[r] += 1
            if r != "OK" and r not in allowed and len(bad) < 20:
                bad.append("%s %s: %s" % (op, path, r))
threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(nthreads)]
for t in threads: t.start()
def report():
    total = sum(counts.values())
    errs = " ".join("%s=%d" % kv for kv in sorted(counts.items()) if kv[0] != "OK")
    print("%d ops, %d ok, errors: %s" % (total, counts["OK"], errs or "none"))
    for b in bad: print("BAD " + b)
    sys.stdout.flush()
while any(t.is_alive() for t in threads):
    now = time.monotonic()
    for i, c in list(current.items()):
        if c and now - c[0] > HANG_S:
            report()
            print("HANG %s %s pending for %.1fs" % (c[1], c[2], now - c[0]))
            hang_exit()
    time.sleep(0.05)
report()
sys.exit(1 if bad else 0)
'

# start_readers NAME ALLOWED THREADS SPEC...: READER_PY in the background,
# its output in $SCRATCH/NAME.out; stop_readers NAME: end it (must end
# within 10 s) and fail on a hang or an errno outside ALLOWED.
start_readers() {
	local name=$1
	shift
	rm -f "$SCRATCH/$name.stop"
	EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
		python3 -c "$HANG_EXIT_PY$READER_PY" "$SCRATCH/$name.stop" "$@" >"$SCRATCH/$name.out" 2>&1 &
	echo $! >"$SCRATCH/$name.pid"
}

stop_readers() {
	local name=$1 pid rc=0
	pid=$(cat "$SCRATCH/$name.pid")
	touch "$SCRATCH/$name.stop"
	wait_for "! alive $pid" 10 || fail "readers $name hang: $(tr '\n' '|' <"$SCRATCH/$name.out")"
	wait "$pid" || rc=$?
	note "readers $name: $(tr '\n' '|' <"$SCRATCH/$name.out")"
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "readers $name: $(grep -m 1 HANG "$SCRATCH/$name.out"); emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -eq 0 ] || fail "readers $name: errno outside contract 4: $(grep BAD "$SCRATCH/$name.out" | head -n 3 | tr '\n' '|')"
	READER_SUMMARY=$(head -n 1 "$SCRATCH/$name.out")
}

# KILLER_PY SCRATCH DELAY_S: wait (at most 10 s) for the first QEMU whose
# command line names SCRATCH, then DELAY_S later SIGKILL it; prints its pid.
KILLER_PY='
import os, signal, sys, time
scratch, delay = sys.argv[1].encode(), float(sys.argv[2])
end = time.monotonic() + 10
while time.monotonic() < end:
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            cmd = open("/proc/%s/cmdline" % p, "rb").read()
        except OSError:
            continue
        if b"qemu-system" in cmd.split(b"\0")[0] and scratch in cmd:
            if delay: time.sleep(delay)
            try: os.kill(int(p), signal.SIGKILL)
            except OSError: pass
            print(p); sys.exit(0)
    time.sleep(0.001)
sys.exit(1)
'

# ---- QEMU killed ----------------------------------------------------------------------

# Killed right after `start` returned (first round), then while running
# and answering on its UART (two more rounds): crashed each time, an
# EMUFS_STATE crashed event and a log line naming signal 9 each time.
test_kill9_right_after_start_and_while_running_is_crashed() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	local i
	for i in 1 2 3; do
		ctl a start
		if [ "$i" -gt 1 ]; then
			wait_banner a
			echo ping >"$MNT/a/serial0" || fail "echo ping > serial0"
			wait_for "grep -qF pong '$MNT/a/serial0'" 3 || fail "no pong before the kill"
		fi
		kill -KILL "$(the_qemu_of a)"
		wait_state a crashed 3
		assert_no_qemu 1
		expect_errno ESRCH write "$MNT/a/serial0" $'ping\n'
	done
	wait_for '[ "$(events_of a | grep -cx EMUFS_STATE:crashed)" -eq 3 ]' 2 ||
		fail "expected 3 EMUFS_STATE crashed events: $(emufs_states a)"
	wait_for '[ "$(grep -c "signal 9" "$MNT/a/log")" -ge 3 ]' 2 ||
		fail "log does not name signal 9 for each crash: $(grep -i 'signal\|ended' "$MNT/a/log" | tail -n 3 | tr '\n' '|')"
	start_works a
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# The kill lands somewhere inside `start` (from the first sight of the
# process to after it returned): `start` either fails with EIO and leaves
# `stopped`, or succeeds and the instance then ends `crashed`. Never a
# hang, never another state, and `start` works again.
test_kill9_during_start_fails_eio_or_crashes() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	local delay killer got st outcomes=""
	for delay in 0 0 0.005 0.01 0.02 0.04 0.08 0.15; do
		python3 -c "$KILLER_PY" "$SCRATCH" "$delay" >"$SCRATCH/killer.out" &
		killer=$!
		got=$(timeout 20 python3 -c "$FSOP_PY" write "$MNT/a/ctl" $'start\n') ||
			fail "start with a kill at +${delay}s hung (or timeout failed)"
		wait "$killer" || fail "the killer found no QEMU (delay $delay)"
		case $got in
		OK)
			wait_for '[ "$(state_of a)" = crashed ]' 3 ||
				fail "start succeeded, QEMU killed at +${delay}s: state $(state_of a), expected crashed; events: $(emufs_states a)"
			;;
		*:EIO)
			# (lib.sh's fsop names the step "close" for a failed write)
			st=$(state_of a)
			[ "$st" = stopped ] || fail "start failed EIO (kill at +${delay}s) but state is $st, expected stopped"
			;;
		*)
			fail "start with QEMU killed at +${delay}s: $got; expected OK or EIO"
			;;
		esac
		outcomes="$outcomes +${delay}s:${got#*:}->$(state_of a)"
		assert_no_qemu 2
	done
	note "kill during start:$outcomes"
	start_works a
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# 4 threads read property files, list props directories, read a qom pin
# and ask qmp, before, during and after the kill and across a new start:
# every failure is EIO, ESRCH, ENOENT or ETIMEDOUT, nothing hangs.
test_kill9_during_props_reads_gives_only_contract_errors() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	start_works a
	local p=$MNT/a/props
	start_readers props EIO,ESRCH,ENOENT,ETIMEDOUT 4 \
		"read:$p/machine/type" "read:$p/machine/soc/gpio/gpioA1" \
		"read:$p/type" "ls:$p/machine" "ls:$p" "read:$MNT/a/gpio/led" \
		"qmp:$MNT/a/qmp"
	sleep 1
	kill -KILL "$(the_qemu_of a)"
	wait_state a crashed 3
	sleep 0.5
	# and across a new run
	ctl a start
	sleep 1
	stop_readers props
	case $READER_SUMMARY in *" 0 ok"*) fail "no read succeeded: $READER_SUMMARY" ;; esac
	assert_content "$MNT/a/props/machine/type" $'ast2500-evb-machine\n'
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# Killed in the middle of a 4 MB burst: serial0 keeps every byte that
# arrived (a prefix of banner + echo + pattern, at least as long as what
# was seen before the kill), and its size never shrinks afterwards.
test_kill9_during_serial_burst_keeps_received_bytes() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	ctl a start
	wait_banner a
	local n=4000000
	echo "burst $n" >"$MNT/a/serial0" || fail "echo burst > serial0 failed"
	wait_for "[ \$(stat -c %s '$MNT/a/serial0') -gt 200000 ]" 5 ||
		fail "burst does not arrive: serial0 has $(stat -c %s "$MNT/a/serial0") bytes"
	cp "$MNT/a/serial0" "$SCRATCH/before" || fail "cp serial0"
	kill -KILL "$(the_qemu_of a)"
	wait_state a crashed 3
	assert_no_qemu 1
	local s1 s2
	# (bytes QEMU wrote before it died may still be drained from the
	# socket after the state changed: the size may grow, never shrink)
	s1=$(stat -c %s "$MNT/a/serial0")
	sleep 0.5
	s2=$(stat -c %s "$MNT/a/serial0")
	[ "$s2" -ge "$s1" ] || fail "serial0 shrank after the crash: $s1 then $s2 bytes"
	cp "$MNT/a/serial0" "$SCRATCH/after" || fail "cp serial0 after the crash"
	[ "$(stat -c %s "$SCRATCH/after")" -eq "$s2" ] || fail "serial0: st_size $s2 but $(stat -c %s "$SCRATCH/after") bytes read"
	local out
	out=$(python3 - "$SCRATCH/before" "$SCRATCH/after" "$n" "$TESTS_DIR/../firmware" "$BANNER" <<'EOF'
import sys
sys.path.insert(0, sys.argv[4])
import check_burst
before, after = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
n, banner = int(sys.argv[3]), sys.argv[5].encode()
# what the guest sends: its banner, the echo of the command, the pattern
want = banner + b"\r\n" + b"burst %d\n" % n + check_burst.expected(n)
def bad(msg):
    print(msg); sys.exit(1)
if len(after) < len(before):
    bad("shrank: %d bytes before the kill, %d after" % (len(before), len(after)))
if not after.startswith(before):
    bad("the bytes seen before the kill changed")
if len(after) >= len(want):
    bad("the whole burst arrived (%d bytes): the kill came too late" % len(after))
if not want.startswith(after):
    i = next(i for i in range(len(after)) if after[i] != want[i])
    bad("not a prefix of the expected stream: first difference at offset %d: %r" % (i, after[i:i + 16]))
print("%d bytes seen before the kill, %d kept, a prefix of the expected stream" % (len(before), len(after)))
EOF
	) || fail "serial0 after the crash: $out"
	note "burst: $out (st_size $s1 at the crash, $s2 0.5 s later)"
	# the log survives until the next start, which begins a new one
	start_works a
	[ "$(stat -c %s "$MNT/a/serial0")" -lt 1000 ] || fail "serial0 not started over by the new run"
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# A crash is finished by the I/O thread; a target write is allowed as soon
# as the state says crashed. The two must not wait for each other: QEMU is
# killed again and again for 10 s while another thread keeps writing the
# target (ast / ast2, so the channels are rebuilt each time). A call that
# does not answer within 5 s is a deadlock (the whole mount hangs then:
# every instance's I/O goes through the one I/O thread).
RACE_PY='
import errno, os, signal, sys, threading, time
mnt, scratch, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
HANG_S = 5.0
current = {}
stop = threading.Event()
def call(tid, what, fn):
    current[tid] = (time.monotonic(), what)
    try:
        fn(); r = "OK"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    current[tid] = None
    return r
def wr(p, d):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try: os.write(fd, d)
    finally: os.close(fd)
def rd(p):
    fd = os.open(p, os.O_RDONLY)
    try: return os.read(fd, 100).decode().strip()
    finally: os.close(fd)
def qemu():
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try: c = open("/proc/%s/cmdline" % p, "rb").read()
        except OSError: continue
        if b"qemu-system" in c.split(b"\0")[0] and scratch in c:
            return int(p)
changes = [0]
def spinner():
    n = 0
    while not stop.is_set():
        n += 1
        if call("target", "write target", lambda: wr(mnt + "/a/target", b"ast2" if n % 2 else b"ast")) == "OK":
            changes[0] += 1
def main():
    crashes = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        while call("main", "start paused", lambda: wr(mnt + "/a/ctl", b"start paused")) != "OK":
            if time.monotonic() - t > 3 * HANG_S:
                print("BAD start paused keeps failing: state %s" % rd(mnt + "/a/state")); return 1
            time.sleep(0.01)
        p = qemu()
        if p: os.kill(p, signal.SIGKILL)
        t = time.monotonic()
        while True:
            st = [None]
            call("main", "read state", lambda: st.__setitem__(0, rd(mnt + "/a/state")))
            if st[0] in ("crashed", "exited", "stopped"): break
            if time.monotonic() - t > 5:
                print("BAD state %s 5 s after the kill" % st[0]); return 1
            time.sleep(0.002)
        crashes += 1
    print("%d crashes, %d target changes, no deadlock" % (crashes, changes[0]))
    return 0
res = [None]
def runner(): res[0] = main()
m = threading.Thread(target=runner, daemon=True); m.start()
sp = threading.Thread(target=spinner, daemon=True); sp.start()
while m.is_alive() or sp.is_alive():
    if not m.is_alive():
        stop.set()
    now = time.monotonic()
    for tid, c in list(current.items()):
        if c and now - c[0] > HANG_S:
            print("DEADLOCK %s pending for %.1fs (thread %s)" % (c[1], now - c[0], tid))
            hang_exit()
    time.sleep(0.05)
sys.stdout.flush()
os._exit(res[0])
'

test_kill9_while_target_changes_does_not_deadlock() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	local out rc=0
	out=$(EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
		timeout 50 python3 -c "$HANG_EXIT_PY$RACE_PY" "$MNT" "$SCRATCH" 10) || rc=$?
	note "$out"
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "emufs deadlocked: $out; emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -eq 0 ] || fail "$out"
	start_works a
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# ---- emufs killed or unmounted --------------------------------------------------------

# SIGKILL of emufs while one instance bursts, one is paused and readers
# hammer the mount: no QEMU survives 3 s, the janitor removes the dead
# mount and the state directory, and no reader hangs on the dead mount.
test_kill9_of_emufs_under_load_leaves_only_its_logs() {
	require_qemu
	fault_config 2000 a b c
	mount_emufs
	ctl a start
	ctl b start paused
	ctl c start
	wait_banner a
	echo "burst 100000000" >"$MNT/a/serial0" || fail "echo burst > serial0"
	[ "$(qemu_pids | wc -l)" -eq 3 ] || fail "expected 3 QEMUs, found $(qemu_pids | wc -l)"
	# the dead mount: the kernel fails the requests in flight with
	# ECONNABORTED, later ones with ENOTCONN, and once the janitor has
	# unmounted it, the paths are gone (ENOENT)
	start_readers dead EIO,ESRCH,ENOENT,ETIMEDOUT,ENOTCONN,ECONNABORTED 4 \
		"read:$MNT/a/serial0" "read:$MNT/a/props/machine/type" "read:$MNT/b/state" \
		"read:$MNT/c/gpio/led" "qmp:$MNT/b/qmp" "ls:$MNT/c/props/machine" "stat:$MNT/a/serial0"
	sleep 1
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
	wait_for no_qemu_left 3 || fail "QEMU still running 3 s after emufs was killed: $(qemu_pids | tr '\n' ' ')"
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted 3 s after emufs was killed"
	wait_for state_dir_holds_only_kept_logs 3 || fail "state directory holds more than the kept logs: $(ls -A "$STATE_DIR" | tr '\n' ' ')"
	wait_for '[ -z "$(emufs_pids)" ]' 3 || fail "emufs processes left: $(emufs_pids | tr '\n' ' ')"
	# the burst in flight is kept for the user (docs/reference.md)
	local kept
	kept=$(ls "$STATE_DIR"/crashed@*/a/serial0.log 2>/dev/null | head -n1)
	[ -s "$kept" ] || fail "a's serial log was not kept: $(ls -R "$STATE_DIR" | tr '\n' ' ')"
	stop_readers dead
	assert_no_sanitizer_report
}

# fusermount3 -u while 4 readers hammer serial0, props and state: emufs
# stops its emulators and exits 0 within 10 s. A plain unmount is refused
# (EBUSY) while a file is open, and with 4 threads opening and closing
# files there nearly always is one: after 50 tries (0.5 s) the test does
# what a user then does, a lazy unmount (-z), which detaches the mount at
# once and lets emufs end when the last open file closes.
test_unmount_under_load_exits_0_and_leaves_no_qemu() {
	require_qemu
	fault_config 2000 a b
	mount_emufs
	ctl a start
	ctl b start
	wait_banner a
	echo "burst 100000000" >"$MNT/a/serial0" || fail "echo burst > serial0"
	start_readers hammer EIO,ESRCH,ENOENT,ETIMEDOUT 4 \
		"read:$MNT/a/serial0" "read:$MNT/b/serial0" "read:$MNT/a/props/machine/type" \
		"read:$MNT/b/props/machine/soc/gpio/gpioA1" "read:$MNT/a/state" "read:$MNT/b/state" \
		"ls:$MNT/a/props/machine" "stat:$MNT/a/serial0"
	sleep 1.5
	local t0 tries=0 out ms how=plain
	t0=$(_now_us)
	until out=$(fusermount3 -u "$MNT" 2>&1); do
		tries=$((tries + 1))
		case $out in *busy*) ;; *) fail "fusermount3 -u: $out" ;; esac
		if [ "$tries" -ge 50 ]; then
			how=lazy
			out=$(fusermount3 -u -z "$MNT" 2>&1) || fail "fusermount3 -u -z: $out"
			break
		fi
		sleep 0.01
	done
	wait_exit "$EMUFS_PID" 10
	ms=$(( ($(_now_us) - t0) / 1000 ))
	note "unmount under load: $how after $tries busy tries, emufs gone after ${ms} ms"
	[ "$EXIT_STATUS" -eq 0 ] ||
		fail "emufs exited with status $EXIT_STATUS after fusermount3 -u: $(tail -n 3 "$SCRATCH/emufs.out" | tr '\n' '|')"
	EMUFS_PID=
	assert_no_qemu 1
	is_mounted "$MNT" && fail "still mounted"
	stop_readers hammer
	assert_no_sanitizer_report
}
