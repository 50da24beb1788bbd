"""Error types of the agent layer; each carries a message a user can act on."""

from __future__ import annotations

from typing import Literal

ProviderErrorKind = Literal[
    "unreachable",
    "auth",
    "rate_limit",
    "server",
    "timeout",
    "bad_request",
    "bad_response",
    "malformed_tool_call",
    "not_found",
    "embedded",
]


class AgentError(Exception):
    """Base class: something the tutor could not do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderError(AgentError):
    """The model endpoint failed; ``kind`` lets callers decide to retry, fall back or report."""

    def __init__(self, message: str, kind: ProviderErrorKind, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class SessionError(AgentError):
    """A session could not be found, read or written."""


class Cancelled(AgentError):
    """The run was cancelled by the user (Ctrl-C, stop button)."""

    def __init__(self, message: str = "stopped by the user") -> None:
        super().__init__(message)


class GradingError(AgentError):
    """The grader could not grade an answer (bad input, no rubric)."""


class NoRubricError(GradingError):
    """Nothing in the bank or the notes matches the question; ``tried`` lists what was searched."""

    def __init__(self, message: str, tried: list[str] | None = None) -> None:
        super().__init__(message)
        self.tried = list(tried or [])
