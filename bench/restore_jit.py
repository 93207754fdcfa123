#!/usr/bin/env python3
"""restore_jit.py - where a snapshot restore's extra time goes (issue 16).

Shows that QEMU's snapshot-load throws away every translated block (TCG's
code cache: `info jit` before and after) and what the guest's first
command after a load costs against one after a pause/resume, which keeps
the cache. A measurement to run by hand, not part of `make bench`:

    make guest-kit && python3 bench/restore_jit.py

It mounts build/emufs with examples/boards/virt-linux in a scratch
directory, boots the guest, saves a snapshot at its prompt, then times
commands (`echo X-$((N+1))` typed into serial0, until `X-<N+1>` shows in
follow/serial0) after loads and after pause/resume. docs/performance.md
has its figures.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    scratch = tempfile.mkdtemp(prefix="emufs-jit.")
    mnt = os.path.join(scratch, "mnt")
    os.mkdir(mnt)
    with open(os.path.join(ROOT, "examples/boards/virt-linux/board.json")) as f:
        cfg = json.load(f)
    q = cfg["targets"]["virt-linux"]["qemu"]
    board_dir = os.path.join(ROOT, "examples/boards/virt-linux")
    for key in ("kernel", "initrd"):
        q[key] = os.path.normpath(os.path.join(board_dir, q[key]))
    conf = os.path.join(scratch, "board.json")
    with open(conf, "w") as f:
        json.dump(cfg, f)
    emufs = subprocess.Popen([os.path.join(ROOT, "build/emufs"), "-f",
                              conf, mnt])
    try:
        for _ in range(100):
            if os.path.isdir(os.path.join(mnt, "virt-linux")):
                break
            time.sleep(0.05)
        run(os.path.join(mnt, "virt-linux"))
    finally:
        subprocess.run(["fusermount3", "-u", mnt])
        emufs.wait(timeout=30)


def run(b):
    def write(name, text):
        with open(os.path.join(b, name), "w") as f:
            f.write(text)

    def hmp(line):
        fd = os.open(os.path.join(b, "qmp"), os.O_RDWR)
        cmd = {"execute": "human-monitor-command",
               "arguments": {"command-line": line}}
        os.write(fd, (json.dumps(cmd) + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            reply += chunk
        os.close(fd)
        return json.loads(reply)["return"]

    serial = open(os.path.join(b, "follow/serial0"), "rb", buffering=0)

    def wait_for(token, timeout_s=120):
        seen, end = b"", time.time() + timeout_s
        while time.time() < end:
            seen += serial.read(4096)
            if token in seen:
                return
        sys.exit("timed out waiting for %r" % token)

    def jit():
        lines = hmp("info jit").splitlines()
        return ", ".join(" ".join(l.split()) for l in lines
                         if "TB count" in l and "cross" not in l
                         or "flush count" in l)

    n = [100]

    def command_ms():
        n[0] += 1
        t = time.time()
        write("serial0", "echo X-$((%d+1))\n" % n[0])
        wait_for(b"X-%d" % (n[0] + 1))
        return (time.time() - t) * 1000

    write("ctl", "start\n")
    wait_for(b"guest# ")
    time.sleep(1)
    print("after boot: commands %s ms" %
          " ".join("%.0f" % command_ms() for _ in range(3)))
    os.mkdir(os.path.join(b, "snapshots/p"))
    for _ in range(3):
        before = jit()
        t = time.time()
        write("ctl", "load p\n")
        load_ms = (time.time() - t) * 1000
        print("load: %.0f ms; before: %s; after: %s" % (load_ms, before,
                                                        jit()))
        print("  first command %.0f ms, second %.0f ms" %
              (command_ms(), command_ms()))
    for _ in range(3):
        write("ctl", "pause\n")
        write("ctl", "resume\n")
        print("pause/resume: %s; first command %.0f ms" %
              (jit(), command_ms()))
    write("ctl", "kill\n")


if __name__ == "__main__":
    main()
