"""Esc and Ctrl+Q in the installed app on the real embedded model (marked set): the fakes in
test_quit.py play the states; these check the real provider and server honour them.

The app joins the user's shared embedded server (the default cache dir), so the model is not loaded
again; its data dir is the test's own. The question is conceptual, so the model is reading its
prompt ("reading … tokens") when the key is pressed.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from mltutor.tui.shutdown import QUIT_BOUND_S
from tests.tui.terminal import MLTUTOR, ROOT, Terminal, _alive, _descendants, needs_terminal

pytestmark = [pytest.mark.embedded, *needs_terminal]

QUESTION = "Explain in detail why the bias-variance tradeoff matters for model selection."


def _start(terminal: Terminal, tmp_path: Path) -> Path:
    exit_file = tmp_path / "exit-code"
    env = {
        "MLTUTOR_DATA_DIR": str(tmp_path / "data"),
        "MLTUTOR_CONFIG": str(tmp_path / "none.toml"),
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PATH": os.environ.get("PATH", ""),
    }
    inner = " ".join(
        ["env", "-i", *(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.quote(str(MLTUTOR))]
    )
    terminal.start(f"sh -c {shlex.quote(f'{inner}; echo $? > {exit_file}; sleep 60')}", (100, 30))
    terminal.wait_for(lambda s: "ready" in s and "^q Quit" in s, "the app", timeout=600)
    return exit_file


def _model_server(pid: int) -> bool:
    try:
        return "mltutor.agent.embedded" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def test_esc_while_the_real_model_reads_the_prompt_stops_at_once(
    terminal: Terminal, tmp_path: Path
) -> None:
    _start(terminal, tmp_path)
    terminal.keys(QUESTION, "Enter")
    terminal.wait_for(lambda s: "reading" in s, "the model reading its prompt", timeout=300)
    started = time.monotonic()
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "■ stopped" in s, "the stop", timeout=10)
    assert time.monotonic() - started < 2.0
    screen = terminal.wait_for(lambda s: "F5 Retry" in s, "the retry key")
    assert "Traceback" not in screen


def test_quit_while_the_real_model_reads_the_prompt_exits_within_the_bound(
    terminal: Terminal, tmp_path: Path
) -> None:
    exit_file = _start(terminal, tmp_path)
    shell = terminal.pane_pid()
    terminal.keys(QUESTION, "Enter")
    terminal.wait_for(lambda s: "reading" in s, "the model reading its prompt", timeout=300)
    app = [p for p in _descendants(shell) if p != shell and not _model_server(p)]
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
    deadline = time.monotonic() + 5
    left = [p for p in app if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    assert not left, f"processes left behind (the shared model server may stay): {left}"
