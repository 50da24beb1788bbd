"""The bridge between blocking service calls and the UI thread.

Service calls block (a streamed answer for many seconds, a check for up to the tool time bound), so
they run in daemon threads: daemon, because a thread stuck in a model request must never keep the
process alive after the user quits (Textual's thread workers run on the event loop's executor, which
is joined at exit). A streamed run appends its events to a deque that the answer widget drains on a
timer, so a burst of tokens costs one repaint, not one per token; one-shot calls post their result
back as a message, which Textual delivers on the UI thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

    from mltutor.agent.events import Event

T = TypeVar("T")

END = object()
"""Queued after a run's last event (and after a failure)."""


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else f"{type(exc).__name__}: {exc}"


class RunHandle:
    """One streamed run (a question or an explanation) feeding the UI from a daemon thread."""

    STOP_GRACE_S = 5.0
    """How long a stopped run may keep streaming before the UI closes its generator."""

    def __init__(self, produce: Callable[[threading.Event], Iterator[Event]]) -> None:
        self._produce = produce
        self.cancel = threading.Event()
        """Set by the stop action; the service stops at its next token or node boundary."""
        self.queue: deque[object] = deque()
        """Events in arrival order, then :data:`END`; ``deque.append`` is thread-safe."""
        self.finished = threading.Event()
        """Set when the producing thread has returned."""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start producing in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="mltutor-run", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the service to stop; the UI stops listening at its next drain."""
        self.cancel.set()

    @property
    def stopped(self) -> bool:
        """Whether the user stopped this run."""
        return self.cancel.is_set()

    def drain(self) -> list[object]:
        """Everything queued so far (called on the UI thread)."""
        items: list[object] = []
        while self.queue:
            items.append(self.queue.popleft())
        return items

    def _run(self) -> None:
        events = None
        try:
            events = self._produce(self.cancel)
            stopped_at: float | None = None
            for event in events:
                self.queue.append(event)
                if self.cancel.is_set():
                    # let the service wind down itself (it notes the stop in the session); only a
                    # service that keeps streaming past the grace period is cut off
                    stopped_at = stopped_at or time.monotonic()
                    if time.monotonic() - stopped_at > self.STOP_GRACE_S:
                        break
        except Exception as exc:  # any failure becomes an error event, never a crash
            from mltutor.agent.events import ErrorEvent

            kind = str(getattr(exc, "kind", "internal"))
            retryable = bool(getattr(exc, "retryable", False))
            self.queue.append(ErrorEvent(message=_describe(exc), kind=kind, retryable=retryable))
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()  # lets the service clean up a generator we stopped reading
            self.queue.append(END)
            self.finished.set()


class CallDone(Message, Generic[T]):
    """The result of a blocking call made with :func:`call_in_thread`, delivered on the UI thread."""

    def __init__(
        self,
        owner: DOMNode,
        on_result: Callable[[T], Any],
        on_error: Callable[[str], Any] | None,
        result: T | None,
        error: str | None,
    ) -> None:
        super().__init__()
        self.owner = owner
        self.on_result = on_result
        self.on_error = on_error
        self.result = result
        self.error = error

    def deliver(self) -> Any:
        """Call the right callback (called by the app's handler, which awaits an awaitable).

        Nothing is called when the widget that asked is gone (its screen closed, the app exiting
        while the call ran): its callbacks would query widgets that no longer exist.
        """
        if self.owner is not self.owner.app and not self.owner.is_attached:
            return None
        if self.error is not None:
            return self.on_error(self.error) if self.on_error is not None else None
        return self.on_result(self.result)  # type: ignore[arg-type]


def post_safely(app: App[Any], message: Message) -> None:
    """Post from a worker thread; a message for an app that has already exited is dropped."""
    with contextlib.suppress(RuntimeError):  # the loop is closed: the user quit meanwhile
        app.post_message(message)


def call_in_thread(
    owner: DOMNode,
    fn: Callable[[], T],
    on_result: Callable[[T], Any],
    on_error: Callable[[str], Any] | None = None,
    *,
    name: str = "mltutor-call",
) -> threading.Thread:
    """Run ``fn`` in a daemon thread; its result (or error text) comes back as a :class:`CallDone`.

    ``owner`` is the widget (or screen) the callbacks belong to: they are skipped if it is gone.
    """
    app = owner.app

    def run() -> None:
        try:
            result = fn()
        except Exception as exc:
            post_safely(app, CallDone(owner, on_result, on_error, None, _describe(exc)))
        else:
            post_safely(app, CallDone(owner, on_result, on_error, result, None))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
