"""Running ``python -m llama_cpp.server`` as a supervised child process.

The embedded model is served over the same OpenAI-compatible HTTP API as any other endpoint, so the
provider layer needs no second code path. The server runs in a child process (not in-process) so a
crash inside llama.cpp cannot take the tutor down, and so it can be restarted. The child must never
outlive us: it gets its own session (Ctrl-C in the terminal reaches only us, and we stop it in order),
an ``atexit`` stop, and on Linux ``PR_SET_PDEATHSIG`` so even a SIGKILL of the tutor kills it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from mltutor.agent.embedded.model import Progress, assemble_model
from mltutor.agent.errors import ProviderError

log = logging.getLogger(__name__)

MODEL_ALIAS = "qwen2.5-coder-1.5b"
"""The model name the embedded server answers to (``model=`` in requests), whatever the file name."""

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1

# llama_cpp.server reads its settings with pydantic-settings *without an env prefix* (and reads
# HOST, PORT and CONFIG_FILE with os.getenv, over the command line): an inherited API_KEY would
# require auth, PORT would move the server, CONFIG_FILE would replace our model. Field names of
# llama-cpp-python 0.3.x Settings; tests/agent/test_embedded_real.py checks the list still covers them.
LLAMA_SERVER_ENV_KEYS = frozenset(
    {
        "api_key",
        "cache",
        "cache_size",
        "cache_type",
        "chat_format",
        "chat_template_kwargs",
        "clip_model_path",
        "config_file",
        "disable_ping_events",
        "draft_model",
        "draft_model_num_pred_tokens",
        "embedding",
        "flash_attn",
        "hf_model_repo_id",
        "hf_pretrained_model_name_or_path",
        "hf_tokenizer_config_path",
        "host",
        "interrupt_requests",
        "kv_overrides",
        "last_n_tokens_size",
        "logits_all",
        "lora_base",
        "lora_path",
        "main_gpu",
        "model",
        "model_alias",
        "models",
        "mul_mat_q",
        "n_batch",
        "n_ctx",
        "n_gpu_layers",
        "n_threads",
        "n_threads_batch",
        "n_ubatch",
        "numa",
        "offload_kqv",
        "port",
        "root_path",
        "rope_freq_base",
        "rope_freq_scale",
        "rope_scaling_type",
        "rpc_servers",
        "seed",
        "split_mode",
        "ssl_certfile",
        "ssl_keyfile",
        "tensor_split",
        "type_k",
        "type_v",
        "use_mlock",
        "use_mmap",
        "verbose",
        "vocab_only",
        "yarn_attn_factor",
        "yarn_beta_fast",
        "yarn_beta_slow",
        "yarn_ext_factor",
        "yarn_orig_ctx",
    }
)

CommandBuilder = Callable[[Path, int], Sequence[str]]
"""``command(model_path, port)``: the argv of the server (injectable so tests use a fake server)."""

T = TypeVar("T")


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers restrict), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def llama_server_command(
    model: Path,
    port: int,
    *,
    alias: str = MODEL_ALIAS,
    n_ctx: int = 4096,
    n_threads: int | None = None,
) -> list[str]:
    """The argv of llama-cpp-python's server for our model.

    ``chatml-function-calling`` is the only chat format with which native tool calls worked (8/8);
    ``interrupt_requests False`` keeps a second request from cancelling a running stream (the
    server's default aborts it); ``verbose False`` keeps per-request timings out of the log.
    """
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        alias,
        "--host",
        HOST,
        "--port",
        str(port),
        "--chat_format",
        "chatml-function-calling",
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(n_threads or usable_cpus()),
        "--interrupt_requests",
        "False",
        "--use_mlock",
        "False",
        "--verbose",
        "False",
    ]


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.lower() not in LLAMA_SERVER_ENV_KEYS}


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent dies (None elsewhere).

    SIGKILL rather than SIGTERM: with no parent there is nobody to answer, and uvicorn's graceful
    SIGTERM waits for a running generation to finish. libc is loaded here, before the fork, so the
    child runs as little Python as possible between fork and exec.
    """
    if not sys.platform.startswith("linux"):
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


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the child's whole process group (it leads its own session), or the child alone."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, sig)
        elif sig == getattr(signal, "SIGKILL", None):
            proc.kill()
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 8192, 0))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


class _SpawnThread:
    """Forks the server from one long-lived thread.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, not the process: a
    server started from a short-lived worker (a Textual ``@work`` thread, ``asyncio.to_thread``)
    would be killed the moment that worker returned.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def call(self, fn: Callable[[], T]) -> T:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="embedded-spawn", daemon=True)
            self._thread.start()
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result()

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, future = item
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
        self._thread = None


class _StartupFailed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class EmbeddedServer:
    """One supervised llama.cpp server: ``start`` it, ``ensure_running`` before requests, ``stop``.

    Thread-safe. The first ``start`` assembles the model (see ``assemble_model``) if needed. As a
    context manager it stops the server on exit; it does not start it (``start`` takes ``progress``).
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        assemble: Callable[[Path, Progress | None], Path] = assemble_model,
        command: CommandBuilder = llama_server_command,
        alias: str = MODEL_ALIAS,
        log_dir: Path | None = None,
        startup_timeout_s: float = 120.0,
        stop_grace_s: float = 5.0,
        max_restarts: int = 3,
        restart_window_s: float = 300.0,
    ) -> None:
        self._cache_dir = cache_dir
        self._assemble = assemble
        self._command = command
        self._alias = alias
        self._log_path = (log_dir or cache_dir / "logs") / "embedded-server.log"
        self._startup_timeout_s = startup_timeout_s
        self._stop_grace_s = stop_grace_s
        self._max_restarts = max_restarts
        self._restart_window_s = restart_window_s
        self._lock = threading.RLock()
        self._spawner = _SpawnThread()
        self._proc: subprocess.Popen[bytes] | None = None
        self._model: Path | None = None
        self._port: int | None = None
        self._restarts: list[float] = []
        self._closed = False
        self._atexit_registered = False

    # -- public API -------------------------------------------------------------------------------
    @property
    def alias(self) -> str:
        """The model name to send in requests."""
        return self._alias

    @property
    def log_path(self) -> Path:
        """Where the server's stdout and stderr go (the previous run's log is kept as ``.1``)."""
        return self._log_path

    @property
    def pid(self) -> int | None:
        """The server's process id while one was started and not stopped."""
        return self._proc.pid if self._proc is not None else None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``; valid after ``start``."""
        if self._port is None:
            raise ProviderError("The embedded model server has not been started.", kind="embedded")
        return f"http://{HOST}:{self._port}/v1"

    def is_running(self) -> bool:
        """Whether the child process is alive (says nothing about it being idle or busy)."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def start(self, progress: Progress | None = None) -> str:
        """Assemble the model if needed, start the server, wait until it answers; return base_url."""
        with self._lock:
            if self._closed:
                raise ProviderError("The embedded model is shutting down.", kind="embedded")
            if self.is_running():
                return self.base_url
            if self._command is llama_server_command:
                _check_runtime()
            self._model = self._assemble(self._cache_dir, progress)
            self._launch(progress)
            return self.base_url

    def ensure_running(self, progress: Progress | None = None) -> str:
        """Return base_url, restarting the server if it died (call before requests or on a
        connection error). Gives up with ``ProviderError`` after ``max_restarts`` crashes within
        ``restart_window_s`` rather than crash-looping."""
        with self._lock:
            if self._closed or self._proc is None or self._model is None:
                return self.start(progress)  # start() refuses once shutdown has begun
            code = self._proc.poll()
            if code is None:
                return self.base_url
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < self._restart_window_s]
            if len(self._restarts) >= self._max_restarts:
                raise ProviderError(
                    f"The embedded model server keeps crashing ({len(self._restarts) + 1} times "
                    f"in {self._restart_window_s:.0f} s, last exit code {code}). Last lines of "
                    f"{self._log_path}:\n{_log_tail(self._log_path)}",
                    kind="embedded",
                )
            self._restarts.append(now)
            log.warning("embedded model server exited with code %s; restarting", code)
            self._proc = None
            self._launch(progress)
            return self.base_url

    def restart(self, progress: Progress | None = None) -> str:
        """Stop and start again (for a server that is alive but stuck)."""
        with self._lock:
            self.stop()
            return self.start(progress)

    def stop(self) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after the grace period."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                self._terminate(proc)
            self._spawner.close()
            if self._atexit_registered:
                atexit.unregister(self._at_exit)
                self._atexit_registered = False

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
        self._closed = True  # a provider thread must not restart the server during shutdown
        self.stop()

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(self._stop_grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
                proc.wait(10)
        _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))  # helpers left in the group

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        assert self._model is not None
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log_path.exists():
            os.replace(self._log_path, self._log_path.with_name(self._log_path.name + ".1"))
        argv = list(self._command(self._model, port))
        with self._log_path.open("wb") as log_file:  # a file, not a pipe: a pipe fills and blocks
            return self._spawner.call(
                lambda: subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=_child_env(),
                    start_new_session=True,
                    preexec_fn=_die_with_parent_hook(),
                )
            )

    def _launch(self, progress: Progress | None) -> None:
        """Spawn on the previous port if any (clients keep their base_url), else a free one;
        retry on a fresh port if the port was taken between choosing and binding it."""
        if progress is not None:
            progress("Starting the embedded model", None)
        ports = [self._port] if self._port is not None else []
        ports += [free_port(), free_port()]
        started = time.monotonic()
        for attempt, port in enumerate(ports):
            proc = self._spawn(port)
            self._proc, self._port = proc, port
            if not self._atexit_registered:
                atexit.register(self._at_exit)
                self._atexit_registered = True
            try:
                self._wait_ready(proc, port, started + self._startup_timeout_s)
            except _StartupFailed as failed:
                self._proc = None
                tail = _log_tail(self._log_path)
                if "address already in use" in tail.lower() and attempt + 1 < len(ports):
                    continue
                raise ProviderError(
                    f"The embedded model server exited during start-up (exit code {failed.code})."
                    f" Last lines of {self._log_path}:\n{tail}",
                    kind="embedded",
                ) from None
            except TimeoutError:
                self._proc = None
                self._terminate(proc)
                raise ProviderError(
                    f"The embedded model server did not answer within "
                    f"{self._startup_timeout_s:.0f} s. Last lines of {self._log_path}:\n"
                    f"{_log_tail(self._log_path)}",
                    kind="embedded",
                    retryable=True,
                ) from None
            if progress is not None:
                progress("Embedded model ready", 1.0)
            return

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int, deadline: float) -> None:
        """Poll ``GET /v1/models`` until it lists our alias (another program may hold the port).

        The llama.cpp server only binds after the model is loaded, so an answer means ready.
        """
        url = f"http://{HOST}:{port}/v1/models"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        while True:
            code = proc.poll()
            if code is not None:
                raise _StartupFailed(code)
            with contextlib.suppress(OSError, ValueError):
                with opener.open(url, timeout=2.0) as response:
                    body = json.load(response)
                if any(m.get("id") == self._alias for m in body.get("data", [])):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError
            time.sleep(0.1)


def _check_runtime() -> None:
    """Fail early with the install command if llama-cpp-python[server] is not importable."""
    missing = [
        m
        for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise ProviderError(
            f"The embedded model needs llama-cpp-python with its server extra (missing: "
            f"{', '.join(missing)}). Install it with:\n"
            f"  {sys.executable} -m pip install 'llama-cpp-python[server]'\n"
            "(it compiles llama.cpp, a few minutes), or set MLTUTOR_BASE_URL to use another "
            "OpenAI-compatible endpoint.",
            kind="embedded",
        )
