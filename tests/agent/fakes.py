"""Scripted fake chat model: drives the graph without a network or a model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from mltutor.agent.errors import ProviderError
from mltutor.agent.llm import Completion, ToolCall


class ScriptedChatModel:
    """Streams scripted answers in order; ``complete`` returns scripted completions in order.

    An entry that is an exception is raised instead. ``delay`` slows streaming so tests can cancel
    mid-answer; ``started`` is set when the first piece of a stream is produced.
    """

    def __init__(
        self,
        answers: list[str | Exception] | None = None,
        completions: list[Completion | Exception] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.answers = list(answers or [])
        self.completions = list(completions or [])
        self.delay = delay
        self.stream_calls: list[dict[str, Any]] = []
        self.complete_calls: list[dict[str, Any]] = []
        self.started = threading.Event()
        self.closed_early = 0

    @property
    def name(self) -> str:
        return "scripted"

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Completion:
        self.complete_calls.append(
            {
                "messages": messages,
                "tools": tools,
                "tool_choice": tool_choice,
                "max_tokens": max_tokens,
            }
        )
        if not self.completions:
            return Completion(content="no tool")
        item = self.completions.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        self.stream_calls.append({"messages": messages, "temperature": temperature})
        if not self.answers:
            raise AssertionError("the fake model ran out of scripted answers")
        item = self.answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return self._pieces(item)

    def _pieces(self, text: str) -> Iterator[str]:
        finished = False
        try:
            for i in range(0, len(text), 8):
                self.started.set()
                if self.delay:
                    time.sleep(self.delay)
                yield text[i : i + 8]
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


def tool_completion(name: str, args: dict[str, Any]) -> Completion:
    return Completion(
        tool_calls=[ToolCall(id="call_1", name=name, arguments=args)], finish_reason="tool_calls"
    )


def malformed() -> ProviderError:
    return ProviderError("the model sent tool arguments that are not JSON", "malformed_tool_call")


def plain(value: Any) -> Any:
    """State with its typed records as dicts, for terse assertions."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
