"""Run SymPy work under a wall-clock bound, in whatever thread calls it.

SymPy is pure Python and can run for minutes (or forever) on hostile input. A watchdog thread waits
for the deadline and then raises :class:`ToolTimeout` *inside* the computing thread
(``PyThreadState_SetAsyncExc``), which interrupts pure-Python code at the next bytecode, like a signal
would, but works in any thread (TUI workers, graph executors) and leaves ``SIGALRM`` to others (e.g.
pytest-timeout). Long single C calls are not interruptible either way; the parser's size limits keep
those short. Nested bounded calls run inline under the outer bound.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from mltutor.tools.errors import ToolError, ToolTimeout

T = TypeVar("T")

_state = threading.local()


class _Deadline(BaseException):
    """Raised asynchronously into the computing thread (BaseException: not caught by ``except
    Exception`` inside SymPy or our own code)."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
    )


def run_bounded(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``; raise :class:`ToolTimeout` if it runs past ``timeout`` seconds."""
    if getattr(_state, "active", False):
        return fn(*args, **kwargs)
    thread_id = threading.get_ident()
    lock = threading.Lock()
    finished = threading.Event()
    fired = False

    def watchdog() -> None:
        nonlocal fired
        if finished.wait(timeout):
            return
        with lock:
            if not finished.is_set():
                fired = True
                _set_async_exc(thread_id, _Deadline)

    _state.active = True
    guard = threading.Thread(target=watchdog, name="mltutor-deadline", daemon=True)
    guard.start()
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            with lock:
                finished.set()
                if fired:  # fired but maybe not delivered yet: cancel it
                    _set_async_exc(thread_id, None)
            _state.active = False
    except _Deadline:
        _state.active = False
        raise ToolTimeout(
            f"gave up after {timeout:g} s (the computation is too large or too slow)"
        ) from None
    except RecursionError as exc:
        raise ToolError("expression is nested too deeply to compute") from exc
