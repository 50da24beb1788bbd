"""Run SymPy work under a wall-clock bound.

SymPy is pure Python and can run for minutes (or forever) on hostile input, and a thread cannot be
stopped. In the main thread we arm ``SIGALRM`` (cheap: no process hop, so the checker stays fast); in
any other thread (TUI workers, graph executors) the call goes to a single helper process that is killed
and replaced on timeout. Nested bounded calls run inline under the outer bound.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from mltutor.tools.errors import ToolError, ToolTimeout

T = TypeVar("T")

_state = threading.local()


def _in_bound() -> bool:
    return bool(getattr(_state, "active", False))


def run_bounded(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``; raise :class:`ToolTimeout` if it runs past ``timeout`` seconds.

    ``fn`` and its arguments must be picklable (module-level functions, SymPy objects) because calls
    from non-main threads run in a helper process.
    """
    if _in_bound():
        return fn(*args, **kwargs)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _run_with_alarm(fn, args, kwargs, timeout)
    return _WORKER.call(fn, args, kwargs, timeout)


def _run_with_alarm(
    fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
) -> T:
    def on_alarm(signum: int, frame: object) -> None:
        raise ToolTimeout(f"gave up after {timeout:g} s (the computation is too large or too slow)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    _state.active = True
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*args, **kwargs)
    except RecursionError as exc:
        raise ToolError("expression is nested too deeply to compute") from exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _state.active = False


def _worker_main(conn: Connection) -> None:
    """Helper-process loop: receive (fn, args, kwargs), send ("ok", value) or ("err", exception)."""
    _state.active = True  # already bounded by the parent; nested calls run inline
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        fn, args, kwargs = job
        try:
            conn.send(("ok", fn(*args, **kwargs)))
        except BaseException as exc:  # sent back and re-raised in the parent
            try:
                conn.send(("err", exc))
            except Exception:
                conn.send(("err", ToolError(f"{type(exc).__name__}: {exc}")))


class _Worker:
    """One lazily started helper process; calls are serialised, a timeout kills and replaces it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._warm = False

    def _ensure(self) -> Connection:
        if self._proc is None or not self._proc.is_alive() or self._conn is None:
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_worker_main, args=(child,), daemon=True, name="mltutor-sympy"
            )
            proc.start()
            child.close()
            self._proc, self._conn = proc, parent
        return self._conn

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None
        self._warm = False  # the replacement must get the start-up allowance again

    def call(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
    ) -> T:
        with self._lock:
            conn = self._ensure()
            # the first call pays for starting the process and importing SymPy there
            first = not self._warm
            conn.send((fn, args, kwargs))
            if not conn.poll(timeout + (10.0 if first else 0.0)):
                self._kill()
                raise ToolTimeout(
                    f"gave up after {timeout:g} s (the computation is too large or too slow)"
                )
            try:
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                self._kill()
                raise ToolError("the computation crashed its worker process") from exc
            self._warm = True
            if status == "err":
                raise value
            return value  # type: ignore[no-any-return]

    def shutdown(self) -> None:
        with self._lock:
            self._kill()


_WORKER = _Worker()


def shutdown_worker() -> None:
    """Stop the helper process (called at exit by long-running front ends)."""
    _WORKER.shutdown()
