# test_follow_attack.sh - follow/ (contract 3.8) under attack: signals
# racing the I/O loop's answer, target changes under an open reader. Each
# test here was a defect first (see docs/design.md, "Deferred replies").

. "$TESTS_DIR/lib_extra.sh"

F= # $MNT/board0/follow

# A signal that comes while the I/O loop is answering a parked read of
# follow/state must not cost the reader the lines that read took off the
# queue: they are answered, not dropped for EINTR. The loop is made to
# linger after each such read (EMUFS_TEST_FOLLOW_CHECK_DELAY_MS), and the
# reader gets SIGUSR1 every 20 ms, so signals land in that window.
test_a_signal_while_the_loop_answers_loses_no_state_line() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	EMUFS_TEST_FOLLOW_CHECK_DELAY_MS=150 mount_emufs
	F=$MNT/board0/follow
	python3 - "$F/state" "$MNT/board0/ctl" \
		>"$SCRATCH/lines" 2>"$SCRATCH/py.err" <<'PY' ||
import os, signal, sys, threading, time
signal.signal(signal.SIGUSR1, lambda *a: None)   # reads retry (PEP 475)
fd = os.open(sys.argv[1], os.O_RDONLY)
lines, eintr = [], [0]
def ticker():
    while True:
        time.sleep(0.02)
        signal.pthread_kill(main, signal.SIGUSR1)
buf = b""
def reader():
    global buf
    while buf.count(b"\n") < 3:
        buf += os.read(fd, 100)
    lines.extend(buf.decode().split())
main = threading.get_ident()
threading.Thread(target=ticker, daemon=True).start()
def ctl():
    time.sleep(0.3)
    for cmd in (b"start paused\n", b"resume\n"):
        c = os.open(sys.argv[2], os.O_WRONLY)
        os.write(c, cmd)
        os.close(c)
threading.Thread(target=ctl, daemon=True).start()
def watchdog():
    time.sleep(15)
    sys.stderr.write("blocked after %r\n" % buf)
    os._exit(3)
threading.Thread(target=watchdog, daemon=True).start()
reader()
print("\n".join(lines))
PY
		fail "the reader failed: $(cat "$SCRATCH/py.err")"
	# every state, in order, each once: none taken by an EINTR
	assert_eq "stopped starting paused" "$(head -n 3 "$SCRATCH/lines" | tr '\n' ' ' | sed 's/ $//')" "the states the reader saw"
	unmount_emufs
}

# two_target_config: board0 of target ast, and ast2 to change to.
two_target_config() {
	require_qemu
	{
		echo '{ "targets": {'
		ast_target_json ast '' "$AST_GPIO_JSON"
		echo ','
		ast_target_json ast2 '' ''
		echo '  },'
		echo '  "instances": { "board0": { "target": "ast" } } }'
	} >"$CONFIG"
}

# A follower of serial0 keeps its run when the instance is given another
# target (a new binding, whose serial0 log has the same path): the new
# binding must not truncate the file the old channel's log still reads.
test_a_follower_keeps_its_run_across_a_target_change() {
	two_target_config
	mount_emufs
	F=$MNT/board0/follow
	start_running board0
	exec 7<"$F/serial0"
	ctl board0 stop
	cat "$MNT/board0/serial0" >"$SCRATCH/run"
	grep -qF "$BANNER" "$SCRATCH/run" || fail "no banner in serial0"
	echo ast2 >"$MNT/board0/target" || fail "echo ast2 > target failed"
	timeout 5 cat <&7 >"$SCRATCH/followed" || fail "cat of the open follower failed or blocked"
	exec 7<&-
	cmp -s "$SCRATCH/run" "$SCRATCH/followed" ||
		fail "the follower read $(wc -c <"$SCRATCH/followed") bytes ($(tr -d '\0' <"$SCRATCH/followed" | wc -c) not NUL) of the run's $(wc -c <"$SCRATCH/run")"
	unmount_emufs
}

# poll_reader NAME FILE: a background Python reader that waits in poll()
# (after reading what there is), then reads once more: its status and
# what that read gave in $SCRATCH/NAME.rc and NAME.out; NAME.ready once
# it is about to poll. READER_PID set.
poll_reader() {
	( python3 - "$2" "$SCRATCH/$1.ready" >"$SCRATCH/$1.out" 2>"$SCRATCH/$1.err" <<'PY'
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    while os.read(fd, 65536):
        pass
except BlockingIOError:
    pass
p = select.poll()
p.register(fd, select.POLLIN)
open(sys.argv[2], "w").close()          # ready: about to poll
ev = p.poll(20000)
if not ev:
    sys.exit("no POLLIN within 20 s")
try:
    print("read %r" % os.read(fd, 100))
except OSError as e:
    print("read failed: %s" % e)
os.close(fd)
PY
	  echo $? >"$SCRATCH/$1.rc" ) &
	READER_PID=$!
}

# poll_readers_end_on WHAT CMD...: two readers in poll(), on follow/state
# and follow/log; CMD ends the mount; each gets POLLIN within 3 s and its
# read end of file, and emufs exits 0.
poll_readers_end_on() {
	local what=$1; shift
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	F=$MNT/board0/follow
	poll_reader state "$F/state"
	local state_pid=$READER_PID
	poll_reader log "$F/log"
	wait_for "[ -e '$SCRATCH/state.ready' ] && [ -e '$SCRATCH/log.ready' ]" 5 ||
		fail "the poll readers did not start: $(cat "$SCRATCH"/*.err)"
	sleep 0.3                      # into poll(), past the first answer
	alive "$state_pid" && alive "$READER_PID" || fail "a poll reader ended early: $(cat "$SCRATCH"/*.err)"
	"$@" || fail "$* failed"
	local r
	for r in state log; do
		wait_for "[ -s '$SCRATCH/$r.rc' ]" 3 ||
			fail "the $r reader is still in poll() 3 s after $what"
		assert_eq 0 "$(cat "$SCRATCH/$r.rc")" "the $r reader's status ($(cat "$SCRATCH/$r.err"))"
		assert_eq "read b''" "$(cat "$SCRATCH/$r.out")" "the $r reader's read after POLLIN"
	done
	wait_exit "$EMUFS_PID" 5
	assert_eq 0 "$EXIT_STATUS" "emufs's status after $what ($(emufs_said))"
	EMUFS_PID=
}

# A reader waiting in poll() is a blocked reader too: the end of the mount
# wakes it with POLLIN, and its read gives end of file, at once. A lazy
# unmount ends only when the last file closes: before, such a reader kept
# emufs (and itself) waiting forever.
test_a_lazy_unmount_wakes_a_reader_blocked_in_poll() {
	poll_readers_end_on "a lazy unmount" fusermount3 -u -z "$MNT"
}

sigterm_emufs() { kill -TERM "$EMUFS_PID"; }

test_sigterm_wakes_a_reader_blocked_in_poll_at_once() {
	poll_readers_end_on SIGTERM sigterm_emufs
}

# A follower of serial0 opened while stopped waits for the next run of its
# channel; a target change means that channel never runs again, so it
# gets end of file (as one opened during a run does), not a wait forever.
test_a_follower_waiting_for_the_next_run_ends_on_a_target_change() {
	two_target_config
	mount_emufs
	F=$MNT/board0/follow
	cat "$F/serial0" >"$SCRATCH/next.out" 2>"$SCRATCH/next.err" &
	local pid=$!
	sleep 0.3
	alive "$pid" || fail "cat follow/serial0 of a stopped board ended: $(cat "$SCRATCH/next.err")"
	echo ast2 >"$MNT/board0/target" || fail "echo ast2 > target failed"
	wait_for "! alive $pid" 3 || fail "cat follow/serial0 still blocked 3 s after the target change"
	local rc=0
	wait "$pid" || rc=$?
	assert_eq 0 "$rc" "cat's status ($(cat "$SCRATCH/next.err"))"
	# a follower of the new target's serial0 gets its first run
	cat "$F/serial0" >"$SCRATCH/new.out" &
	pid=$!
	ctl board0 start
	wait_text "$SCRATCH/new.out" "$BANNER" 3
	ctl board0 stop
	wait_for "! alive $pid" 3 || fail "the new follower did not end with its run"
	unmount_emufs
}

# Changes of state during the open of follow/state come after the line for
# the state at open, in order: the open (made to linger between putting
# the file on the followers and reading the state now, with
# EMUFS_TEST_FOLLOW_OPEN_DELAY_MS) sees `starting` and `running` queued
# and the state now `running`; that must not come first as well.
test_states_changing_during_the_open_of_follow_state_stay_in_order() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	EMUFS_TEST_FOLLOW_OPEN_DELAY_MS=3000 mount_emufs
	F=$MNT/board0/follow
	cat "$F/state" >"$SCRATCH/states" &
	local pid=$!
	# openat (257 on x86_64): cat is in the open, past the registration
	wait_for "[ \"\$(cut -d' ' -f1 /proc/$pid/syscall 2>/dev/null)\" = 257 ]" 2 ||
		fail "cat is not in the open of follow/state"
	sleep 0.2
	ctl board0 start
	wait_for "grep -qx running '$SCRATCH/states'" 6 || fail "no running line: $(cat "$SCRATCH/states")"
	sleep 0.3
	kill "$pid"
	assert_eq "starting running" "$(tr '\n' ' ' <"$SCRATCH/states" | sed 's/ $//')" "the lines of follow/state"
	unmount_emufs
}

# A follower of serial0 that the log's cap overtook, then seeks to the end
# (lseek SEEK_END: st_size, in bytes of the run), waits only for what
# comes next: the jump it made past the cut bytes must not count again.
# And st_size is the run's length, whatever the cap cut, even from a
# single append longer than half the cap.
test_a_follower_overtaken_by_the_cap_then_seeking_to_the_end_sees_new_bytes() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON" '{ "log_cap_bytes": 8192 }'
	mount_emufs
	start_running board0
	timeout 30 python3 - "$MNT/board0" >"$SCRATCH/py.out" 2>&1 <<'PY' ||
import os, signal, sys, time
b = sys.argv[1]
fd = os.open(b + "/follow/serial0", os.O_RDONLY)
got = b""
while b"ready\r\n" not in got:
    got += os.read(fd, 4096)
def send(text):
    w = os.open(b + "/serial0", os.O_WRONLY)
    os.write(w, text)
    os.close(w)
send(b"burst 100000\n")
deadline = time.monotonic() + 15
while True:
    with open(b + "/serial0", "rb") as s:
        if s.read().endswith(b"BURST DONE\r\n"):
            break
    if time.monotonic() > deadline:
        sys.exit("no BURST DONE")
    time.sleep(0.05)
os.read(fd, 65536)                  # overtaken: from the oldest byte kept
run = len(b"emufs-test-firmware ready\r\n" b"burst 100000\n") + 100000 + \
      len(b"\r\nBURST DONE\r\n")
size = os.fstat(fd).st_size
if size != run:
    sys.exit("st_size %d, the run has %d bytes" % (size, run))
end = os.lseek(fd, 0, os.SEEK_END)
send(b"ping\n")
def late(*a):
    sys.exit("the read after SEEK_END (at %d) still blocked 3 s after a ping" % end)
signal.signal(signal.SIGALRM, late)
signal.alarm(3)
got = b""
while b"pong" not in got:
    got += os.read(fd, 4096)
print("ok at %d: %r" % (end, got))
PY
		fail "$(tail -n 3 "$SCRATCH/py.out" | tr '\n' '|')"
	unmount_emufs
}

# Killed with SIGKILL while hundreds of readers are blocked in follow/
# and the board runs: every reader ends (the connection is gone), no QEMU
# outlives emufs, and the janitor removes the dead mount.
test_sigkill_of_emufs_with_blocked_readers_leaves_nothing_behind() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	start_running board0
	local i pids=()
	for i in $(seq 300); do
		case $((i % 3)) in
		0) cat "$MNT/board0/follow/serial0" ;;
		1) cat "$MNT/board0/follow/state" ;;
		2) cat "$MNT/board0/follow/gpio/led" ;;
		esac >/dev/null 2>&1 &
		pids+=($!)
	done
	sleep 1                        # the readers into their first reads
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
	local pid left=0
	for pid in "${pids[@]}"; do
		wait_for "! alive $pid" 5 || left=$((left + 1))
	done
	[ "$left" -eq 0 ] || fail "$left readers still blocked 5 s after emufs was killed"
	wait_for no_qemu_left 3 || fail "QEMU still running after emufs was killed: $(qemu_pids | tr '\n' ' ')"
	wait_for "! is_mounted '$MNT'" 3 || fail "dead mount still mounted"
}

# Signals every millisecond (a SIGALRM loop) while a burst flows: every
# read that a signal ends is simply retried (PEP 475), and the follower
# of serial0 gets the exact stream, no byte lost or twice.
test_a_sigalrm_loop_while_a_burst_flows_loses_and_repeats_nothing() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	start_running board0
	timeout 60 python3 - "$MNT/board0" "$FIRMWARE_SRC" >"$SCRATCH/py.out" 2>&1 <<'PY' ||
import os, signal, sys
sys.path.insert(0, sys.argv[2])
import check_burst
b = sys.argv[1]
hits = [0]
def tick(*a):
    hits[0] += 1
signal.signal(signal.SIGALRM, tick)
fd = os.open(b + "/follow/serial0", os.O_RDONLY)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
w = os.open(b + "/serial0", os.O_WRONLY)
os.write(w, b"burst 200000\n")
os.close(w)
got = b""
while not got.endswith(b"\r\nBURST DONE\r\n"):
    got += os.read(fd, 1000)
signal.setitimer(signal.ITIMER_REAL, 0)
stream = (b"emufs-test-firmware ready\r\n" + b"burst 200000\n" +
          check_burst.expected(200000) + b"\r\nBURST DONE\r\n")
if got != stream:
    i = next((i for i in range(min(len(got), len(stream))) if got[i] != stream[i]), min(len(got), len(stream)))
    sys.exit("%d bytes read, %d sent; first difference at %d" % (len(got), len(stream), i))
print("ok, %d signals" % hits[0])
PY
		fail "$(tail -n 2 "$SCRATCH/py.out" | tr '\n' '|')"
	note "$(cat "$SCRATCH/py.out")"
	unmount_emufs
}

# A follower of serial0 whose run ended, then seeks to the end: the end
# is its run's, so it reads end of file, not the whole run a second time
# (serial0's st_size while stopped is the next run's: 0).
test_seek_end_on_a_follower_of_an_ended_run_gives_end_of_file() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	start_running board0
	exec 7<"$MNT/board0/follow/serial0"
	ctl board0 stop
	timeout 10 python3 - "$MNT/board0" 7 >"$SCRATCH/py.out" 2>&1 <<'PY' ||
import os, sys
fd = int(sys.argv[2])
run = open(sys.argv[1] + "/serial0", "rb").read()
end = os.lseek(fd, 0, os.SEEK_END)
if end != len(run):
    sys.exit("SEEK_END at %d, the run it followed has %d bytes" % (end, len(run)))
data = os.read(fd, 4096)
if data:
    sys.exit("read at the end of an ended run gave %r" % data[:40])
PY
		fail "$(tail -n 2 "$SCRATCH/py.out" | tr '\n' '|')"
	exec 7<&-
	unmount_emufs
}
