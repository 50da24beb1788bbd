"""Counting what a case costs: model requests and tokens, per solver instance (one per worker)."""

from __future__ import annotations

import threading
from typing import Any

from mltutor.agent.llm import ChatModel, Completion, Message


def _estimate(text: str) -> int:
    return (len(text) + 3) // 4


class MeteredModel:
    """A chat model that counts requests and tokens (server-reported where given, else estimated)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Start counting a new case."""
        with self._lock:
            self.calls = self.prompt_tokens = self.completion_tokens = 0
            self.estimated = False

    @property
    def name(self) -> str:
        return self.model.name

    def _add(self, prompt: int, completion: int, estimated: bool) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.estimated = self.estimated or estimated

    def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        result = self.model.complete(messages, **kwargs)
        usage = result.usage
        if "prompt_tokens" in usage and "completion_tokens" in usage:
            self._add(usage["prompt_tokens"], usage["completion_tokens"], False)
        else:
            prompt = _estimate("".join(str(m.get("content") or "") for m in messages))
            self._add(prompt, _estimate(result.content), True)
        return result

    def stream(self, messages: list[Message], **kwargs: Any) -> Any:
        prompt = _estimate("".join(str(m.get("content") or "") for m in messages))
        pieces = self.model.stream(messages, **kwargs)
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
                self._add(prompt, (produced[0] + 3) // 4, True)

        return counted()


__all__ = ["MeteredModel"]
