"""Child processes that must not outlive their parent: spawning, identity, stopping, log tails.

A process is identified by its pid *and* its start time (``/proc/PID/stat`` field 22 on Linux), so a
pid reused by an unrelated program after ours died is never taken for ours (never signalled, never
counted as a live user).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
LINUX = sys.platform.startswith("linux")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), 0 elsewhere, None if it is
    gone or a zombie (dead, not yet reaped)."""
    if not LINUX:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0
        return 0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces and ')'
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22 overall; the list starts at field 3 (state)


def same_process(pid: int, started: int | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``started`` (ticks)."""
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent dies (None elsewhere).

    The signal fires when the *thread* that forked the child exits, so fork from a thread that lives
    as long as the parent process (the supervisor forks from its main thread). libc is loaded here,
    before the fork, so the child runs as little Python as possible between fork and exec.
    """
    if not LINUX:
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    die_with_parent: bool,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session (a Ctrl-C in the terminal does not reach it), stdout and
    stderr appended to ``log_path`` (a file, not a pipe: a pipe nobody reads fills and blocks)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent_hook() if die_with_parent else None,
        )


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group ``pid`` leads (our children lead their own), or just ``pid``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            try:
                os.killpg(pid, sig)
                return
            except ProcessLookupError:
                pass
        os.kill(pid, sig)


def terminate(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; the process is reaped on return."""
    if proc.poll() is None:
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            proc.wait(10)
    signal_group(proc.pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # helpers left in the group


def kill_if_same(pid: int, started: int | None) -> bool:
    """SIGKILL ``pid``'s group if it is still the process that started at ``started``."""
    if started is None or not same_process(pid, started):
        return False
    signal_group(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    return True


def log_tail(path: Path, lines: int = 20, since: int = 0) -> str:
    """The last ``lines`` lines of ``path`` written after byte offset ``since``."""
    try:
        with path.open("rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(max(end - 8192, since, 0))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"
