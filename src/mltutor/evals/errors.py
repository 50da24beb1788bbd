"""Errors of the eval harness; each carries a message a user can act on."""

from __future__ import annotations


class EvalError(Exception):
    """Base class: the harness cannot do what was asked (the message says what to change)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SuiteError(EvalError):
    """A suite file cannot be used; ``problems`` names every bad line (``file:line: what``)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class RunError(EvalError):
    """A run cannot start, resume or be reported (missing dir, manifest mismatch, ...)."""


__all__ = ["EvalError", "RunError", "SuiteError"]
