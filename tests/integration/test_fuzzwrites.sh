# test_fuzzwrites.sh - random writes to every writable file of a running
# instance (issue 8, part 3, second half; contract 3, 4).
#
# Thousands of random byte strings (lengths 0..300: random bytes, NUL,
# newlines, CRs, broken and valid UTF-8, and now and then words the file
# understands, so that the instance also starts, stops, pauses, resets and
# gets killed on the way) go to ctl, target, serial0, gpio/button, a bool
# property, a string property and qmp, interleaved. Every write either
# succeeds or fails with an errno of contract section 4 (EAGAIN, which the
# reference documents for a full serial backlog, is accepted and reported).
# Afterwards the mount must be healthy. The generator is seeded: set
# FUZZ_SEED to replay a run; the seed is printed on failure.
#
# FUZZ_WRITES (default 3000) writes per file, bounded by FUZZ_SECONDS
# (default 20) for the whole run. The request timeout is 2000 ms, so that
# a write that waits it out (reported) costs little.

. "$TESTS_DIR/lib_faults.sh"

FUZZ_PY='
import collections, errno, os, random, sys, threading, time
inst, seed, per_file, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rnd = random.Random(seed)
ALLOWED = {"EINVAL", "EBUSY", "EIO", "ESRCH", "EPERM", "EACCES", "ENOENT", "ETIMEDOUT", "EAGAIN"}
HANG_S = 15.0
files = ["ctl", "target", "serial0", "gpio/button",
         "props/machine/soc/gpio/gpioA2", "props/machine/append", "qmp"]
words = {
    "ctl": ([b"start", b"start paused", b"stop", b"kill", b"pause", b"resume", b"reset", b"paused"], 0.04),
    "target": ([b"ast", b"ast2", b"ast\n", b"ast2\r\n", b"nosuch"], 0.1),
    "serial0": ([b"ping\n", b"burst 2000\n", b"reset\r", b"\r\n"], 0.1),
    "gpio/button": ([b"0", b"1", b"0\n", b"1\n", b"2", b" 1"], 0.3),
    "props/machine/soc/gpio/gpioA2": ([b"true", b"false", b"on", b"off", b"yes", b"NO", b"1", b"0\n", b"0x1"], 0.3),
    "props/machine/append": ([b"console=ttyS0", b"", b"\n"], 0.1),
    "qmp": ([b"{\"execute\": \"query-status\"}", b"{\"execute\": \"stop\"}", b"{\"execute\": \"cont\"}",
             b"{\"execute\": \"system_reset\"}", b"{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/machine\"}}",
             b"{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", \"property\": \"type\"}}",
             b"{\"execute\": \"query-status\", \"id\": [1, {}]}", b"{\"execute\": 5}", b"[]", b"{}",
             b"{\"execute\": \"quit\"}"], 0.15),
}
UTF8_BAD = [b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80",
            b"\xef\xbf\xbe", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xff", b"\xfe"]
def garbage(n):
    out = bytearray()
    while len(out) < n:
        k = rnd.random()
        if k < 0.3:
            out += bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 16)))
        elif k < 0.5:
            out += bytes(rnd.choice(b"\0\n\r\t ") for _ in range(rnd.randint(1, 3)))
        elif k < 0.65:
            out += rnd.choice(UTF8_BAD)
        elif k < 0.8:
            out += "".join(chr(rnd.choice([rnd.randint(0x80, 0x7ff), rnd.randint(0x800, 0xd7ff),
                                           rnd.randint(0x10000, 0x10ffff)])) for _ in range(2)).encode()
        else:
            out += bytes(rnd.randint(0x20, 0x7e) for _ in range(rnd.randint(1, 12)))
    return bytes(out[:n])
def payload(f):
    ws, p = words[f]
    if rnd.random() < p:
        w = rnd.choice(ws)
        k = rnd.random()
        if k < 0.5:
            return w
        if k < 0.75:
            return w + rnd.choice([b"\n", b"\r\n", b"\0", b" ", b"\n\n"]) + garbage(rnd.randint(0, 8))
        return garbage(rnd.randint(0, 4)) + w
    return garbage(rnd.randint(0, 300))
current = [None]
def watchdog():
    while True:
        c = current[0]
        if c and time.monotonic() - c[0] > HANG_S:
            print("HANG write of %r to %s pending for %.1fs (seed %d)" % (c[2][:40], c[1], time.monotonic() - c[0], seed))
            hang_exit()
        time.sleep(0.1)
threading.Thread(target=watchdog, daemon=True).start()
def ename(e): return errno.errorcode.get(e.errno, str(e.errno))
res = {f: collections.Counter() for f in files}
bad = []
n = {f: 0 for f in files}
slow = {f: (0.0, "", b"") for f in files}
timeouts = []
t0 = time.monotonic()
end = t0 + seconds
while time.monotonic() < end and min(n.values()) < per_file:
    for f in files:
        if n[f] >= per_file:
            continue
        data = payload(f)
        path = inst + "/" + f
        n[f] += 1
        current[0] = (time.monotonic(), f, data)
        step = "open"
        try:
            fd = os.open(path, os.O_RDWR if f == "qmp" else (os.O_WRONLY | os.O_TRUNC))
            try:
                step = "write"
                os.write(fd, data)
                if f == "qmp":
                    step = "read"
                    os.read(fd, 65536)
            finally:
                if step != "write": step = "close"
                os.close(fd)
            r = "OK"
        except OSError as e:
            r = ename(e)
        took = time.monotonic() - current[0][0]
        current[0] = None
        res[f][r] += 1
        if took > slow[f][0]:
            slow[f] = (took, r, data[:40])
        if r == "ETIMEDOUT" and len(timeouts) < 5:
            timeouts.append("%r to %s after %.3fs" % (data[:40], f, took))
        if r != "OK" and r not in ALLOWED and len(bad) < 10:
            bad.append("%s of %r to %s: %s" % (step, data[:60], f, r))
el = time.monotonic() - t0
total = sum(n.values())
print("seed %d: %d writes in %.1fs (%.0f/s)" % (seed, total, el, total / el))
for f in files:
    c = res[f]
    print("%-30s %5d: %s; slowest %.3fs (%s, %r)" % (f, n[f], " ".join("%s=%d" % kv for kv in sorted(c.items())),
                                                    slow[f][0], slow[f][1], slow[f][2]))
allc = collections.Counter()
for c in res.values(): allc.update(c)
print("all: " + " ".join("%s=%d" % kv for kv in sorted(allc.items())))
if allc["EAGAIN"]:
    print("NOTE EAGAIN seen %d times (not in contract section 4)" % allc["EAGAIN"])
if timeouts:
    # QEMU is alive and answering, so an ETIMEDOUT here is worth a look
    # (a string holding a Unicode noncharacter such as U+FFFE gets an
    # error reply without an id from QEMU; emufs waits out the timeout)
    print("NOTE ETIMEDOUT %d times, e.g. %s" % (allc["ETIMEDOUT"], "; ".join(timeouts)))
for b in bad: print("BAD " + b)
sys.exit(1 if bad else 0)
'

test_random_writes_to_every_writable_file_keep_the_mount_healthy() {
	require_qemu
	fault_config 2000 a
	mount_emufs
	ctl a start
	wait_for "grep -qF '$BANNER' '$MNT/a/serial0'" 3 || fail "no banner"
	local f
	for f in ctl target serial0 gpio/button props/machine/soc/gpio/gpioA2 props/machine/append qmp; do
		[ -w "$MNT/a/$f" ] || fail "$f is not writable"
	done
	local seed=${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))} out rc=0 line
	local lines0
	lines0=$(log_lines a)
	out=$(cd "$MNT" && EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
		timeout 120 python3 -c "$HANG_EXIT_PY$FUZZ_PY" a "$seed" "${FUZZ_WRITES:-3000}" "${FUZZ_SECONDS:-20}") || rc=$?
	while IFS= read -r line; do note "$line"; done <<<"$out"
	[ "$rc" -ne 124 ] || fail "random writes (seed $seed) did not end within 120 s"
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "random writes (seed $seed): $(grep -m 1 HANG <<<"$out"); emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -eq 0 ] || fail "random writes (seed $seed): errno outside contract 4: $(grep -m 3 BAD <<<"$out" | tr '\n' '|')"
	grep -q NOTE <<<"$out" && note "seed $seed: $(grep NOTE <<<"$out" | tr '\n' '|')"

	# the mount is healthy
	alive "$EMUFS_PID" || fail "emufs died during the random writes (seed $seed)"
	ls "$MNT" >/dev/null || fail "ls of the mount fails after the random writes (seed $seed)"
	ls "$MNT/a" >/dev/null || fail "ls of a fails after the random writes (seed $seed)"
	# (a qmp quit or a guest reset may still be under way: let it settle)
	sleep 0.5
	local st
	st=$(cat "$MNT/a/state") || fail "state unreadable after the random writes (seed $seed)"
	note "state after the random writes: $st; log grew by $(( $(log_lines a) - lines0 )) lines"
	# every log line is emufs's (timestamped) or QEMU's: a refused value
	# must not be able to forge lines
	local odd
	odd=$(grep -avcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ emufs: |^qemu-system-arm: ' "$MNT/a/log")
	[ "$odd" -eq 0 ] || note "log: $odd lines neither emufs's nor QEMU's, e.g. $(grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ emufs: |^qemu-system-arm: ' "$MNT/a/log" | head -n 2 | cat -v | tr '\n' '|')"
	case $st in
	stopped|exited|crashed) ;;
	paused) ctl a kill ;;
	running) ctl a stop ;;
	*) fail "state \"$st\" after the random writes (seed $seed)" ;;
	esac
	[ "$(cat "$MNT/a/target")" = ast ] || { echo ast >"$MNT/a/target" || fail "target cannot be set back (seed $seed)"; }
	ctl a start
	assert_state a running
	wait_for "grep -qF '$BANNER' '$MNT/a/serial0'" 3 || fail "no banner after a new start (seed $seed)"
	assert_content "$MNT/a/props/machine/type" $'ast2500-evb-machine\n'
	echo 1 >"$MNT/a/gpio/button" || fail "gpio/button write after the random writes"
	wait_for "[ \"\$(cat '$MNT/a/gpio/led')\" = 1 ]" 2 ||
		fail "gpio/led does not follow gpio/button after the random writes (seed $seed): led $(cat "$MNT/a/gpio/led"), button $(cat "$MNT/a/gpio/button"); serial0: $(tail -c 100 "$MNT/a/serial0" | cat -v | tr '\n' '|'); log: $(tail -n 4 "$MNT/a/log" | tr '\n' '|')"
	echo ping >"$MNT/a/serial0" || fail "serial0 write after the random writes"
	wait_for "grep -qF pong '$MNT/a/serial0'" 3 || fail "no pong after the random writes (seed $seed)"
	exec 3<>"$MNT/a/qmp"
	printf '%s' '{"execute": "query-status", "id": 7}' >&3
	read -r -t 5 line <&3 || fail "no qmp reply after the random writes"
	exec 3>&-
	case $line in *'"running"'*) ;; *) fail "qmp query-status after the random writes: $line" ;; esac
	case $line in *'"id":'*7*) ;; *) fail "qmp reply without the id: $line" ;; esac
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}
