"""Counting what a case costs: every model call of a case lands in the case's usage scope
(:mod:`mltutor.agent.llm.usage`).

The OpenAI-compatible provider records the server's own counts (and says when it had to estimate);
:class:`MeteredModel` lets those calls through untouched and estimates, at 4 characters a token, only
for a model that records nothing itself (the scripted fakes of the tests).
"""

from __future__ import annotations

from typing import Any

from mltutor.agent.llm import ChatModel, Completion, Message
from mltutor.agent.llm.usage import record_call


class MeteredModel:
    """A chat model whose every call counts in the open usage scope."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.self_counting = bool(getattr(model, "reports_usage", False))
        """The model records its own usage (server counts): nothing is added here."""

    @property
    def name(self) -> str:
        return self.model.name

    def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        result = self.model.complete(messages, **kwargs)
        if not self.self_counting:
            record_call(result.usage, messages, len(result.content))
        return result

    def stream(self, messages: list[Message], **kwargs: Any) -> Any:
        pieces = self.model.stream(messages, **kwargs)
        if self.self_counting:
            return pieces
        produced: list[int] = [0]

        def counted() -> Any:
            try:
                for piece in pieces:
                    produced[0] += len(piece)
                    yield piece
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
                record_call(None, messages, produced[0])

        return counted()


__all__ = ["MeteredModel"]
