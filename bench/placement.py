#!/usr/bin/env python3
"""placement.py - the two experiments behind docs/performance.md,
"Session 8: what the misses are made of", which make bench does not run.

  placement.py stalls EMUFS QEMU FIRMWARE [N]
      N (3000) back-to-back reads of props/.../gpio/gpioA1 through emufs
      and as many raw qom-gets on a second monitor, with the threads placed
      three ways: free; QEMU's vCPU thread (its busiest) alone on cpu1 and
      all else on cpu0; everything on cpu0. Prints p50/p95/p99 and the
      reads over 1.5 ms (the stalls).

  placement.py idle EMUFS QEMU FIRMWARE [N] [--paused] [--no-halt]
      One read after pauses of 0 to 3 s, N (15) of each, through emufs
      and raw: medians and emufs's CPU per read. --paused stops the
      guest first; --no-halt holds /dev/cpu_dma_latency at 0 (root).

Root, 2 cores or more. The mount and its QEMU live in a scratch
directory and end with the script.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

PROP = 'b0/props/machine/soc/gpio/gpioA1'
QOM_GET = {"execute": "qom-get",
           "arguments": {"path": "/machine/soc/gpio", "property": "gpioA1"}}


class Setup:
    """emufs mounted with one running instance b0 of the test firmware,
    and a raw QMP monitor of the same QEMU."""

    def __init__(self, emufs, qemu, firmware):
        self.work = tempfile.mkdtemp(prefix='emufs-placement.')
        self.mnt = os.path.join(self.work, 'mnt')
        raw = os.path.join(self.work, 'raw.sock')
        os.mkdir(self.mnt)
        cfg = {"targets": {"fwq": {
            "emulator": "qemu",
            "qemu": {"binary": qemu, "machine": "ast2500-evb",
                     "kernel": firmware,
                     "args": ["-nic", "none", "-qmp",
                              "unix:%s,server=on,wait=off" % raw]},
            "serial": {"serial0": 0}}},
            "instances": {"b0": {"target": "fwq"}}}
        with open(os.path.join(self.work, 'cfg.json'), 'w') as f:
            json.dump(cfg, f)
        self.fs = subprocess.Popen(
            [emufs, '-f', '-c', os.path.join(self.work, 'cfg.json'),
             '--state-dir', os.path.join(self.work, 'state'), self.mnt],
            stderr=open(os.path.join(self.work, 'emufs.log'), 'w'))
        self._wait(lambda: os.path.ismount(self.mnt))
        with open(os.path.join(self.mnt, 'b0/ctl'), 'w') as f:
            f.write('start\n')
        self._wait(lambda: self.read('b0/state').strip() == 'running')
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(raw)
        self.qmp = self.sock.makefile('rwb', 0)
        self.qmp.readline()
        self.cmd({"execute": "qmp_capabilities"})
        self.qemu = int(subprocess.check_output(
            ['pgrep', '-P', str(self.fs.pid), 'qemu-system']).split()[0])

    @staticmethod
    def _wait(ok, seconds=20):
        end = time.monotonic() + seconds
        while not ok():
            if time.monotonic() > end:
                sys.exit('placement.py: timed out setting up')
            time.sleep(0.02)

    def read(self, rel):
        with open(os.path.join(self.mnt, rel)) as f:
            return f.read()

    def cmd(self, c):
        self.qmp.write((json.dumps(c) + '\n').encode())
        while True:
            reply = json.loads(self.qmp.readline())
            if 'return' in reply or 'error' in reply:
                return reply

    def close(self):
        self.sock.close()
        self.fs.terminate()
        self.fs.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def tids(pid):
    return [int(t) for t in os.listdir('/proc/%d/task' % pid)]


def ticks(pid, tid):
    with open('/proc/%d/task/%d/stat' % (pid, tid)) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def place(s, vcpu_cpu, rest_cpu):
    """Every thread of QEMU, emufs and this script to rest_cpu, QEMU's
    busiest (its vCPU) to vcpu_cpu; None: every core."""
    every = set(range(os.cpu_count()))
    vcpu = max(tids(s.qemu), key=lambda t: ticks(s.qemu, t))
    for pid in (s.qemu, s.fs.pid, os.getpid()):
        for t in tids(pid):
            cpu = vcpu_cpu if t == vcpu else rest_cpu
            os.sched_setaffinity(t, every if cpu is None else {cpu})


def stalls(s, n):
    for label, vcpu, rest in (('free', None, None),
                              ('vCPU alone on cpu1', 1, 0),
                              ('everything on cpu0', 0, 0)):
        place(s, vcpu, rest)
        for side in ('emufs', 'raw'):
            v = []
            for _ in range(n):
                t0 = time.perf_counter()
                if side == 'emufs':
                    s.read(PROP)
                else:
                    s.cmd(QOM_GET)
                v.append((time.perf_counter() - t0) * 1e6)
            v.sort()
            print('%-20s %-5s p50 %5.0f  p95 %5.0f  p99 %6.0f us, %3d of %d '
                  'over 1.5 ms' % (label, side, v[n // 2], v[n * 95 // 100],
                                   v[n * 99 // 100],
                                   sum(x > 1500 for x in v), n), flush=True)
    place(s, None, None)


def cpu_ns(pid):
    total = 0
    for t in tids(pid):
        try:
            with open('/proc/%d/task/%d/schedstat' % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass               # a thread that ended meanwhile
    return total


def idle(s, n):
    median = lambda v: sorted(v)[len(v) // 2]
    print('%-8s %12s %12s %14s' % ('pause', 'emufs read', 'raw qom-get',
                                   'emufs CPU'))
    for pause in (0, 0.001, 0.01, 0.05, 0.2, 0.5, 1.25, 3.0):
        fs, raw, cpu = [], [], []
        for i in range(n):
            # emufs and raw lead in turn, each after its own pause.
            for side in (('emufs', 'raw') if i % 2 else ('raw', 'emufs')):
                time.sleep(pause)
                c0, t0 = cpu_ns(s.fs.pid), time.perf_counter()
                if side == 'emufs':
                    s.read(PROP)
                    fs.append(time.perf_counter() - t0)
                    cpu.append((cpu_ns(s.fs.pid) - c0) / 1e3)
                else:
                    s.cmd(QOM_GET)
                    raw.append(time.perf_counter() - t0)
        print('%-8s %9.0f us %9.0f us %11.1f us' % (
            pause, median(fs) * 1e6, median(raw) * 1e6, median(cpu)),
            flush=True)


def main(argv):
    if len(argv) < 5 or argv[1] not in ('stalls', 'idle'):
        sys.exit(__doc__)
    opts = [a for a in argv[5:] if a.startswith('--')]
    nums = [int(a) for a in argv[5:] if not a.startswith('--')]
    hold = None
    if '--no-halt' in opts:
        hold = open('/dev/cpu_dma_latency', 'wb', buffering=0)
        hold.write(struct.pack('i', 0))
    s = Setup(*argv[2:5])
    try:
        for _ in range(200):               # warm up both sides
            s.read(PROP)
            s.cmd(QOM_GET)
        if argv[1] == 'stalls':
            stalls(s, nums[0] if nums else 3000)
        else:
            if '--paused' in opts:
                s.cmd({"execute": "stop"})
            idle(s, nums[0] if nums else 15)
    finally:
        s.close()
        if hold:
            hold.close()


if __name__ == '__main__':
    main(sys.argv)
