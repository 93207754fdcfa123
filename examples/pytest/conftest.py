"""conftest.py: pytest fixtures for the demo board, using nothing but files.

`mount` mounts emufs on examples/demo.json (without autostart) for the
session and checks that emufs exits 0 when unmounted; `board` starts
board0 for one test, waits for its shell's prompt through follow/serial0
and stops it afterwards. EMUFS and DEMO_FIRMWARE say where the build is;
by default this repository's build/ (`make`, `make demo-firmware`).
Run: make examples-test, or pytest-3 examples/pytest.
"""
import json
import math
import os
import pathlib
import select
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
EMUFS = os.environ.get("EMUFS", str(REPO / "build/emufs"))
DEMO_FIRMWARE = os.environ.get("DEMO_FIRMWARE",
                               str(REPO / "build/examples/demo.elf"))


def wait_for_text(path, text, timeout):
    """Read the follow/ file `path` until `text` appears; return what was
    read. Unlike grep it matches inside a line, so it can wait for a
    prompt (`demo> `, `login: `) that no newline follows. A `text` that
    starts with a newline also matches at the first byte: "\\n1\\n" waits
    for a line "1"."""
    want, seen = text.encode(), b"\n"
    deadline = time.monotonic() + timeout
    fd = os.open(path, os.O_RDONLY)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while want not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(math.ceil(left * 1000)):
                raise TimeoutError(f"no {text!r} in {path} after {timeout} s;"
                                   f" it read {seen[-200:]!r}")
            data = os.read(fd, 65536)   # poll said: it will not block
            if not data:
                raise EOFError(f"{path} ended before {text!r}")
            seen += data
        return seen[1:].decode(errors="replace")
    finally:
        os.close(fd)


@pytest.fixture(scope="session")
def mount(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("emufs")
    cfg = json.loads((REPO / "examples/demo.json").read_text())
    cfg["targets"]["ast-demo"]["qemu"]["kernel"] = DEMO_FIRMWARE
    cfg["instances"]["board0"]["autostart"] = False
    (scratch / "demo.json").write_text(json.dumps(cfg))
    mnt = scratch / "mnt"
    mnt.mkdir()
    with open(scratch / "emufs.out", "w") as out:
        emufs = subprocess.Popen([EMUFS, "-f", "-c", scratch / "demo.json",
                                  "--state-dir", scratch / "state", mnt],
                                 stdout=out, stderr=subprocess.STDOUT)
    # The one wait follow/ cannot do: for the mount itself.
    deadline = time.monotonic() + 10
    while not os.path.ismount(mnt):
        if emufs.poll() is not None or time.monotonic() > deadline:
            emufs.kill()
            pytest.fail("emufs did not mount: "
                        + (scratch / "emufs.out").read_text())
        time.sleep(0.05)
    yield mnt
    subprocess.run(["fusermount3", "-u", mnt], check=True)
    assert emufs.wait(timeout=15) == 0, (scratch / "emufs.out").read_text()


@pytest.fixture
def board(mount):
    b = mount / "board0"
    (b / "ctl").write_text("start\n")
    wait_for_text(b / "follow/serial0", "demo> ", 30)
    yield b
    if (b / "state").read_text() in ("running\n", "paused\n"):
        (b / "ctl").write_text("stop\n")
