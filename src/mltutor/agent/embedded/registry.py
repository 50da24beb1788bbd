"""The shared server's registry in the cache dir: a state file, a lock, and one file per user.

Layout of ``<state_dir>`` (default ``<cache_dir>/embedded``)::

    lock            flock'ed by whoever starts the server, and by the supervisor when it stops it
    state.json      the supervisor's pid, the server's pid and port, and its status (atomic writes)
    users/PID-TOKEN one file per mltutor process using the server: {"pid", "started"}
    server.log      the supervisor's and the server's output (the previous run's is kept as .1)

Protocol. A process that needs the server takes the lock, registers itself in ``users/``, and then
either finds a live supervisor in ``state.json`` or starts one and waits (still holding the lock)
until it reports ``ready``; so two processes starting at the same moment end up with one server. The
supervisor writes ``state.json`` without the lock (nobody else writes it while it lives) and takes the
lock only to stop: then no process can register between its last look at ``users/`` and its exit.
A user file whose process is gone (pid dead, or reused: the start time differs) counts as absent and
is deleted by whoever notices.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mltutor.agent.embedded.process import same_process, start_time
from mltutor.agent.errors import ProviderError

Status = Literal["starting", "ready", "failed", "stopping"]


class ServerState(BaseModel):
    """What ``state.json`` says about the shared server."""

    model_config = ConfigDict(use_attribute_docstrings=True, frozen=True)

    status: Status
    """``starting`` (loading, or restarting after a crash), ``ready``, ``failed`` (gave up) or
    ``stopping``."""
    warden_pid: int
    """The supervisor process."""
    warden_started: int | None = None
    """Its start time (clock ticks since boot), to tell it from a later process with the same pid."""
    server_pid: int | None = None
    """The server process, while one runs."""
    server_started: int | None = None
    """Its start time."""
    port: int | None = None
    """Where the server listens on 127.0.0.1."""
    alias: str = ""
    """The model name it serves."""
    model: str = ""
    """Path of the GGUF it serves."""
    error: str = ""
    """Why it failed (with the log tail), for ``failed``."""
    restarts: int = 0
    """Crashes the supervisor restarted the server after."""
    updated: float = 0.0
    """``time.time()`` of the last write."""

    def warden_alive(self) -> bool:
        return same_process(self.warden_pid, self.warden_started)

    def server_alive(self) -> bool:
        return self.server_pid is not None and same_process(self.server_pid, self.server_started)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


class Registry:
    """Paths and operations on one state dir (cheap to create; holds no open files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_path = root / "state.json"
        self.lock_path = root / "lock"
        self.users_dir = root / "users"
        self.log_path = root / "server.log"

    def ensure(self) -> None:
        try:
            self.users_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderError(
                f"Cannot create {self.users_dir} for the embedded model server: {exc}",
                kind="embedded",
            ) from exc

    # -- the lock ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout_s: float) -> Iterator[None]:
        """Hold the registry lock; ``ProviderError`` after ``timeout_s`` of waiting for it."""
        with self._locked(blocking_for=timeout_s) as held:
            if not held:
                raise ProviderError(
                    f"Another mltutor process has been starting the embedded model for over "
                    f"{timeout_s:.0f} s (lock {self.lock_path}); see {self.log_path}.",
                    kind="embedded",
                    retryable=True,
                )
            yield

    @contextlib.contextmanager
    def try_lock(self) -> Iterator[bool]:
        """Hold the lock if it is free right now; yields whether it is held."""
        with self._locked(blocking_for=0.0) as held:
            yield held

    @contextlib.contextmanager
    def _locked(self, blocking_for: float) -> Iterator[bool]:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; sharing is best effort there
            yield True
            return
        self.ensure()
        with self.lock_path.open("a+b") as f:
            deadline = time.monotonic() + blocking_for
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    # -- the state file --------------------------------------------------------------------------

    def read_state(self) -> ServerState | None:
        """The state, or None when there is none or it is unreadable (treated as stale)."""
        try:
            return ServerState.model_validate_json(self.state_path.read_bytes())
        except (OSError, ValueError, ValidationError):
            return None

    def write_state(self, state: ServerState) -> None:
        self.ensure()
        data = state.model_copy(update={"updated": time.time()}).model_dump()
        _write_json_atomic(self.state_path, data)

    def clear_state(self, warden_pid: int | None = None) -> None:
        """Remove the state file (only if it names ``warden_pid``, when given)."""
        if warden_pid is not None:
            state = self.read_state()
            if state is not None and state.warden_pid != warden_pid:
                return
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    # -- users -----------------------------------------------------------------------------------

    def register(self, pid: int | None = None) -> Path:
        """Record ``pid`` (default: this process) as a user; returns its file (the handle)."""
        self.ensure()
        pid = pid or os.getpid()
        path = self.users_dir / f"{pid}-{uuid.uuid4().hex[:8]}"
        _write_json_atomic(path, {"pid": pid, "started": start_time(pid)})
        return path

    @staticmethod
    def unregister(handle: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            handle.unlink()

    def live_users(self) -> list[int]:
        """Pids of the registered processes still running; files of dead ones are deleted."""
        pids: list[int] = []
        try:
            entries = list(self.users_dir.iterdir())
        except OSError:
            return pids
        for entry in entries:
            if entry.name.startswith("."):
                continue  # a registration being written
            try:
                data = json.loads(entry.read_text(encoding="utf-8"))
                pid, started = int(data["pid"]), data.get("started")
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError):
                pid, started = -1, None
            if pid > 0 and same_process(pid, started if isinstance(started, int) else None):
                pids.append(pid)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
        return pids
