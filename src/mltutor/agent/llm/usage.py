"""Token usage of a turn: what the server reported for every model call, estimated only where it
reported nothing.

A turn (one question to the tutor, one eval case) opens a :func:`usage_scope` (a turn that is a
generator uses a :class:`UsageScope`); every model call made inside it, in any thread that carries
the context (LangGraph nodes do; a thread pool needs ``contextvars.copy_context().run``), adds its
usage to the scope's :class:`UsageTally`. The OpenAI-compatible provider records server counts:
``usage`` of a non-streamed response, the final chunk of a stream requested with
``stream_options={"include_usage": true}``. When the server sends none (an old server, a stream cut
short) the call is estimated at 4 characters a token, and the tally says so: ``source`` is
``server`` only when every call was counted by the server.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

UsageSource = Literal["server", "estimate", "mixed", "none"]
"""Where a tally's counts come from: every call counted by the server, every call estimated, some of
each, or no call at all."""

CHARS_PER_TOKEN = 4
"""The estimate's rate: about 4 characters a token for English text."""


class Usage(BaseModel):
    """Prompt and completion tokens of a turn (summed over its model calls), and where they come from."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")

    prompt_tokens: int = 0
    """Prompt tokens of every model call."""
    completion_tokens: int = 0
    """Completion tokens of every model call."""
    calls: int = 0
    """Model calls counted."""
    estimated_calls: int = 0
    """Of those, calls the server reported no usage for (estimated at 4 characters a token)."""
    source: UsageSource = "none"
    """``server`` when every call was counted by the server, ``estimate`` when none was, ``mixed``
    otherwise; ``none`` without calls (or for a trace written before usage was recorded)."""


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` at :data:`CHARS_PER_TOKEN` characters a token (rounded up)."""
    return _tokens(len(text))


def prompt_chars(messages: list[dict[str, Any]]) -> int:
    """Characters of a request's message contents (for an estimate)."""
    return sum(len(str(m.get("content") or "")) for m in messages)


def server_counts(usage: Any) -> tuple[int, int] | None:
    """(prompt, completion) from a server's ``usage`` (object or dict), None when it lacks either."""
    if usage is None:
        return None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    else:
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


class UsageTally:
    """Thread-safe sum of the usage of a turn's model calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prompt = self._completion = self._calls = self._estimated = 0

    def add(self, prompt: int, completion: int, *, estimated: bool) -> None:
        """Count one model call."""
        with self._lock:
            self._prompt += max(0, prompt)
            self._completion += max(0, completion)
            self._calls += 1
            self._estimated += int(estimated)

    def snapshot(self) -> Usage:
        """The usage counted so far."""
        with self._lock:
            calls, estimated = self._calls, self._estimated
            source: UsageSource = (
                "none"
                if not calls
                else "server"
                if not estimated
                else "estimate"
                if estimated == calls
                else "mixed"
            )
            return Usage(
                prompt_tokens=self._prompt,
                completion_tokens=self._completion,
                calls=calls,
                estimated_calls=estimated,
                source=source,
            )


_CURRENT: contextvars.ContextVar[UsageTally | None] = contextvars.ContextVar(
    "mltutor_usage", default=None
)


@contextlib.contextmanager
def usage_scope() -> Iterator[UsageTally]:
    """Count the model calls made inside the block (and in threads that carry its context)."""
    tally = UsageTally()
    token = _CURRENT.set(tally)
    try:
        yield tally
    finally:
        _CURRENT.reset(token)


class UsageScope:
    """A scope for a turn that yields as it goes (the tutor's event stream).

    Setting a context variable in a generator would leak it to whoever iterates, and resetting it
    fails if the generator is closed from another context; instead the scope lives in a context of
    its own, and :meth:`iterate` advances the turn's iterator inside it.
    """

    def __init__(self) -> None:
        self.tally = UsageTally()
        self._context = contextvars.copy_context()
        self._context.run(_CURRENT.set, self.tally)

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, each produced inside the scope."""
        iterator = self._context.run(iter, items)
        while True:
            try:
                item = self._context.run(next, iterator)
            except StopIteration:
                return
            yield item


def current_usage() -> Usage:
    """The usage counted so far by the innermost open scope (empty when none is open)."""
    tally = _CURRENT.get()
    return tally.snapshot() if tally is not None else Usage()


def record_call(usage: Any, messages: list[dict[str, Any]], completion_chars: int) -> None:
    """Count one model call in the open scope, if any: the server's ``usage`` when it has both
    counts, else an estimate from the prompt's and the completion's characters."""
    tally = _CURRENT.get()
    if tally is None:
        return
    counts = server_counts(usage)
    if counts is not None:
        tally.add(*counts, estimated=False)
    else:
        tally.add(_tokens(prompt_chars(messages)), _tokens(completion_chars), estimated=True)


def rejects_stream_options(exc: BaseException | None) -> bool:
    """Whether a request failed because the server does not take ``stream_options`` (an HTTP 400
    or 422 whose message names it)."""
    if getattr(exc, "status_code", None) not in (400, 422):
        return False
    said = f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}"
    return "stream_options" in said or "include_usage" in said


def _tokens(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


__all__ = [
    "CHARS_PER_TOKEN",
    "Usage",
    "UsageScope",
    "UsageSource",
    "UsageTally",
    "current_usage",
    "estimate_tokens",
    "prompt_chars",
    "record_call",
    "rejects_stream_options",
    "server_counts",
    "usage_scope",
]
