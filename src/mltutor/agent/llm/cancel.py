"""Stopping a model request the user no longer wants: at once in this process, and on the server.

A turn that can be stopped (the tutor's run with its stop flag: Esc in the app, Ctrl-C in ``ask``)
runs inside a cancel scope (:func:`cancel_scope`, or :func:`cancellable` for a turn that yields as
it goes). Every request the provider makes inside the scope is guarded by an :class:`Abort`: when the
scope's event is set, a watcher thread shuts down the request's socket. The thread waiting for the
reply wakes up at once (the provider then raises :class:`~mltutor.agent.errors.Cancelled`), and the
server sees the connection closed and drops the request.

Why the socket, and why it matters most while the prompt is read: a waiting thread cannot look at
the stop flag until something arrives, and nothing does while a server reads a long prompt (a
non-streamed reply, such as the tool-choice call, arrives in one piece at the very end; a streamed one
sends its first token only after the whole prompt). Closing the socket from another thread does not
wake a blocked ``recv`` on Linux; ``shutdown`` does, and sends the server its FIN.

Which socket: the provider's HTTP client reports each new connection through httpx's ``trace``
request extension (:func:`trace_connections`, a request event hook); a streamed response also names its
connection once its headers arrive. A pooled connection reused by a non-streamed request is never
reported, so clients for servers on this machine keep no idle connections (connecting to loopback costs
well under a millisecond).
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mltutor.agent.errors import Cancelled

T = TypeVar("T")

POLL_S = 0.05
"""How often the watcher looks at the stop flags of the requests in flight."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts of servers on this machine (the embedded model, a local llama.cpp or Ollama): their clients
keep no idle connection, so every request opens (and reports) its own and can always be cut."""

_EVENT: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "mltutor_cancel", default=None
)
_ABORT: contextvars.ContextVar[Abort | None] = contextvars.ContextVar("mltutor_abort", default=None)


def current_cancel() -> threading.Event | None:
    """The stop flag of the innermost open cancel scope (None outside any)."""
    return _EVENT.get()


@contextlib.contextmanager
def cancel_scope(event: threading.Event) -> Iterator[threading.Event]:
    """Requests made inside the block (and in threads that carry its context) stop when ``event``
    is set."""
    token = _EVENT.set(event)
    try:
        yield event
    finally:
        _EVENT.reset(token)


def cancellable(items: Iterable[T], event: threading.Event) -> Iterator[T]:
    """``items``, each produced inside a cancel scope for ``event`` (for a turn that yields).

    The scope lives in a context of its own (copied from whoever first advances the iterator), so it
    neither leaks to the consumer between items nor breaks when the iterator is closed elsewhere.
    """
    context = contextvars.copy_context()
    context.run(_EVENT.set, event)
    iterator = context.run(iter, items)
    try:
        while True:
            try:
                item = context.run(next, iterator)
            except StopIteration:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            context.run(close)


class Abort:
    """The sockets of one request, shut down when its stop flag is set (while it is watched)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False

    @classmethod
    def for_current(cls) -> Abort | None:
        """A watched guard for a request in the current cancel scope; None outside any scope.
        Raises :class:`Cancelled` when the stop flag is already set."""
        event = current_cancel()
        if event is None:
            return None
        if event.is_set():
            raise Cancelled()
        abort = cls(event)
        _WATCHER.add(abort)
        return abort

    @property
    def fired(self) -> bool:
        """Whether the stop flag was seen and the sockets shut down."""
        return self._fired

    @property
    def cancelled(self) -> bool:
        """Whether the stop flag is set (checked by the provider after a failed request)."""
        return self._fired or self.event.is_set()

    def add(self, sock: Any) -> None:
        """Watch ``sock`` too (shut down at once when the guard has fired already)."""
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self._fired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def add_response(self, response: Any) -> None:
        """Watch the connection of an httpx response (a stream, once its headers arrived)."""
        extensions = getattr(response, "extensions", None)
        stream = extensions.get("network_stream") if isinstance(extensions, dict) else None
        if stream is not None:
            with contextlib.suppress(Exception):
                self.add(stream.get_extra_info("socket"))

    def fire(self) -> None:
        """Shut the sockets down (idempotent)."""
        with self._lock:
            self._fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    @contextlib.contextmanager
    def connecting(self) -> Iterator[None]:
        """Connections opened inside the block (by this thread's HTTP client) are watched."""
        token = _ABORT.set(self)
        try:
            yield
        finally:
            _ABORT.reset(token)

    def close(self) -> None:
        """The request is over: stop watching it."""
        _WATCHER.discard(self)
        with self._lock:
            self._sockets = []


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: the request ended meanwhile
        sock.shutdown(socket.SHUT_RDWR)


def trace_connections(request: Any) -> None:
    """httpx request event hook: report the connection a guarded request opens to its guard
    (through httpx's ``trace`` extension; any trace already set is still called)."""
    abort = _ABORT.get()
    if abort is None:
        return
    previous = request.extensions.get("trace")

    def trace(name: str, info: dict[str, Any]) -> None:
        if name == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            if stream is not None:
                abort.add(stream.get_extra_info("socket"))
        if previous is not None:
            previous(name, info)

    request.extensions["trace"] = trace


def http_client(url: str) -> Any:
    """The ``openai`` SDK's default HTTP client for ``url``, reporting new connections to the
    guard of the request that opens them; without idle connections for a server on this machine."""
    import openai

    hooks: dict[str, list[Any]] = {"request": [trace_connections]}
    if (urlsplit(url).hostname or "") in LOOPBACK_HOSTS:
        default = openai.DEFAULT_CONNECTION_LIMITS  # httpx's or httpx2's, as the SDK uses
        limits = type(default)(max_connections=default.max_connections, max_keepalive_connections=0)
        return openai.DefaultHttpxClient(event_hooks=hooks, limits=limits)
    return openai.DefaultHttpxClient(event_hooks=hooks)


class _Watcher:
    """One daemon thread looking at the stop flags of the guarded requests every :data:`POLL_S`;
    it runs only while some request is guarded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aborts: set[Abort] = set()
        self._thread: threading.Thread | None = None

    def add(self, abort: Abort) -> None:
        with self._lock:
            self._aborts.add(abort)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mltutor-cancel", daemon=True
                )
                self._thread.start()

    def discard(self, abort: Abort) -> None:
        with self._lock:
            self._aborts.discard(abort)

    def watched(self) -> int:
        """Requests guarded now (for tests)."""
        with self._lock:
            return len(self._aborts)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._aborts:
                    self._thread = None
                    return
                due = [a for a in self._aborts if a.event.is_set()]
                self._aborts.difference_update(due)
            for abort in due:
                abort.fire()
            time.sleep(POLL_S)


_WATCHER = _Watcher()


def watched_requests() -> int:
    """How many requests are guarded right now (a finished request must not stay watched)."""
    return _WATCHER.watched()


__all__ = [
    "POLL_S",
    "Abort",
    "cancel_scope",
    "cancellable",
    "current_cancel",
    "http_client",
    "trace_connections",
    "watched_requests",
]
