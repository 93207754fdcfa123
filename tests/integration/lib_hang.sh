# lib_hang.sh - for the fault and load tests: what to do when a call
# into the mount never returns.

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
