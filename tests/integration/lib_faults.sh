# lib_faults.sh - what the fault, timeout, random-write and load tests
# share: their config, finding an instance's QEMU, sanitizer reports in
# emufs's output, and what to do when a call into the mount never returns.

# fault_config TIMEOUT_MS INSTANCE...: targets "ast" and "ast2" (both the
# test firmware, serial0, pins button = gpioA0 (in), led = gpioA1 (out))
# and one instance of "ast" per argument. TIMEOUT_MS empty: no settings
# (the default request timeout).
fault_config() {
	local timeout=$1 inst sep="" t
	shift
	{
		printf '{\n'
		[ -n "$timeout" ] &&
			printf '  "settings": { "request_timeout_ms": %s },\n' "$timeout"
		printf '  "targets": {\n'
		for t in ast ast2; do
			cat <<EOF
    "$t": {
      "emulator": "qemu",
      "qemu": { "binary": "$QEMU_ARM", "machine": "ast2500-evb",
                "kernel": "$FIRMWARE_DIR/ast2500-test.elf", "args": ["-nic", "none"] },
      "serial": { "serial0": 0 },
      "gpio": {
        "button": { "qom": "/machine/soc/gpio", "property": "gpioA0", "direction": "in" },
        "led":    { "qom": "/machine/soc/gpio", "property": "gpioA1", "direction": "out" }
      }
    }$([ "$t" = ast ] && echo ,)
EOF
		done
		printf '  },\n  "instances": {\n'
		for inst in "$@"; do
			printf '%s    "%s": { "target": "ast" }' "$sep" "$inst"
			sep=$',\n'
		done
		printf '\n  }\n}\n'
	} >"$SCRATCH/cfg.json"
	CONFIG=$SCRATCH/cfg.json
}

# qemu_of INSTANCE: the pid of the QEMU of INSTANCE (its sockets are in
# the instance's state directory, which its command line names).
qemu_of() {
	pgrep -f -- "qemu-system[^ ]* .*$(_re_escape "$STATE_DIR/$1/")"
}

the_qemu_of() {
	local pids
	pids=$(qemu_of "$1")
	[ -n "$pids" ] && [ "$(wc -l <<<"$pids")" -eq 1 ] ||
		fail "expected one QEMU for $1, found: $(tr '\n' ' ' <<<"$pids")"
	echo "$pids"
}

wait_banner() {
	wait_for "grep -qF '$BANNER' '$MNT/$1/serial0'" "${2:-3}" ||
		fail "no banner in $1/serial0: $(cat -v "$MNT/$1/serial0" | head -c 200)"
}

SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer'

# A sanitizer report in emufs's output (mount_emufs collects it) fails.
assert_no_sanitizer_report() {
	local f=$SCRATCH/emufs.out
	if grep -qE "$SAN_RE" "$f" 2>/dev/null; then
		grep -m 1 -A 16 -E "$SAN_RE" "$f" >&2
		fail "sanitizer report in emufs's output: $(grep -m 1 -E "$SAN_RE" "$f")"
	fi
}

# HANG_EXIT_PY: prepended to the test files' python scripts. hang_exit(): a call
# into the mount did not return. A process cannot end while one of its
# calls waits in emufs (the kernel waits for the answer once emufs has the
# request), so it saves emufs's stacks (gdb, when installed) in
# $EMUFS_HANG_STACKS, kills emufs ($EMUFS_HANG_PID) and exits 3.
HANG_EXIT_PY='
import os as _os, signal as _signal, subprocess as _sp, sys as _sys
def hang_exit():
    _sys.stdout.flush()
    pid = int(_os.environ.get("EMUFS_HANG_PID") or 0)
    if pid:
        try:
            with open(_os.environ.get("EMUFS_HANG_STACKS") or "/dev/null", "w") as f:
                _sp.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 10"],
                        stdout=f, stderr=_sp.STDOUT, timeout=20)
        except Exception:
            pass
        try:
            _os.kill(pid, _signal.SIGKILL)
        except OSError:
            pass
    _os._exit(3)
'

# hang_frames: the emufs functions on the stacks saved by hang_exit
hang_frames() {
	grep -oE '^#[0-9]+ +(0x[0-9a-f]+ in )?[a-z_][a-z0-9_]* \(.* at (src|fs)/' "$SCRATCH/hang-stacks.txt" 2>/dev/null |
		sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?//; s/ \(.*//' | awk '!seen[$0]++' | head -n 12 | tr '\n' ' '
}
