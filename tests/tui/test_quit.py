"""Quitting mid-answer: the process is gone within 2 s in every state, and says nothing odd.

The installed app runs in tmux with a service that misbehaves as the real one can (tests/tui/stuck.py):
a model request stuck in prefill or a tool call that never returns, both in a non-daemon executor
thread Python would join at exit, or a stream that never ends and ignores cancel; its close() takes
5 s. Ctrl+Q, then "y" in the confirmation: the time to the process's exit is measured from the key.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from mltutor.tui.shutdown import QUIT_BOUND_S
from tests.tui.stuck import log_lines
from tests.tui.terminal import MLTUTOR, ROOT, Terminal, _alive, _descendants, needs_terminal

pytestmark = needs_terminal

SEEN = {
    "prefill": "reading 3,000 tokens of notes",
    "tool": "running hessian",
    "stream": "and so on and so on",
}
"""What the screen shows once the answer is stuck in each state."""


def _start(terminal: Terminal, tmp_path: Path, mode: str) -> tuple[Path, Path]:
    log, exit_file = tmp_path / "service.log", tmp_path / "exit-code"
    env = {
        "MLTUTOR_DATA_DIR": str(tmp_path / "data"),
        "MLTUTOR_CACHE_DIR": str(tmp_path / "cache"),
        "MLTUTOR_CONFIG": str(tmp_path / "none.toml"),
        "MLTUTOR_TUI_SERVICE_FACTORY": "tests.tui.stuck:create_stuck_service",
        "MLTUTOR_FAKE_STUCK": mode,
        "MLTUTOR_FAKE_LOG": str(log),
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PATH": os.environ.get("PATH", ""),
    }
    inner = " ".join(
        ["env", "-i", *(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.quote(str(MLTUTOR))]
    )
    # the pane's shell outlives the app, so what the app printed on its way out stays readable
    terminal.start(f"sh -c {shlex.quote(f'{inner}; echo $? > {exit_file}; sleep 60')}", (80, 24))
    return log, exit_file


@pytest.mark.parametrize("mode", sorted(SEEN))
def test_quit_mid_answer_ends_the_process_within_the_bound(
    terminal: Terminal, tmp_path: Path, mode: str
) -> None:
    log, exit_file = _start(terminal, tmp_path, mode)
    shell = terminal.pane_pid()
    terminal.wait_for(lambda s: "ready" in s and "^q Quit" in s, "the app")
    terminal.keys("why?", "Enter")
    terminal.wait_for(lambda s: SEEN[mode] in s, f"the answer stuck in {mode}")
    app_processes = _descendants(shell)
    terminal.keys("C-q")
    terminal.wait_for(lambda s: "Stop it and quit?" in s, "the confirmation")
    started = time.monotonic()
    terminal.keys("y")
    while not exit_file.exists() and time.monotonic() - started < 30:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert exit_file.exists(), f"mltutor did not exit; the screen was:\n{terminal.screen()}"
    assert elapsed < QUIT_BOUND_S, f"exit took {elapsed:.2f} s"
    assert exit_file.read_text().strip() == "0"
    screen = terminal.screen()
    for bad in ("Traceback", "RuntimeError", "cannot schedule new futures"):
        assert bad not in screen, screen
    calls = log_lines(str(log))
    assert calls.count("start") == 1, calls  # nothing was started while quitting
    assert "close" in calls  # the service was asked to stop its model server
    left = [p for p in app_processes if _alive(p) and p != shell]
    deadline = time.monotonic() + 5
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    assert not left, f"processes left behind: {left}"


def test_esc_stops_an_answer_stuck_in_prefill_at_once(terminal: Terminal, tmp_path: Path) -> None:
    _log, _exit_file = _start(terminal, tmp_path, "prefill")
    terminal.wait_for(lambda s: "ready" in s and "^q Quit" in s, "the app")
    terminal.keys("why?", "Enter")
    terminal.wait_for(lambda s: SEEN["prefill"] in s, "the answer stuck in prefill")
    started = time.monotonic()
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "■ stopped" in s, "the stop", timeout=5)
    assert time.monotonic() - started < 1.0
    screen = terminal.wait_for(lambda s: "F5 Retry" in s, "the retry key")
    assert "esc Stop" not in screen
