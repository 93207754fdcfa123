# test_timeouts.sh - an emulator that stops answering (issue 8, part 1;
# contract 4, ETIMEDOUT).
#
# The QEMU of one instance is frozen with SIGSTOP. Every request that needs
# an answer from it must fail with ETIMEDOUT after the request timeout
# (settings.request_timeout_ms, 1000 ms here), while everything that does
# not need it (the tree, state, the on-disk logs, other instances) keeps
# answering at once. SIGCONT brings it back; `stop` of a frozen QEMU ends
# it with SIGKILL at 5 s.

# timed OP PATH [DATA]: one call as fsop does it (OP: read write qmp),
# prints "RESULT SECONDS", RESULT being OK or the errno's name.
TIMED_PY='
import errno, os, sys, time
op, path = sys.argv[1], sys.argv[2]
data = (sys.argv[3] if len(sys.argv) > 3 else "").encode()
t = time.monotonic()
try:
    if op == "read":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.read(fd, 65536)
        finally:
            os.close(fd)
    elif op == "write":
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    elif op == "qmp":
        fd = os.open(path, os.O_RDWR)
        try:
            os.write(fd, data)
            os.read(fd, 65536)
        finally:
            os.close(fd)
    r = "OK"
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e.errno))
print("%s %.3f" % (r, time.monotonic() - t))
'
timed() { python3 -c "$TIMED_PY" "$@"; }

# expect_timeout_in LO HI OP PATH [DATA]: the call fails with ETIMEDOUT
# after LO..HI seconds.
expect_timeout_in() {
	local lo=$1 hi=$2 out r s
	shift 2
	out=$(timed "$@")
	r=${out% *} s=${out#* }
	note "$1 ${2#"$MNT"/}: $r after ${s}s"
	[ "$r" = ETIMEDOUT ] || fail "$1 ${2#"$MNT"/}: got $r after ${s}s; expected ETIMEDOUT"
	python3 -c 'import sys; s, lo, hi = map(float, sys.argv[1:]); sys.exit(not lo <= s <= hi)' "$s" "$lo" "$hi" ||
		fail "$1 ${2#"$MNT"/}: ETIMEDOUT after ${s}s; expected between ${lo}s and ${hi}s"
}

. "$TESTS_DIR/lib_faults.sh"

# While a's QEMU is frozen, python threads keep requests to it pending the
# whole time, and the main thread checks that what does not need that QEMU
# answers within 0.2 s each, every time.
MEANWHILE_PY='
import errno, json, os, sys, threading, time
mnt, dur = sys.argv[1], float(sys.argv[2])
a, b = mnt + "/a", mnt + "/b"
def ename(e): return errno.errorcode.get(e.errno, str(e.errno))
def rd(p):
    fd = os.open(p, os.O_RDONLY)
    try: return os.read(fd, 1 << 20)
    finally: os.close(fd)
def wr(p, d):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try: os.write(fd, d)
    finally: os.close(fd)
def qmp(p, d):
    fd = os.open(p, os.O_RDWR)
    try:
        os.write(fd, d); return os.read(fd, 65536)
    finally: os.close(fd)
stop = time.monotonic() + dur
blocked = []
def blocker(name, fn):
    while time.monotonic() < stop:
        t = time.monotonic()
        try:
            fn(); r = "OK"
        except OSError as e:
            r = ename(e)
        blocked.append((name, r, time.monotonic() - t))
def ctl_cmds():
    # one thread: two lifecycle commands at once would give EBUSY
    ctl_cmds.n = getattr(ctl_cmds, "n", 0) + 1
    wr(a + "/ctl", b"pause\n" if ctl_cmds.n % 2 else b"reset\n")
threads = [threading.Thread(target=blocker, args=a_) for a_ in [
    ("read props/machine/type", lambda: rd(a + "/props/machine/type")),
    ("read gpio/button", lambda: rd(a + "/gpio/button")),
    ("read gpio/led", lambda: rd(a + "/gpio/led")),
    ("write 1 > gpio/button", lambda: wr(a + "/gpio/button", b"1\n")),
    ("write pause/reset > ctl", ctl_cmds),
    ("qmp query-status", lambda: qmp(a + "/qmp", b"{\"execute\": \"query-status\"}")),
]]
for t in threads: t.start()
time.sleep(0.3)
fast = [
    ("ls mount", lambda: os.listdir(mnt)),
    ("ls a", lambda: os.listdir(a)),
    ("ls a/gpio", lambda: os.listdir(a + "/gpio")),
    ("read a/state", lambda: rd(a + "/state")),
    ("read a/ctl", lambda: rd(a + "/ctl")),
    ("read a/serial0", lambda: rd(a + "/serial0")),
    ("stat a/serial0", lambda: os.stat(a + "/serial0")),
    ("read a/log", lambda: rd(a + "/log")),
    ("read a/events", lambda: rd(a + "/events")),
    ("read a/gdb", lambda: rd(a + "/gdb")),
    ("read a/target", lambda: rd(a + "/target")),
    ("write a/serial0", lambda: wr(a + "/serial0", b"ping\n")),
    ("read b/props/machine/type", lambda: rd(b + "/props/machine/type")),
    ("ls b/props/machine", lambda: os.listdir(b + "/props/machine")),
    ("read b/gpio/led", lambda: rd(b + "/gpio/led")),
    ("read b/state", lambda: rd(b + "/state")),
    ("qmp b query-status", lambda: qmp(b + "/qmp", b"{\"execute\": \"query-status\"}")),
]
bad, worst, rounds = [], {}, 0
pending = [None]
def watchdog():
    while True:
        c = pending[0]
        if c and time.monotonic() - c[0] > 5:
            print("HANG %s pending for %.1fs" % (c[1], time.monotonic() - c[0]))
            hang_exit()
        time.sleep(0.05)
threading.Thread(target=watchdog, daemon=True).start()
while time.monotonic() < stop - 0.3:
    rounds += 1
    for name, fn in fast:
        t = time.monotonic()
        pending[0] = (t, name)
        try:
            fn(); r = "OK"
        except OSError as e:
            r = ename(e)
        s = time.monotonic() - t
        pending[0] = None
        worst[name] = max(worst.get(name, 0), s)
        if r != "OK" or s > 0.2:
            bad.append("%s: %s after %.3fs" % (name, r, s))
    time.sleep(0.05)
for t in threads: t.join(10)
alive = [t for t in threads if t.is_alive()]
per = {}
for name, r, s in blocked:
    per.setdefault(name, []).append(s)
    if r != "ETIMEDOUT" or not 0.8 <= s <= 3.0:
        bad.append("blocked %s: %s after %.3fs (expected ETIMEDOUT in 0.8..3s)" % (name, r, s))
for name, ss in sorted(per.items()):
    print("%s: x%d, %.3f..%.3fs each" % (name, len(ss), min(ss), max(ss)))
if len(per) < len(threads):
    bad.append("only %d of %d kinds of request completed" % (len(per), len(threads)))
if alive:
    bad.append("%d requests to the frozen QEMU still pending after their timeout" % len(alive))
print("%d rounds of %d fast ops, slowest %.3fs (%s); %d requests timed out meanwhile"
      % (rounds, len(fast), max(worst.values()), max(worst, key=worst.get), len(blocked)))
for line in bad[:20]:
    print("BAD " + line)
sys.exit(1 if bad or rounds < 3 else 0)
'

# ---- the tests ------------------------------------------------------------------------

test_frozen_emulator_times_out_while_the_rest_answers() {
	require_qemu
	fault_config 1000 a b
	mount_emufs
	ctl a start
	ctl b start
	wait_banner a
	wait_banner b
	assert_content "$MNT/a/props/machine/type" $'ast2500-evb-machine\n'
	local qa
	qa=$(the_qemu_of a) || exit 1
	kill -STOP "$qa" || fail "SIGSTOP $qa"

	# every kind of request that needs a's QEMU is kept pending by a
	# thread of its own: ETIMEDOUT after about 1 s each time; meanwhile
	# what does not need that QEMU answers at once
	local out line rc=0
	out=$(EMUFS_HANG_PID=$EMUFS_PID EMUFS_HANG_STACKS=$SCRATCH/hang-stacks.txt \
		python3 -c "$HANG_EXIT_PY$MEANWHILE_PY" "$MNT" 3.5) || rc=$?
	if [ "$rc" -eq 3 ]; then
		EMUFS_PID=     # killed by hang_exit
		fail "while a's QEMU is frozen: $(grep -m 1 HANG <<<"$out"); emufs's stacks: $(hang_frames)"
	fi
	[ "$rc" -eq 0 ] || fail "while a's QEMU is frozen: $(grep -m 3 BAD <<<"$out" | tr '\n' '|')"
	while IFS= read -r line; do note "$line"; done <<<"$out"
	# as the user sees it (bash's echo prints strerror; dash's says "I/O
	# error" for any failed write, so the sh form runs bash)
	expect_errno ETIMEDOUT sh "bash -c 'echo pause > \"$MNT/a/ctl\"'"
	expect_errno ETIMEDOUT sh "cat '$MNT/a/gpio/button'"
	assert_state a running
	alive "$qa" || fail "the frozen QEMU is gone"

	# SIGCONT: it answers again. The pauses that timed out were still
	# queued in QEMU, which runs them now: state follows its STOP event.
	kill -CONT "$qa"
	wait_for "[ \"\$(cat '$MNT/a/props/machine/type' 2>/dev/null)\" = ast2500-evb-machine ]" 3 ||
		fail "props do not answer after SIGCONT: $(timed read "$MNT/a/props/machine/type")"
	wait_state a paused 3
	ctl a resume
	assert_state a running
	local v
	v=$(cat "$MNT/a/gpio/button") || fail "gpio/button after SIGCONT"
	case $v in 0|1) ;; *) fail "gpio/button after SIGCONT reads \"$v\"" ;; esac
	expect_ok write "$MNT/a/gpio/button" 0
	# the ping written while the guest was frozen was kept and answered
	wait_for "grep -qF pong '$MNT/a/serial0'" 3 ||
		fail "the ping written while frozen was not answered: $(cat -v "$MNT/a/serial0" | tail -c 200)"
	out=$(timed qmp "$MNT/a/qmp" '{"execute": "query-status"}')
	[ "${out% *}" = OK ] || fail "qmp after SIGCONT: $out"
	assert_state b running
	ctl a stop
	ctl b stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# stop asks QMP quit (unanswered), SIGTERM at 2.5 s (a stopped process
# does not act on it), SIGKILL at 5 s: done in about 5 s, no process left.
test_stop_of_frozen_emulator_kills_it_within_6s() {
	require_qemu
	fault_config 1000 a b
	mount_emufs
	ctl a start
	ctl b start paused
	local qa qb t0 ms
	qa=$(the_qemu_of a) || exit 1
	qb=$(the_qemu_of b) || exit 1
	kill -STOP "$qa" "$qb"
	t0=$(_now_us)
	ctl a stop
	ms=$(( ($(_now_us) - t0) / 1000 ))
	note "stop of a frozen QEMU took ${ms} ms"
	[ "$ms" -le 6500 ] || fail "stop of a frozen QEMU took ${ms} ms (expected about 5 s)"
	[ "$ms" -ge 2000 ] || fail "stop of a frozen QEMU took only ${ms} ms"
	assert_state a stopped
	alive "$qa" && fail "QEMU $qa of a still there after stop"
	[ -z "$(qemu_of a)" ] || fail "a QEMU of a is left after stop: $(qemu_of a)"
	# kill needs no answer: immediate
	t0=$(_now_us)
	ctl b kill
	ms=$(( ($(_now_us) - t0) / 1000 ))
	note "kill of a frozen QEMU took ${ms} ms"
	[ "$ms" -le 1500 ] || fail "kill of a frozen QEMU took ${ms} ms"
	assert_state b stopped
	assert_no_qemu 1
	# both start again
	ctl a start
	wait_banner a
	assert_content "$MNT/a/props/machine/type" $'ast2500-evb-machine\n'
	ctl a stop
	unmount_emufs
	assert_no_qemu
	assert_no_sanitizer_report
}

# A frozen emulator does not hold up the unmount either: emufs ends it
# (SIGKILL at 5 s) and exits 0.
test_unmount_with_frozen_emulator_exits_0() {
	require_qemu
	fault_config 1000 a
	mount_emufs
	ctl a start
	local qa
	qa=$(the_qemu_of a) || exit 1
	kill -STOP "$qa"
	unmount_emufs
	assert_no_qemu 1
	assert_no_sanitizer_report
}

# The default timeout (no settings) is 5000 ms, the code and every doc say
# so, and a frozen QEMU's request fails after about that long.
test_default_timeout_is_documented_and_applied() {
	local root=$TESTS_DIR/../.. f
	grep -qE 'CONFIG_DEFAULT_REQUEST_TIMEOUT_MS[[:space:]]+5000\b' "$root/src/core/config.h" ||
		fail "src/config.h: the default request timeout is not 5000: $(grep -h DEFAULT_REQUEST_TIMEOUT "$root/src/core/config.h")"
	grep -q 'request_timeout_ms' "$root/docs/emufs.1" || fail "emufs(1) does not name settings.request_timeout_ms"
	sed -n '/request_timeout_ms/,/^\.TP/p' "$root/docs/emufs.1" | grep -q 'Default 5000' ||
		fail "emufs(1) does not give the default of settings.request_timeout_ms as 5000"
	for f in reference.md design.md; do
		grep -q 'request_timeout_ms.*default 5000' "$root/docs/$f" ||
			fail "docs/$f does not document the default request timeout (5000 ms)"
	done
	require_qemu
	fault_config "" a
	mount_emufs
	ctl a start
	local qa
	qa=$(the_qemu_of a) || exit 1
	kill -STOP "$qa"
	expect_timeout_in 4.5 7 read "$MNT/a/gpio/button"
	kill -CONT "$qa"
	assert_content "$MNT/a/gpio/led" $'0\n'
	ctl a stop
	unmount_emufs
	assert_no_sanitizer_report
}
