#!/usr/bin/env python3
"""selftest.py: run the test firmware in QEMU and check its contract.

    selftest.py [FIRMWARE_DIR]     (default ../../build/firmware)

Starts each board paused (-S) with its serials and QMP on unix sockets,
connects everything, then sends "cont", so no output is lost. Checks the
ast2500 firmware (banner, echo, ping, unknown line, a 1 MiB burst, the
A0 -> A1 mirror through QMP, also during a burst, and "reset" making QEMU
exit 0 under -no-reboot) and the lm3s6965 shim firmware. Prints timings.
Needs only qemu-system-arm and python3; exit status 0 when all pass.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # keep the source tree clean
import check_burst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.environ.get("QEMU", "qemu-system-arm")


class Serial:
    """A serial channel: a unix socket QEMU listens on."""

    def __init__(self, path):
        self.sock = connect(path)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def expect(self, want, timeout=10.0):
        """Read until want appears; return everything up to and including it."""
        deadline = time.monotonic() + timeout
        while want not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timeout waiting for %r; have %r"
                                     % (want, self.buf[-200:]))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("EOF waiting for %r" % want)
            self.buf += chunk
        end = self.buf.index(want) + len(want)
        got, self.buf = self.buf[:end], self.buf[end:]
        return got


class Qmp:
    """Just enough QMP: one command at a time, events skipped."""

    def __init__(self, path):
        self.file = connect(path).makefile("rwb")
        json.loads(self.file.readline())            # greeting
        self.execute("qmp_capabilities")

    def execute(self, cmd, **args):
        self.file.write(json.dumps({"execute": cmd, "arguments": args,
                                    "id": 1}).encode() + b"\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise AssertionError("%s: %s" % (cmd, reply["error"]))


def connect(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def start(tmp, machine, elf, nserial, extra=()):
    """Start QEMU paused; return (process, [Serial...], Qmp)."""
    args = [QEMU, "-M", machine, "-kernel", elf, "-nic", "none",
            "-display", "none", "-monitor", "none", "-S",
            "-qmp", "unix:%s/qmp.sock,server=on,wait=off" % tmp]
    for i in range(nserial):
        args += ["-chardev", "socket,id=s%d,path=%s/s%d.sock,server=on,"
                 "wait=off" % (i, tmp, i), "-serial", "chardev:s%d" % i]
    proc = subprocess.Popen(args + list(extra), stderr=subprocess.DEVNULL)
    serials = [Serial("%s/s%d.sock" % (tmp, i)) for i in range(nserial)]
    qmp = Qmp(tmp + "/qmp.sock")
    qmp.execute("cont")
    return proc, serials, qmp


def wait_pin(qmp, prop, want, timeout=5.0):
    """Poll a gpio property until it reads want; return the seconds it took."""
    t0 = time.monotonic()
    while qmp.execute("qom-get", path="/machine/soc/gpio",
                      property=prop) != want:
        if time.monotonic() - t0 > timeout:
            raise AssertionError("%s never became %s" % (prop, want))
    return time.monotonic() - t0


def test_ast2500(fwdir):
    with tempfile.TemporaryDirectory() as tmp:
        proc, (ser,), qmp = start(tmp, "ast2500-evb",
                                  fwdir + "/ast2500-test.elf", 1,
                                  ["-no-reboot"])
        try:
            t0 = time.monotonic()
            assert ser.expect(b"\r\n") == b"emufs-test-firmware ready\r\n"
            print("ast2500: banner after %.3f s" % (time.monotonic() - t0))

            ser.send(b"hello\n")
            assert ser.expect(b"? hello\r\n") == b"hello\n? hello\r\n"
            ser.send(b"ping\r")
            assert ser.expect(b"pong\r\n") == b"ping\rpong\r\n"
            print("ast2500: echo, ping, unknown line ok")

            n = 1 << 20
            t0 = time.monotonic()
            ser.send(b"burst %d\n" % n)
            got = ser.expect(check_burst.TRAILER, timeout=120)
            dt = time.monotonic() - t0
            problem = check_burst.check(got, n)
            assert problem is None, problem
            print("ast2500: burst %d ok in %.2f s (%.0f KiB/s)"
                  % (n, dt, n / dt / 1024))

            assert qmp.execute("qom-get", path="/machine/soc/gpio",
                               property="gpioA1") is False
            for level in (True, False):
                qmp.execute("qom-set", path="/machine/soc/gpio",
                            property="gpioA0", value=level)
                dt = wait_pin(qmp, "gpioA1", level)
                ser.expect(b"LED %d\r\n" % level, timeout=5)
                print("ast2500: A0=%d -> A1 after %.2f ms, LED %d on uart"
                      % (level, dt * 1000, level))

            # The mirror keeps working while a burst is being sent; the
            # "LED" line waits until the burst is done.
            ser.send(b"burst %d\n" % n)
            head = ser.expect(b"00000100 ")
            qmp.execute("qom-set", path="/machine/soc/gpio",
                        property="gpioA0", value=True)
            dt = wait_pin(qmp, "gpioA1", True)
            got = ser.expect(check_burst.TRAILER, timeout=120)
            problem = check_burst.check(head + got, n)
            assert problem is None, problem
            assert ser.expect(b"LED 1\r\n", timeout=5) == b"LED 1\r\n"
            print("ast2500: mirror during burst after %.2f ms, burst intact"
                  % (dt * 1000))

            ser.send(b"reset\n")
            ser.expect(b"RESET\r\n")
            rc = proc.wait(timeout=10)
            assert rc == 0, "exit status %d after reset" % rc
            print("ast2500: reset with -no-reboot: QEMU exited 0")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_lm3s(fwdir):
    with tempfile.TemporaryDirectory() as tmp:
        proc, (con, shim), qmp = start(tmp, "lm3s6965evb",
                                       fwdir + "/lm3s-shim.elf", 2)
        try:
            assert con.expect(b"\r\n") == b"emufs-shim-firmware ready\r\n"
            assert shim.expect(b"GPIO 7 0\n") == \
                b"GPIO 4 0\nGPIO 5 0\nGPIO 6 0\nGPIO 7 0\n"
            print("lm3s: banner and initial GPIO 4-7 = 0")

            con.send(b"ping\n")
            assert con.expect(b"pong\r\n") == b"ping\npong\r\n"
            t0 = time.monotonic()
            shim.send(b"SET 2 1\n")
            assert shim.expect(b"\n") == b"GPIO 6 1\n"
            dt = time.monotonic() - t0
            assert con.expect(b"\r\n") == b"PIN 6 1\r\n"
            shim.send(b"SET 2 1\nSET 5 1\nSET 2 0\n")   # no change, bad, change
            assert shim.expect(b"\n") == b"GPIO 6 0\n"
            assert con.expect(b"PIN 6 0\r\n") == \
                b"? shim SET 5 1\r\nPIN 6 0\r\n"
            print("lm3s: SET -> GPIO round trip %.2f ms" % (dt * 1000))

            con.send(b"garbage\n")
            assert shim.expect(b"XYZ\n") == b"GPIO x y\nXYZ\n"
            con.expect(b"GARBAGE SENT\r\n")
            print("lm3s: garbage lines sent")
        finally:
            proc.kill()
            proc.wait()


def main():
    fwdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                            else os.path.join(HERE, "../../build/firmware"))
    test_ast2500(fwdir)
    test_lm3s(fwdir)
    print("selftest: all passed")


if __name__ == "__main__":
    main()
