"""The one exception the knowledge base raises for problems a user can act on.

Callers (CLI, TUI) show ``message`` as is, so it must say what went wrong and what to do about it,
without a traceback.
"""

from __future__ import annotations


class KnowledgeError(Exception):
    """A user-actionable failure: a malformed note, an unreadable file, an unreachable server."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe(exc: BaseException) -> str:
    """A one-line account of an unexpected exception, for messages that must not be tracebacks."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__
