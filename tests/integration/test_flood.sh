# test_flood.sh - one QEMU's QMP traffic must not break or starve the rest
# (issue 12, defects 6 and 7): a property write larger than QEMU can read
# within the request timeout, and a flood of QMP events from one emulator
# while another instance is used.

. "$TESTS_DIR/lib_faults.sh"

# ---- a huge property write ---------------------------------------------------

# QEMU reads its QMP socket a byte per main-loop turn (75 to 150 KB/s on
# one machine, ~500 KB/s on another), so a write to props/machine/append
# of a second's worth (the rate measured first with a 50 KB write; at
# least 400 KB, at most 1 MB: the kernel splits a longer FUSE write)
# cannot go out within a 250 ms request timeout. The write times out,
# but the line must still reach QEMU whole:
# afterwards pause, props and pins work again (before the fix the half-sent
# line left the connection dead and they gave EIO until stop).
test_huge_property_write_times_out_but_keeps_the_connection() {
	require_qemu
	fault_config 250 a
	mount_emufs
	ctl a start
	wait_state a running
	local p=$MNT/a/props/machine/append
	local got rate size
	# QEMU's reading rate here, in bytes per second (0: even 50 KB timed
	# out, so QEMU is slower than any size below needs).
	rate=$(python3 - "$p" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
t = time.monotonic()
try:
    os.write(fd, b"r" * 50000)
    print(int(50000 / max(time.monotonic() - t, 1e-3)))
except OSError:
    print(0)
os.close(fd)
EOF
)
	size=$((rate > 400000 ? rate : 400000))
	size=$((size < 1000000 ? size : 1000000))
	got=$(python3 - "$p" "$size" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
try:
    n = os.write(fd, b"y" * int(sys.argv[2]))
    print("OK %d" % n)
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
os.close(fd)
EOF
)
	assert_eq ETIMEDOUT "$got" "$size B write with a 250 ms timeout (QEMU reads $rate B/s)"
	# Until QEMU has read the whole line, requests queue behind it and
	# time out; then everything answers again, nothing gives EIO. A pause
	# that timed out may still be carried out once QEMU reaches it
	# (QEMU's STOP then makes the state paused, and another pause is
	# EBUSY): either way the instance must end up paused.
	local out
	wait_for '[ "$(state_of a)" = paused ] || { echo pause >"$MNT/a/ctl"; } 2>"$SCRATCH/pause.err"' 40 ||
		fail "pause never worked after the huge write: $(cat "$SCRATCH/pause.err"); log: $(tail -n 3 "$MNT/a/log" | tr '\n' '|')"
	assert_state a paused
	# The timed-out write was carried out (the line arrived whole).
	out=$(wc -c <"$p") || fail "reading props/machine/append failed"
	assert_eq $((size + 1)) "$out" "size of props/machine/append after the write"
	ctl a resume
	assert_state a running
	echo 1 >"$MNT/a/gpio/button" || fail "pin write failed after the huge write"
	wait_for '[ "$(cat "$MNT/a/gpio/led")" = 1 ]' 2 ||
		fail "gpio/led does not follow the button after the huge write"
	assert_contains "$MNT/a/log" "Timeout"
	assert_not_contains "$MNT/a/log" "Disconnected"
	assert_not_contains "$MNT/a/log" "Input/output error"
	ctl a stop
	unmount_emufs
	assert_no_sanitizer_report
}

# ---- an event flood --------------------------------------------------------------

FLOOD_MB=${FLOOD_MB:-100}
FLOOD_MAX_S=15      # a sanitizer build takes 100 MB in some 50 s: stop there

# write_flood_qemu: $SCRATCH/flood-qemu, a stand-in for qemu-system-arm: it
# runs the real QEMU with its QMP monitor on a socketpair and relays that
# monitor to emufs line by line. Once $SCRATCH/flood.go exists it also sends
# FLOOD_MB MB of RTC_CHANGE events (or what it can in FLOOD_MAX_S
# seconds), as fast as emufs takes them, between
# QEMU's own lines, then writes the seconds it took to $SCRATCH/flood.done.
# Once $SCRATCH/cut.go exists it breaks the link to emufs (QEMU runs on).
write_flood_qemu() {
	cat >"$SCRATCH/flood-qemu" <<EOF
#!/usr/bin/env python3
import ctypes, os, signal, socket, subprocess, sys, threading, time
REAL, GO, DONE, TOTAL = "$(command -v "$QEMU_ARM")", "$SCRATCH/flood.go", \
    "$SCRATCH/flood.done", $FLOOD_MB << 20
LIMIT_S = $FLOOD_MAX_S
CUT = "$SCRATCH/cut.go"
EOF
	cat >>"$SCRATCH/flood-qemu" <<'EOF'
argv = sys.argv[1:]
i = next(k for k, a in enumerate(argv) if a.startswith("socket,id=emufs-qmp,"))
path = argv[i].split("path=", 1)[1].rsplit(",server=off", 1)[0]
mine, qemus = socket.socketpair()
argv[i] = "socket,id=emufs-qmp,fd=%d" % qemus.fileno()
emufs = socket.socket(socket.AF_UNIX)
# A deep socket buffer (16 MB where allowed: SO_SNDBUFFORCE needs root)
# keeps the flood from running dry whenever this process is descheduled:
# emufs always finds more to read, as with a QEMU that floods faster than
# emufs parses.
try:
    emufs.setsockopt(socket.SOL_SOCKET, 32, 16 << 20)   # SO_SNDBUFFORCE
except OSError:
    emufs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 << 20)
emufs.connect(path)
send_lock = threading.Lock()       # one writer of whole lines to emufs

def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG

qemu = subprocess.Popen([REAL] + argv, pass_fds=[qemus.fileno()],
                        preexec_fn=die_with_parent)
qemus.close()

def up():                          # QEMU -> emufs, whole lines only
    buf = b""
    while True:
        d = mine.recv(65536)
        if not d:
            break
        buf += d
        end = buf.rfind(b"\n") + 1
        if end:
            with send_lock:
                emufs.sendall(buf[:end])
            buf = buf[end:]
    emufs.shutdown(socket.SHUT_WR)

def down():                        # emufs -> QEMU
    while True:
        d = emufs.recv(65536)
        if not d:
            break
        mine.sendall(d)
    mine.shutdown(socket.SHUT_WR)

def cut():                         # break the link, QEMU runs on
    while not os.path.exists(CUT):
        time.sleep(0.02)
    emufs.shutdown(socket.SHUT_RDWR)

def quietly(fn):                   # a broken link ends a relay thread
    def run():
        try:
            fn()
        except OSError:
            pass
    return run

def flood():
    while not os.path.exists(GO):
        time.sleep(0.02)
    ev = (b'{"timestamp": {"seconds": 1795367071, "microseconds": 886098}, '
          b'"event": "RTC_CHANGE", "data": {"offset": 0, '
          b'"qom-path": "/machine/soc/rtc"}}\r\n')
    chunk = ev * ((1 << 20) // len(ev))
    t0, sent = time.monotonic(), 0
    try:
        while sent < TOTAL and time.monotonic() - t0 < LIMIT_S:
            with send_lock:
                emufs.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    with open(DONE + ".tmp", "w") as f:
        f.write("%.2f %d\n" % (time.monotonic() - t0, sent))
    os.rename(DONE + ".tmp", DONE)

for fn in (up, down, flood, cut):
    threading.Thread(target=quietly(fn), daemon=True).start()
rc = qemu.wait()
if rc < 0:
    os.kill(os.getpid(), -rc)
sys.exit(rc)
EOF
	chmod +x "$SCRATCH/flood-qemu"
}

# flood_config: instance "ok" on the real QEMU, "flood" on the stand-in.
flood_config() {
	fault_config "${1:-}" ok
	python3 - "$CONFIG" "$SCRATCH/flood-qemu" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
t = json.loads(json.dumps(cfg["targets"]["ast"]))
t["qemu"]["binary"] = sys.argv[2]
cfg["targets"]["flooder"] = t
cfg["instances"]["flood"] = {"target": "flooder"}
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
}

# measure_healthy SECONDS_MAX: while flood.done does not exist (at most
# SECONDS_MAX), read a property of "ok" and time a serial round trip
# (ping -> pong), in turn. Prints "reads N max_ms M errors E echoes N
# max_ms M lost L".
measure_healthy() {
	python3 - "$MNT/ok" "$SCRATCH/flood.done" "$1" <<'EOF'
import errno, os, sys, time
inst, done, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
prop = inst + "/props/machine/soc/gpio/gpioA1"
ser = inst + "/serial0"
reads, rmax, errs, echoes, emax, lost = 0, 0.0, [], 0, 0.0, 0
end = time.monotonic() + limit
while time.monotonic() < end and not os.path.exists(done):
    t = time.monotonic()
    try:
        with open(prop, "rb") as f:
            f.read()
        reads += 1
    except OSError as e:
        errs.append(errno.errorcode.get(e.errno, str(e.errno)))
    rmax = max(rmax, time.monotonic() - t)
    off = os.stat(ser).st_size
    t = time.monotonic()
    with open(ser, "wb", buffering=0) as w:
        w.write(b"ping\r")
    seen = b""
    while b"pong" not in seen and time.monotonic() - t < 10:
        with open(ser, "rb") as r:
            r.seek(off)
            seen = r.read()
        if b"pong" not in seen:
            time.sleep(0.002)
    if b"pong" in seen:
        echoes += 1
    else:
        lost += 1
    emax = max(emax, time.monotonic() - t)
print("reads %d max_ms %d errors %s echoes %d max_ms %d lost %d" %
      (reads, rmax * 1000, ",".join(errs) or "-", echoes, emax * 1000, lost))
EOF
}

# emufs_cpu_s: user+system CPU seconds emufs has used so far.
emufs_cpu_s() {
	awk '{ printf "%.2f\n", ($14 + $15) / 100 }' "/proc/$EMUFS_PID/stat"
}

# While "flood" sends 100 MB of events, "ok" answers every property read
# and echoes serial input within FLOOD_BOUND_MS, well within the request
# timeout (5 s); the bound leaves room for a host shared with other test
# suites (at load 16 to 25 on 2 cores: up to 1.3 s). Before the fix the
# reader of the flooding QMP socket kept the I/O loop until the socket
# was empty, which a flood never lets happen: property reads gave
# ETIMEDOUT, echoes took up to 9 s.
FLOOD_BOUND_MS=2000
test_event_flood_does_not_starve_another_instance() {
	require_qemu
	write_flood_qemu
	flood_config
	mount_emufs
	ctl ok start
	wait_state ok running
	ctl flood start paused
	wait_state flood paused
	local cpu0 cpu1 res took
	cpu0=$(emufs_cpu_s)
	: >"$SCRATCH/flood.go"
	res=$(measure_healthy 40)
	wait_for '[ -e "$SCRATCH/flood.done" ]' 40 || fail "the flood did not end in 40 s"
	cpu1=$(emufs_cpu_s)
	took=$(cat "$SCRATCH/flood.done")
	local fig="flood: ${took% *} s for $(( ${took#* } >> 20 )) MB, emufs CPU $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') s; healthy instance meanwhile: $res"
	note "$fig"
	# FLOOD_REPORT=FILE: keep the figures (docs/reliability.md quotes them)
	[ -z "${FLOOD_REPORT:-}" ] || echo "$fig" >>"$FLOOD_REPORT"
	set -- $res
	[ "$2" -gt 0 ] || fail "no property read finished during the flood: $res"
	[ "$6" = - ] || fail "property reads failed during the flood: $res"
	[ "$4" -lt "$FLOOD_BOUND_MS" ] || fail "a property read took $4 ms during the flood: $res"
	[ "${12}" = 0 ] || fail "serial echoes lost during the flood: $res"
	[ "${10}" -lt "$FLOOD_BOUND_MS" ] || fail "a serial echo took ${10} ms during the flood: $res"
	# The flooding instance still works, and its events arrived.
	[ "$(cat "$MNT/flood/props/machine/soc/gpio/gpioA1")" = false ] ||
		fail "flood's property read failed after the flood"
	assert_contains "$MNT/flood/events" RTC_CHANGE
	ctl flood stop
	ctl ok stop
	unmount_emufs
	assert_no_sanitizer_report
}

# ---- a broken QMP connection -------------------------------------------------------

# When the QMP connection breaks while QEMU runs on, the instance must not
# go on saying `running` while every request fails with EIO: within the
# request timeout emufs ends the emulator, `state` says crashed and `log`
# says why. (Before: `running` for ever, pause, props and pins EIO.)
test_broken_qmp_connection_makes_the_instance_crashed() {
	require_qemu
	write_flood_qemu
	flood_config 3000     # the stand-in is slow to start on a loaded host
	mount_emufs
	ctl flood start paused
	wait_state flood paused
	: >"$SCRATCH/cut.go"
	wait_state flood crashed 15
	assert_contains "$MNT/flood/log" "QMP connection"
	expect_errno EBUSY write "$MNT/flood/ctl" resume
	# and it starts again
	rm -f "$SCRATCH/cut.go"
	ctl flood start paused
	wait_state flood paused
	ctl flood stop
	unmount_emufs
	assert_no_sanitizer_report
}
