"""A real terminal for end-to-end tests: one tmux server per test, and process-tree helpers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
MLTUTOR = Path(sys.executable).parent / "mltutor"

needs_terminal = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not on PATH (.ci/run installs it)"),
    pytest.mark.skipif(not MLTUTOR.exists(), reason=f"no installed console script at {MLTUTOR}"),
]
"""Marks for tests that drive the installed app in tmux."""


class Terminal:
    """One tmux server (own socket) running one command in a fixed-size pane."""

    def __init__(self, tmp: Path) -> None:
        self.socket = f"mltutor-e2e-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        out = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout

    def start(self, command: str, size: tuple[int, int] = (110, 36)) -> None:
        width, height = size
        self.tmux("new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "e2e")

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.screen()
            except subprocess.CalledProcessError:
                text = ""
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "e2e", *keys)

    def paste(self, text: str) -> None:
        self.tmux("set-buffer", "--", text)
        self.tmux("paste-buffer", "-p", "-t", "e2e")  # bracketed, as a terminal pastes

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").strip())

    def kill(self) -> None:
        assert TMUX is not None
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
