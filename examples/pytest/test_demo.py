"""test_demo.py: the demo board tested in pytest, with nothing but files.
Every wait goes through follow/ with a deadline (conftest.wait_for_text)."""
import pathlib
import re
import shutil
import subprocess

from conftest import wait_for_text

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs/serial.md"


def test_the_button_lights_the_led(board):
    (board / "gpio/button").write_text("1\n")
    wait_for_text(board / "follow/gpio/led", "\n1\n", 2)
    wait_for_text(board / "follow/serial0", "LED on", 5)
    (board / "gpio/button").write_text("0\n")
    wait_for_text(board / "follow/gpio/led", "\n0\n", 2)


def test_the_shell_echoes_a_line_and_prompts_again(board):
    (board / "serial0").write_text("echo hello from pytest\n")
    wait_for_text(board / "follow/serial0",
                  "\nhello from pytest\r\ndemo> ", 5)


def test_stop_stops_the_board(board):
    (board / "ctl").write_text("stop\n")
    wait_for_text(board / "follow/state", "\nstopped\n", 5)


# docs/serial.md shows the two ways to wait for a prompt; both are tested
# here, as the docs write them.
def docs_block(lang, containing):
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOCS.read_text(), re.S)
    return next(b for b in blocks if containing in b)


def test_the_docs_python_idiom_is_the_one_tested_here():
    conftest = (pathlib.Path(__file__).parent / "conftest.py").read_text()
    assert docs_block("python", "def wait_for_text") in conftest


def test_the_docs_expect_idiom_waits_for_the_prompt(board):
    assert shutil.which("expect"), "expect is missing (make deps installs it)"
    line = docs_block("sh", "spawn").strip()
    done = subprocess.run(line, shell=True, cwd=board, timeout=60)
    assert done.returncode == 0
