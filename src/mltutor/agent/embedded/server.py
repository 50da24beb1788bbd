"""The client side of the shared embedded model server: what the provider layer holds.

One model server per user, not per process: :class:`EmbeddedServer` finds the server through the
registry in the cache dir (see :mod:`mltutor.agent.embedded.registry`), starts it (through our
supervisor, :mod:`mltutor.agent.embedded.warden`) when nobody has, and registers this process as a
user; ``stop()`` releases this process's use, and the supervisor stops the server once no user
process has been alive for ``idle_timeout_s``. A second ``mltutor ask`` while one runs queues on the
same server instead of loading the model again.

No orphans, on any exit path: the server is the supervisor's child with ``PR_SET_PDEATHSIG`` (and
exits when re-parented), the supervisor watches the registered pids (a user killed with SIGKILL
simply stops counting) and its idle timer, and exits when its state file is removed or taken over.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from mltutor.agent.embedded.command import (
    MODEL_ALIAS,
    RUNTIME_REQUIREMENT,
    CommandBuilder,
    ServerOptions,
    native_server_command,
)
from mltutor.agent.embedded.model import Progress, assemble_model
from mltutor.agent.embedded.process import kill_if_same, log_tail, spawn
from mltutor.agent.embedded.registry import Registry, ServerState
from mltutor.agent.embedded.warden import WardenConfig
from mltutor.agent.errors import ProviderError
from mltutor.settings import EmbeddedSettings

log = logging.getLogger(__name__)

WARDEN_MODULE = "mltutor.agent.embedded.warden"


def _check_runtime() -> None:
    """Fail early with the install command if xllamacpp is not importable."""
    if importlib.util.find_spec("xllamacpp") is None:
        raise ProviderError(
            "The embedded model needs xllamacpp (llama.cpp's server, a prebuilt wheel). Install "
            f"it with:\n  {sys.executable} -m pip install '{RUNTIME_REQUIREMENT}'\n"
            "or set MLTUTOR_BASE_URL to use another OpenAI-compatible endpoint.",
            kind="embedded",
        )


HEALTH_TIMEOUT_S = 10.0
"""How long a running server may take to answer ``/health`` before it counts as hung. llama.cpp
answers it from its HTTP threads, never queued behind generations (measured: 1-40 ms with six
requests waiting on the one slot)."""


def _healthy(state: ServerState) -> bool:
    """Whether the server answers ``GET /health`` with 200 (checked when a process joins it)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    url = state.base_url.removesuffix("/v1") + "/health"
    try:
        with opener.open(url, timeout=HEALTH_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


class _WardenGone(Exception):
    """The supervisor being waited for stopped instead of becoming ready."""


class EmbeddedServer:
    """This process's handle on the shared server: ``start``, ``ensure_running`` before requests,
    ``stop`` to release it. Thread-safe; as a context manager it calls ``stop`` on exit."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        settings: EmbeddedSettings | None = None,
        assemble: Callable[[Path, Progress | None], Path] = assemble_model,
        command: CommandBuilder = native_server_command,
        alias: str | None = None,
        state_dir: Path | None = None,
        max_restarts: int = 3,
        restart_window_s: float = 300.0,
        stop_grace_s: float = 5.0,
    ) -> None:
        s = settings or EmbeddedSettings()
        self._cache_dir = cache_dir
        self._settings = s
        self._assemble = assemble
        self._command = command
        self._options = ServerOptions(
            threads=s.threads,
            slots=s.slots,
            context_tokens=s.context_tokens,
            prompt_cache_mib=s.prompt_cache_mib,
            batch_tokens=s.batch_tokens,
            alias=alias or MODEL_ALIAS,
        )
        self._registry = Registry(state_dir or s.state_dir or cache_dir / "embedded")
        self._max_restarts = max_restarts
        self._restart_window_s = restart_window_s
        self._stop_grace_s = stop_grace_s
        self._lock = threading.RLock()
        self._handle: Path | None = None
        self._model: Path | None = None
        self._state: ServerState | None = None
        self._closed = False
        self._atexit_registered = False

    # -- public API -------------------------------------------------------------------------------

    @property
    def alias(self) -> str:
        """The model name to send in requests."""
        return self._options.alias

    @property
    def log_path(self) -> Path:
        """Where the supervisor's and the server's output go (the previous run's is ``.1``)."""
        return self._registry.log_path

    @property
    def registry(self) -> Registry:
        """The shared registry (state file, lock, users)."""
        return self._registry

    @property
    def pid(self) -> int | None:
        """The server's process id, as last seen (None before ``start`` and after ``stop``)."""
        return self._state.server_pid if self._state is not None and self._handle else None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``; valid after ``start``."""
        if self._state is None or self._state.port is None:
            raise ProviderError("The embedded model server has not been started.", kind="embedded")
        return self._state.base_url

    def is_running(self) -> bool:
        """Whether the shared server process is alive (it may be busy with another request)."""
        state = self._registry.read_state()
        return state is not None and state.server_alive()

    def start(self, progress: Progress | None = None) -> str:
        """Assemble the model if needed, join (or start) the shared server, wait until it answers;
        return its base URL. Registers this process as a user until ``stop``."""
        with self._lock:
            if self._closed:
                raise ProviderError("The embedded model is shutting down.", kind="embedded")
            if self._command is native_server_command:
                _check_runtime()
            if self._model is None:
                self._model = self._assemble(self._cache_dir, progress)
            return self._attach(progress)

    def ensure_running(self, progress: Progress | None = None) -> str:
        """Return the base URL, waiting for a restart or starting a new server if needed (call
        before every request; a crashed server is restarted by the supervisor on the same port)."""
        with self._lock:
            if self._closed:
                raise ProviderError("The embedded model is shutting down.", kind="embedded")
            state = self._registry.read_state()
            if (
                self._handle is not None
                and self._handle.exists()
                and state is not None
                and state.status == "ready"
                and state.server_alive()
                and state.warden_alive()
            ):
                self._state = state
                return state.base_url
            return self.start(progress)

    def stop(self) -> None:
        """Release this process's use of the server (the supervisor stops it once no user is
        left and the idle timeout has passed). Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                self._registry.unregister(handle)
            if self._atexit_registered:
                atexit.unregister(self._at_exit)
                self._atexit_registered = False

    def shutdown_shared(self) -> None:
        """Stop the shared server now, whoever uses it (for tests and benchmarks)."""
        with self._lock:
            self.stop()
            state = self._registry.read_state()
            if state is not None and state.warden_alive():
                import signal

                os.kill(state.warden_pid, signal.SIGTERM)
                deadline = time.monotonic() + self._stop_grace_s + 5
                while state.warden_alive() and time.monotonic() < deadline:
                    time.sleep(0.05)

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------

    def _at_exit(self) -> None:
        self._closed = True  # a provider thread must not start a server during shutdown
        self.stop()

    def _attach(self, progress: Progress | None) -> str:
        timeout = self._settings.startup_timeout_s
        reg = self._registry
        reg.ensure()
        with reg.lock(timeout_s=timeout + 30):
            if self._handle is None or not self._handle.exists():
                self._handle = reg.register()
                if not self._atexit_registered:
                    atexit.register(self._at_exit)
                    self._atexit_registered = True
            state = reg.read_state()
            if state is not None and state.warden_alive():
                if state.status == "ready" and state.server_alive():
                    if _healthy(state):
                        self._state = state
                        return state.base_url
                    # alive but not answering: hung; the supervisor restarts a killed server
                    log.warning("embedded server %s does not answer; restarting it", state.port)
                    if state.server_pid is not None:
                        kill_if_same(state.server_pid, state.server_started)
                        deadline = time.monotonic() + 5
                        while state.server_alive() and time.monotonic() < deadline:
                            time.sleep(0.02)
                if state.status in ("starting", "ready"):  # a restart after a crash
                    if progress is not None:
                        progress("Waiting for the embedded model to restart", None)
                    try:
                        return self._wait_ready(state.warden_pid, timeout, progress)
                    except _WardenGone:
                        state = reg.read_state()
                if state is not None and state.status == "stopping":
                    self._wait_exit(state)
            if state is not None and state.status == "failed" and self._recently_failed(state):
                raise ProviderError(state.error, kind="embedded")
            if state is not None:
                self._clear_stale(state)
            self._spawn_warden(progress)
            return self._wait_ready(None, timeout, progress)

    def _wait_exit(self, state: ServerState) -> None:
        """Wait for a supervisor that is stopping (a signal) to be gone before replacing it."""
        deadline = time.monotonic() + self._stop_grace_s + 10
        while state.warden_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _recently_failed(self, state: ServerState) -> bool:
        """A failure within the restart window is reported, not retried (no crash loop across
        processes); an older one is history and a new start is tried."""
        return time.time() - state.updated < self._restart_window_s

    def _clear_stale(self, state: ServerState) -> None:
        """A state file left by a supervisor that is gone (killed, crashed, rebooted)."""
        if state.server_pid is not None and kill_if_same(state.server_pid, state.server_started):
            log.warning("killed server %s left by a dead supervisor", state.server_pid)
        if state.status != "failed":
            log.info("removing a stale embedded-server state (supervisor %s)", state.warden_pid)
        self._registry.clear_state()

    def _spawn_warden(self, progress: Progress | None) -> None:
        assert self._model is not None
        if progress is not None:
            progress("Starting the embedded model", None)
        reg = self._registry
        if reg.log_path.exists():
            os.replace(reg.log_path, reg.log_path.with_name(reg.log_path.name + ".1"))
        config = WardenConfig(
            state_dir=reg.root,
            argv=list(self._command(self._model, self._options)),
            alias=self.alias,
            model=str(self._model),
            idle_timeout_s=self._settings.idle_timeout_s,
            startup_timeout_s=self._settings.startup_timeout_s,
            max_restarts=self._max_restarts,
            restart_window_s=self._restart_window_s,
            stop_grace_s=self._stop_grace_s,
        )
        argv = [sys.executable, "-m", WARDEN_MODULE, "--config", config.model_dump_json()]
        # detached: it must outlive this process while other users remain (see warden.py)
        self._warden = spawn(argv, reg.log_path, die_with_parent=False)

    def _wait_ready(self, warden: int | None, timeout_s: float, progress: Progress | None) -> str:
        """Poll the state file until the supervisor reports ``ready`` (or fails or dies)."""
        deadline = time.monotonic() + timeout_s + 10  # the supervisor applies timeout_s itself
        spawned: subprocess.Popen[bytes] | None = getattr(self, "_warden", None)
        while True:
            state = self._registry.read_state()
            if state is not None and (warden is None or state.warden_pid == warden):
                if state.status == "ready" and state.server_alive():
                    self._state = state
                    if progress is not None:
                        progress("Embedded model ready", 1.0)
                    return state.base_url
                if state.status == "failed":
                    raise ProviderError(state.error, kind="embedded")
                if state.status == "stopping" and warden is not None:
                    raise _WardenGone
                if not state.warden_alive():
                    break
            elif warden is not None:
                raise _WardenGone  # it stopped (a signal) rather than restarting the server
            elif spawned is not None and spawned.poll() is not None:
                break
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"The embedded model server did not become ready within {timeout_s:.0f} s. "
                    f"Last lines of {self.log_path}:\n{log_tail(self.log_path)}",
                    kind="embedded",
                    retryable=True,
                )
            time.sleep(0.05)
        raise ProviderError(
            f"The embedded model's supervisor exited before the server was ready. Last lines of "
            f"{self.log_path}:\n{log_tail(self.log_path)}",
            kind="embedded",
        )
