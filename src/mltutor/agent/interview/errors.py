"""Error types of the mock interviewer and the learner model; each carries a message a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltutor.agent.errors import AgentError

if TYPE_CHECKING:
    from mltutor.storage import StorageKind


class InterviewError(AgentError):
    """The interview cannot do what was asked (no questions match the filters, it is finished...)."""


class LearnerStorageError(InterviewError):
    """The learner database cannot be opened or written (locked, disk full, read-only)."""

    def __init__(self, message: str, kind: StorageKind) -> None:
        super().__init__(message)
        self.kind: StorageKind = kind
