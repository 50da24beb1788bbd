"""The exit guard ends a process that something would keep alive, and stays out of the way otherwise."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.tui.terminal import ROOT

HELD = """
import threading, time
from mltutor.tui.shutdown import ExitGuard
guard = ExitGuard(bound_s=1.0)
guard.terminal_restored = True
threading.Thread(target=time.sleep, args=(60,)).start()  # non-daemon: Python would wait for it
print(f"armed {time.monotonic()}", flush=True)
guard.arm(3)
"""

FREE = """
from mltutor.tui.shutdown import ExitGuard
guard = ExitGuard(bound_s=30.0)
guard.arm(3)
print("done", flush=True)
"""


def _run(code: str) -> tuple[subprocess.CompletedProcess[str], float]:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return proc, time.monotonic()


def test_a_process_held_by_a_thread_ends_at_the_deadline_with_the_code() -> None:
    proc, ended = _run(HELD)
    assert proc.returncode == 3, proc.stderr
    armed = float(proc.stdout.split()[1])
    assert ended - armed < 1.5  # the 1 s bound (minus its margin), plus process teardown


def test_a_process_free_to_exit_is_not_held_until_the_deadline() -> None:
    started = time.monotonic()
    proc, ended = _run(FREE)
    assert proc.returncode == 0 and proc.stdout.strip() == "done"
    assert ended - started < 20  # well before the 30 s deadline


STUCK_IN_C = """
import time
from mltutor.tui.shutdown import ExitGuard
guard = ExitGuard(bound_s=1.0)
guard.terminal_restored = True
print(f"armed {time.monotonic()}", flush=True)
guard.arm(3)
x = 7 ** (10 ** 9)  # one C call that holds the GIL for minutes: the Python guard cannot run
"""


def test_a_process_whose_interpreter_is_stuck_in_c_still_ends_before_the_bound() -> None:
    proc, ended = _run(STUCK_IN_C)
    armed = float(proc.stdout.split()[1])
    assert ended - armed < 1.5
    assert proc.returncode == 1  # faulthandler's exit (the code cannot be chosen there)
