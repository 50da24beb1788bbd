"""Run SymPy work under a time and memory bound that holds, from whatever thread calls it.

SymPy can run for minutes on hostile input, and part of that time is spent inside single C calls
(the exact integer power in ``(3^100)^(10^6)``) that nothing inside the process can interrupt: a
signal handler or an asynchronous exception runs only when the C call returns. So
:func:`run_bounded` sends the call to a **worker process** and kills it when the bound passes:

- the worker is warm and reused. From a process with one thread (the command line) it is forked
  from the caller, so it starts in milliseconds with everything already imported; from a process
  with threads (the app, the agent) it is forked by a fork server that has SymPy and the tools
  preloaded (forking a process with threads is unsafe). A call costs one pickled ``(fn, args)``
  over a pipe and one pickled result back.
- at the deadline the worker gets SIGKILL and the caller gets :class:`ToolTimeout`; the next call
  starts a fresh worker. Ctrl-C in the caller kills the worker too.
- memory: the worker caps its address space (``RLIMIT_AS``) at what it uses plus the budget
  (``ToolLimits.max_memory_mb``), so a huge expansion raises ``MemoryError`` there, reported as
  :class:`LimitExceeded`.
- calls made inside the worker (nested bounded calls) run inline under the outer bound.

:func:`run_watched` is the in-process variant for work whose cost the input limits already bound
(NumPy closed forms): a watchdog thread interrupts pure-Python code at the deadline, but not C.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mltutor.tools.errors import LimitExceeded, ToolError, ToolTimeout

T = TypeVar("T")

START_TIMEOUT_S = 60.0
"""Allowance for starting a worker (the first fork-server start imports SymPy), outside the bound."""

MAX_IDLE_WORKERS = 2
"""Idle workers kept warm; more run only while that many threads compute at once."""

PRELOAD = (
    "__main__",  # once in the server, not once per worker (the entry point must be guarded)
    "mltutor.tools.warmup",  # SymPy, the checker and the tools, imported and exercised once
    "mltutor.tools.gradcheck",
)
"""Modules the fork server imports once, so that the workers it forks start warm."""

_state = threading.local()


def _timeout_error(timeout: float) -> ToolTimeout:
    return ToolTimeout(f"gave up after {timeout:g} s (the computation is too large or too slow)")


# -- the worker process -------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that forked it exits."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _address_space() -> int | None:
    """Bytes of virtual memory this process maps now (Linux), or None where unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _cap_memory(memory_mb: int | None) -> Callable[[], None]:
    """Let the process map at most ``memory_mb`` more MiB; returns the function that undoes it."""
    try:
        import resource
    except ImportError:  # not on this platform
        return lambda: None
    used = _address_space()
    if memory_mb is None or used is None:
        return lambda: None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        return lambda: None
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _execute(job: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], int | None]) -> Any:
    """Run one job in the worker: ("ok", value), ("err", exception) or ("recycle", exception)."""
    fn, args, kwargs, memory_mb = job
    undo = _cap_memory(memory_mb)
    try:
        return ("ok", fn(*args, **kwargs))
    except MemoryError:
        return (
            "recycle",
            LimitExceeded(
                f"the computation needs more memory than its bound ({memory_mb} MB); "
                "simplify the input or use smaller numbers"
            ),
        )
    except RecursionError:
        return ("err", ToolError("the expression is nested too deeply to compute"))
    except BaseException as exc:  # sent back and raised in the caller
        return ("err", exc)
    finally:
        undo()


def _serve(conn: Any, inherited: Any = None) -> None:
    """Worker loop: receive a job, send its outcome, until the pipe closes."""
    if inherited is not None:  # forked: the caller's end of the pipe came along
        inherited.close()
    _state.active = True  # bounded already: nested calls run inline
    gc.freeze()  # what came from the caller stays shared: no collection touches (copies) it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    _die_with_parent()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # the job could not be unpickled here
            job = None
            reply: Any = ("err", ToolError(f"could not start the computation ({exc})"[:300]))
        if job is not None:
            reply = _execute(job)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception:  # the result or the error does not pickle: send its text
            value = reply[1]
            text = f"{type(value).__name__}: {value}"[:300]
            conn.send(("err", ToolError(f"the computation failed ({text})")))


# -- the caller's side ----------------------------------------------------------------------------


class _Worker:
    """One worker process and the caller's end of its pipe."""

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc = proc
        self.conn = conn

    def usable(self) -> bool:
        return bool(self.proc.is_alive()) and not self.conn.closed

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.join(timeout=2)
        with contextlib.suppress(Exception):
            self.conn.close()


def _context() -> Any:
    """Fork the caller when it has one thread (fast, warm); else fork a preloaded fork server."""
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    # our own watchdog thread holds no lock a worker needs (and is replaced after a fork)
    others = [t for t in threading.enumerate() if t is not _WATCHDOG.thread()]
    if "fork" in methods and others == [threading.main_thread()] == [threading.current_thread()]:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))  # takes effect when the server starts
        return ctx
    return mp.get_context("spawn")


@contextlib.contextmanager
def _real_stderr() -> Iterator[None]:
    """multiprocessing hands ``sys.stderr``'s file descriptor to its helper processes; a front end
    that captures stderr (Textual does) leaves an object with no real descriptor, and starting a
    worker fails with "bad value(s) in fds_to_keep". Point stderr at /dev/null while one starts."""
    saved = sys.stderr
    try:
        usable = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        yield
        return
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def _start_worker() -> _Worker:
    ctx = _context()
    mine, theirs = ctx.Pipe(duplex=True)
    forked = ctx.get_start_method() == "fork"
    proc = ctx.Process(
        target=_serve,
        args=(theirs, mine if forked else None),
        name="mltutor-bounded",
        daemon=True,
    )
    with _real_stderr():
        proc.start()
    theirs.close()
    worker = _Worker(proc, mine)
    try:
        ready = mine.poll(START_TIMEOUT_S) and mine.recv()[0] == "ready"
    except (EOFError, OSError):
        ready = False
    except BaseException:
        worker.kill()
        raise
    if not ready:
        worker.kill()
        raise ToolError("could not start the worker process for bounded computations")
    return worker


class _Pool:
    """Warm idle workers; each call takes one (or starts one) and gives it back if it is healthy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._pid = os.getpid()

    def take(self) -> _Worker:
        with self._lock:
            if os.getpid() != self._pid:  # this process is a fork: those workers are not ours
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                worker = self._idle.pop()
                if worker.usable():
                    return worker
                worker.kill()
        return _start_worker()

    def warm(self) -> bool:
        """Whether an idle worker is waiting (of this process)."""
        with self._lock:
            return bool(self._idle) and os.getpid() == self._pid

    def give(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_WORKERS and os.getpid() == self._pid:
                self._idle.append(worker)
                return
        worker.kill()

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_POOL = _Pool()


def prestart(*, background: bool = False) -> None:
    """Start a worker now so that the first bounded call does not wait for it.

    Front ends with threads (the app, ``ask``) call this at start with ``background=True``: there
    the first worker comes from a fork server that imports SymPy once (about a second).
    """
    if getattr(_state, "active", False) or not _isolation_available() or _POOL.warm():
        return
    if background:
        threading.Thread(target=_prestart_quietly, name="mltutor-prestart", daemon=True).start()
    else:
        _POOL.give(_POOL.take())


def _prestart_quietly() -> None:
    with contextlib.suppress(Exception):
        _POOL.give(_POOL.take())


def shutdown_workers() -> None:
    """Stop the idle workers (they also exit on their own when this process ends)."""
    _POOL.shutdown()


def _isolation_available() -> bool:
    return os.name == "posix"


def _memory_budget(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """The memory bound: the ``ToolLimits`` passed to the function, else the default."""
    from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits

    for value in (*args, *kwargs.values()):
        if isinstance(value, ToolLimits):
            return value.max_memory_mb
    return DEFAULT_LIMITS.max_memory_mb


def run_bounded(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in a worker process; :class:`ToolTimeout` past ``timeout`` s.

    ``fn`` must be a module-level function and its arguments and result picklable. Errors raised by
    ``fn`` are raised here; running out of the memory bound is :class:`LimitExceeded`.
    """
    if getattr(_state, "active", False):
        return fn(*args, **kwargs)
    if not _isolation_available():
        return run_watched(fn, *args, timeout=timeout, **kwargs)
    job = (fn, args, kwargs, _memory_budget(args, kwargs))
    worker = _POOL.take()
    try:
        try:
            worker.conn.send(job)
        except (BrokenPipeError, ConnectionResetError, EOFError):  # it died while idle
            worker.kill()
            worker = _start_worker()
            worker.conn.send(job)
        if not worker.conn.poll(timeout):
            raise _timeout_error(timeout)
        reply = worker.conn.recv_bytes()
    except (EOFError, OSError):  # the worker died mid-call (a crash in C, or the kernel)
        worker.proc.join(timeout=1)
        code = worker.proc.exitcode
        worker.kill()
        raise ToolError(
            f"the computation stopped its worker process (exit code {code}); it may need more "
            f"memory than its bound ({job[3]} MB)"
        ) from None
    except BaseException:  # timeout, Ctrl-C, an argument that does not pickle: start afresh
        worker.kill()
        raise
    import pickle  # here: the in-process path (run_watched) never needs it

    try:
        status, value = pickle.loads(reply)
    except Exception:  # e.g. an exception class that cannot be rebuilt from its arguments
        status, value = (
            "err",
            ToolError("the computation failed with an error that could not be passed back"),
        )
    if status == "recycle":  # after MemoryError the heap may be fragmented: start afresh
        worker.kill()
    else:
        _POOL.give(worker)
    if status == "ok":
        return value  # type: ignore[no-any-return]
    raise value


# -- the in-process variant -----------------------------------------------------------------------


class _Deadline(BaseException):
    """Raised asynchronously into the computing thread (BaseException: not caught by ``except
    Exception`` inside SymPy or our own code)."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
    )


class _Watchdog:
    """One daemon thread that raises :class:`_Deadline` into threads whose watched call overran
    (a thread per call would cost about a millisecond to start)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, int]] = {}  # token: (deadline, thread id)
        self._fired: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, timeout: float) -> int:
        with self._cond:
            token = next(self._tokens)
            self._armed[token] = (time.monotonic() + timeout, threading.get_ident())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mltutor-deadline", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return token

    def thread(self) -> threading.Thread | None:
        """The watchdog's thread, once started."""
        return self._thread

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)
            if token in self._fired:  # fired but maybe not delivered yet: cancel it
                self._fired.discard(token)
                _set_async_exc(threading.get_ident(), None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, thread_id) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        self._fired.add(token)
                        _set_async_exc(thread_id, _Deadline)
                soonest = min((d for d, _ in self._armed.values()), default=None)
                self._cond.wait(None if soonest is None else max(0.0, soonest - now))


_WATCHDOG = _Watchdog()


def _new_watchdog_after_fork() -> None:
    global _WATCHDOG
    _WATCHDOG = _Watchdog()  # the parent's thread and lock did not come along


os.register_at_fork(after_in_child=_new_watchdog_after_fork)


def run_watched(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """Call ``fn`` in this thread; a watchdog raises :class:`ToolTimeout` into it at the deadline.

    Only pure-Python code is interrupted (a long C call finishes first), so use this for work whose
    cost the input limits bound, and :func:`run_bounded` for anything else.
    """
    if getattr(_state, "active", False):
        return fn(*args, **kwargs)
    _state.active = True
    token = _WATCHDOG.arm(timeout)
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            _WATCHDOG.disarm(token)
            _state.active = False
    except _Deadline:
        _state.active = False
        raise _timeout_error(timeout) from None
    except RecursionError as exc:
        raise ToolError("the expression is nested too deeply to compute") from exc
    except MemoryError:
        raise LimitExceeded("the computation needs too much memory") from None
