"""The one exception the knowledge base raises for problems a user can act on.

Callers (CLI, TUI) show ``message`` as is, so it must say what went wrong and what to do about it,
without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class KnowledgeError(Exception):
    """A user-actionable failure: a malformed note, an unreadable file, an unreachable server.

    ``kind`` is ``"knowledge"`` for problems with the content, or the storage failure class
    (``locked``, ``disk_full``, ``read_only``, ``corrupt``, ``io``) when the index's disk is at fault,
    so front ends can report it in a ``--json`` error object.
    """

    def __init__(self, message: str, kind: str = "knowledge") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def describe(exc: BaseException) -> str:
    """A one-line account of an unexpected exception, for messages that must not be tracebacks."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__


def storage_failure(
    exc: BaseException, path: Path, what: str, *, prefix: str = "", need_bytes: int | None = None
) -> KnowledgeError:
    """A KnowledgeError for a disk-level failure (locked, full, read-only...) on ``path``."""
    from mltutor.storage import LOW_SPACE_BYTES, storage_error

    err = storage_error(exc, path, what, need_bytes=need_bytes or LOW_SPACE_BYTES)
    return KnowledgeError(prefix + err.message, kind=err.kind)
