"""Error types raised by the math tools; each carries a message a user can act on."""

from __future__ import annotations


class ToolError(Exception):
    """A tool could not produce a result (bad input, unsupported construct, limits exceeded)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(ToolError):
    """Math text could not be parsed; ``column`` is 1-based and points at the offending character."""

    def __init__(self, message: str, column: int, text: str = "") -> None:
        self.column = column
        self.text = text
        self.reason = message
        super().__init__(f"column {column}: {message}")

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int, str]]:
        """Survive pickling (errors cross the process boundary of the bounded worker)."""
        return (type(self), (self.reason, self.column, self.text))

    def caret(self) -> str:
        """The input line with a caret under the failing column, for terminal display."""
        if not self.text:
            return ""
        return f"{self.text}\n{' ' * (self.column - 1)}^"


class ToolTimeout(ToolError):
    """A computation ran past its time bound and was stopped."""


class LimitExceeded(ToolError):
    """Input or an intermediate result is larger than the configured bounds."""


class Unsupported(ToolError):
    """The input is well-formed but uses a construct the tools cannot decide."""
