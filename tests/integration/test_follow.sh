# test_follow.sh - follow/ (contract 3.8, issue 14): reads that block until
# there is something new, driven the way a CI script waits: grep -m1 with a
# timeout, cat, poll(), Ctrl-C. The board is the test firmware on
# ast2500-evb (serial0; button A0 in, led A1 out, mirrored by the
# firmware); the shim board (lm3s) gives a pin whose every write is a
# level change emufs records.
#
# A thousand readers take long to start and end on a loaded machine:
# integration-timeout: 150

. "$TESTS_DIR/lib_extra.sh"

F= # $MNT/board0/follow

setup_board() {
	require_qemu
	write_ast_config '' "$AST_GPIO_JSON"
	mount_emufs
	F=$MNT/board0/follow
}

# bg_reader NAME CMD...: run CMD in the background with SIGINT at its
# default (as in a terminal), its output in $SCRATCH/NAME.out, its exit
# status in $SCRATCH/NAME.rc once it ends; sets READER_PID.
bg_reader() {
	local name=$1; shift
	( trap - INT; "$@" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err"
	  echo $? >"$SCRATCH/$name.rc" ) &
	READER_PID=$!
}

# reader_rc NAME TIMEOUT_S: the exit status of bg_reader NAME, once it
# ended; fails if it did not end in time.
reader_rc() {
	wait_for "[ -s '$SCRATCH/$1.rc' ]" "$2" ||
		fail "reader $1 still blocked after ${2}s"
	cat "$SCRATCH/$1.rc"
}

# blocked PID: the process sleeps in a read of the mount (not ended, not
# running).
blocked() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" = S ]
}

test_follow_lists_its_files() {
	setup_board
	assert_eq "events gpio log serial0 state trace" "$(ls "$F" | tr '\n' ' ' | sed 's/ $//')" "ls follow/"
	assert_eq "button led" "$(ls "$F/gpio" | tr '\n' ' ' | sed 's/ $//')" "ls follow/gpio/"
	[ -d "$F" ] || fail "follow is not a directory"
	expect_errno ENOENT sh "cat '$F/nosuch'"
	unmount_emufs
}

test_follow_state_gives_each_state_in_order() {
	setup_board
	bg_reader states cat "$F/state"
	wait_for "[ -s '$SCRATCH/states.out' ]" 2 || fail "no state line at open"
	assert_content "$SCRATCH/states.out" $'stopped\n'
	# the one-line wait of the contract, while the board boots
	ctl board0 start
	timeout 5 grep -q -m1 -x running "$F/state" ||
		fail "grep -m1 -x running follow/state did not match within 5 s"
	ctl board0 stop
	wait_for "[ \"\$(wc -l <'$SCRATCH/states.out')\" -ge 5 ]" 5 ||
		fail "follow/state gave: $(tr '\n' ' ' <"$SCRATCH/states.out")"
	assert_eq "stopped starting running stopping stopped" \
		"$(tr '\n' ' ' <"$SCRATCH/states.out" | sed 's/ $//')" "follow/state lines"
	blocked "$READER_PID" || fail "cat follow/state ended while the instance can start again"
	# a plain unmount is refused while it reads (EBUSY, as on any file
	# system); a lazy one ends the mount and the read
	fusermount3 -u -z "$MNT" || fail "fusermount3 -u -z failed"
	assert_eq 0 "$(reader_rc states 3)" "cat follow/state's status at the lazy unmount"
	wait_exit "$EMUFS_PID" 5
	assert_eq 0 "$EXIT_STATUS" "emufs's status ($(emufs_said))"
	EMUFS_PID=
}

test_grep_waits_for_the_banner_and_cat_ends_with_the_run() {
	setup_board
	# opened while stopped: the next run's output, from its first byte
	bg_reader run1 cat "$F/serial0"
	sleep 0.2
	blocked "$READER_PID" || fail "cat follow/serial0 did not block on a stopped board"
	ctl board0 start
	timeout 30 grep -q -m1 "$BANNER" "$F/serial0" ||
		fail "timeout 30 grep -q -m1 banner follow/serial0 failed"
	ctl board0 stop
	assert_eq 0 "$(reader_rc run1 3)" "cat follow/serial0's status when the run ended"
	assert_contains "$SCRATCH/run1.out" "$BANNER"
	assert_eq "$(cat "$MNT/board0/serial0")" "$(cat "$SCRATCH/run1.out")" \
		"what cat follow/serial0 read, against serial0"
	unmount_emufs
}

test_follow_pin_gives_each_level_in_order() {
	setup_board
	ctl board0 start
	wait_banner board0
	bg_reader led cat "$F/gpio/led"
	wait_for "[ -s '$SCRATCH/led.out' ]" 2 || fail "no level line at open"
	echo 1 >"$MNT/board0/gpio/button"
	timeout 2 grep -q -m1 -x 1 "$F/gpio/led" ||
		fail "grep -m1 -x 1 follow/gpio/led did not match within 2 s"
	echo 0 >"$MNT/board0/gpio/button"
	wait_for "[ \"\$(wc -l <'$SCRATCH/led.out')\" -ge 3 ]" 2 ||
		fail "follow/gpio/led gave: $(tr '\n' ' ' <"$SCRATCH/led.out")"
	assert_eq "0 1 0" "$(tr '\n' ' ' <"$SCRATCH/led.out" | sed 's/ $//')" "follow/gpio/led lines"
	ctl board0 stop
	kill "$READER_PID"; pkill -f -- "cat $F/gpio/led"
	wait_for "! pgrep -f -- 'cat $F/gpio/led' >/dev/null" 2 || fail "the reader did not end"
	unmount_emufs
}

# A reader that never reads holds at most FOLLOW_LINES_MAX lines; then it
# reads one `lost N` line in place of the oldest, and the newest in order.
test_a_pin_reader_that_falls_behind_reads_lost_n() {
	require_shim_firmware
	write_shim_config
	mount_emufs
	ctl lm start
	wait_text "$MNT/lm/console" "$SHIM_BANNER" 2
	python3 - "$MNT/lm" <<'EOF' || fail "lost-lines check failed"
import os, sys
lm = sys.argv[1]
fd = os.open(lm + "/follow/gpio/in2", os.O_RDONLY | os.O_NONBLOCK)
w = os.open(lm + "/gpio/in2", os.O_WRONLY)
# 1,500 changes: 1 0 1 0 ... ending on 0
for i in range(1500):
    os.write(w, b"1\n" if i % 2 == 0 else b"0\n")
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        break
    data += chunk
lines = data.decode().split("\n")[:-1]
lost = [l for l in lines if l.startswith("lost ")]
if len(lost) != 1:
    sys.exit("expected one lost line, got %r in %d lines" % (lost, len(lines)))
levels = [l for l in lines if not l.startswith("lost ")]
if len(levels) != 1000:
    sys.exit("expected 1000 levels kept, got %d" % len(levels))
n = int(lost[0].split()[1])
# the level at open and 1,500 changes, 1,000 of them kept
if n != 1501 - 1000:
    sys.exit("lost %d, expected %d" % (n, 501))
if lines[0] != lost[0]:
    sys.exit("the lost line is not first: %r" % lines[:3])
if levels[-1] != "0" or any(a == b for a, b in zip(levels, levels[1:])):
    sys.exit("levels out of order: %r ... %r" % (levels[:4], levels[-4:]))
print("ok")
EOF
	ctl lm stop
	unmount_emufs
}

test_seek_end_nonblock_and_poll_on_follow_log() {
	setup_board
	python3 - "$MNT/board0" <<'EOF' || fail "follow/log seek/poll check failed"
import errno, os, select, sys, time
b = sys.argv[1]
fd = os.open(b + "/follow/log", os.O_RDONLY | os.O_NONBLOCK)
end = os.lseek(fd, 0, os.SEEK_END)
if end != os.stat(b + "/log").st_size:
    sys.exit("SEEK_END at %d, log has %d" % (end, os.stat(b + "/log").st_size))
try:
    os.read(fd, 100)
    sys.exit("a read at the end with O_NONBLOCK did not fail")
except OSError as e:
    if e.errno != errno.EAGAIN:
        sys.exit("O_NONBLOCK read: %s, expected EAGAIN" % errno.errorcode[e.errno])
p = select.poll()
p.register(fd, select.POLLIN)
if p.poll(300):
    sys.exit("POLLIN with nothing new")
w = os.open(b + "/ctl", os.O_WRONLY)
try:
    os.write(w, b"bogus\n")
except OSError:
    pass
t = time.monotonic()
ev = p.poll(2000)
if not ev or not ev[0][1] & select.POLLIN:
    sys.exit("no POLLIN within 2 s of a new log line")
line = os.read(fd, 4096).decode()
if "bogus" not in line or line.count("\n") != 1:
    sys.exit("read after SEEK_END gave %r, expected only the new line" % line)
if p.poll(200):
    sys.exit("POLLIN again after reading everything")
print("ok %.1f ms" % ((time.monotonic() - t) * 1000))
EOF
	unmount_emufs
}

test_follow_files_refuse_writing_with_eacces_and_log_it() {
	setup_board
	expect_errno EACCES sh "echo x > '$F/serial0'"
	expect_errno EACCES sh "echo x > '$F/state'"
	expect_errno EACCES sh "echo 1 > '$F/gpio/button'"
	assert_contains "$MNT/board0/log" "open of serial0 for writing refused"
	unmount_emufs
}

test_ctrl_c_ends_a_blocked_cat_and_a_signal_gives_eintr() {
	setup_board
	( trap - INT; exec cat "$F/serial0" >/dev/null ) &
	local pid=$! rc=0
	sleep 0.3
	blocked "$pid" || fail "cat follow/serial0 is not blocked"
	kill -INT "$pid"
	wait_for "! alive $pid" 2 || fail "cat still blocked 2 s after SIGINT"
	wait "$pid" || rc=$?
	assert_eq 130 "$rc" "cat's status after SIGINT"
	# a program that handles the signal sees EINTR
	timeout 10 python3 - "$F/state" <<'EOF' || fail "EINTR check failed"
import os, signal, sys
class Alarm(Exception): pass
def on_alarm(*a): raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100)                 # the state at open
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    os.read(fd, 100)
    sys.exit("the read returned without a change")
except Alarm:
    print("ok")
EOF
	# the mount goes on answering
	assert_state board0 stopped
	unmount_emufs
}

# many_readers N FILE: N blocked cats of FILE; their pids in READERS.
READERS=()
many_readers() {
	mkdir -p "$SCRATCH/r"
	local i
	for i in $(seq "$1"); do
		cat "$2" >/dev/null 2>"$SCRATCH/r/$i.err" &
		READERS+=($!)
	done
}

# readers_alive: how many of READERS have not ended (they are this
# shell's jobs: `jobs` knows without a process per reader).
readers_alive() {
	jobs -rp | grep -cxF -f <(printf '%s\n' "${READERS[@]}")
}

# all_readers_ended TIMEOUT_S: every reader ended, each with status 0.
all_readers_ended() {
	wait_for "[ \"\$(readers_alive)\" -eq 0 ]" "$1" ||
		fail "$(readers_alive) of ${#READERS[@]} readers still blocked after ${1}s"
	local pid bad=0
	for pid in "${READERS[@]}"; do
		wait "$pid" || bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ] ||
		fail "$bad readers ended with an error: $(cat "$SCRATCH"/r/*.err | sort | uniq -c | head -3)"
}

test_sigterm_gives_every_blocked_reader_end_of_file() {
	setup_board
	many_readers 50 "$F/serial0"
	sleep 0.5
	assert_eq 50 "$(readers_alive)" "blocked readers"
	kill -TERM "$EMUFS_PID"
	all_readers_ended 3
	wait_exit "$EMUFS_PID" 5
	assert_eq 0 "$EXIT_STATUS" "emufs's status after SIGTERM with blocked readers ($(emufs_said))"
	EMUFS_PID=
}

test_lazy_unmount_gives_every_blocked_reader_end_of_file() {
	setup_board
	many_readers 50 "$F/state"
	sleep 0.5
	assert_eq 50 "$(readers_alive)" "blocked readers"
	fusermount3 -u -z "$MNT" || fail "fusermount3 -u -z failed"
	all_readers_ended 3
	wait_exit "$EMUFS_PID" 5
	assert_eq 0 "$EXIT_STATUS" "emufs's status after a lazy unmount ($(emufs_said))"
	EMUFS_PID=
}

# A signal that comes while hundreds of woken readers are reading again
# ends every one cleanly: no request read from the kernel is dropped at
# the end (libfuse's own loop dropped some: ECONNABORTED in a few cats).
test_sigterm_amid_a_storm_of_reads_loses_no_request() {
	setup_board
	ctl board0 start
	wait_banner board0
	many_readers 500 "$F/state"
	wait_for "[ \"\$(readers_alive)\" -eq 500 ]" 10 || fail "readers did not start"
	sleep 1
	# every reader wakes for the pause and reads again, as the signal
	# comes
	echo pause >"$MNT/board0/ctl" && kill -TERM "$EMUFS_PID"
	all_readers_ended 20
	wait_exit "$EMUFS_PID" 20
	assert_eq 0 "$EXIT_STATUS" "emufs's status ($(emufs_said))"
	EMUFS_PID=
}

# A thousand blocked readers cost no thread each, and every other file
# goes on answering (the latency ratio is make bench's).
test_a_thousand_blocked_readers_leave_the_mount_answering() {
	setup_board
	ctl board0 start
	wait_banner board0
	many_readers 1000 "$F/log"
	sleep 2
	local threads
	threads=$(ls "/proc/$EMUFS_PID/task" | wc -l)
	note "emufs has $threads threads with 1000 blocked readers"
	[ "$threads" -lt 40 ] || fail "emufs has $threads threads with 1000 blocked readers"
	assert_state board0 running
	echo 1 >"$MNT/board0/gpio/button" || fail "writing a pin failed"
	wait_text "$MNT/board0/serial0" "LED 1" 2
	assert_content "$MNT/board0/gpio/led" $'1\n'
	ls "$MNT/board0/props/machine" >/dev/null || fail "props did not answer"
	# each reader is still blocked, then all end at once
	assert_eq 1000 "$(readers_alive)" "blocked readers"
	ctl board0 stop
	kill -TERM "$EMUFS_PID"
	all_readers_ended 10
	wait_exit "$EMUFS_PID" 10
	assert_eq 0 "$EXIT_STATUS" "emufs's status ($(emufs_said))"
	EMUFS_PID=
}
