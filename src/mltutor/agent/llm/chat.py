"""What the graph needs from a chat model: one protocol, implemented by the OpenAI-compatible provider
and by scripted fakes in tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


class ToolCall(BaseModel):
    """A tool call the model asked for, with arguments already decoded from JSON."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Provider-assigned id, echoed back in the tool message."""
    name: str
    """Tool name."""
    arguments: dict[str, Any]
    """Decoded JSON arguments."""


class Completion(BaseModel):
    """One non-streamed model response."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    content: str = ""
    """Text of the reply (may be empty when the model only calls tools)."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Tool calls requested by the model."""
    finish_reason: str | None = None
    """Why generation stopped (stop, length, tool_calls)."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Token counts reported by the server (prompt_tokens, completion_tokens)."""
    model: str = ""
    """Model that answered."""


Message = dict[str, Any]
"""An OpenAI-format chat message: {"role": ..., "content": ..., ...}."""


class ChatModel(Protocol):
    """A chat model reachable through the OpenAI chat-completions protocol (or a fake)."""

    @property
    def name(self) -> str:
        """Model name for display and traces."""
        ...

    def complete(
        self,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Completion:
        """One response, non-streamed (tool calls and JSON output go through here).

        Raises :class:`~mltutor.agent.errors.ProviderError` on any endpoint failure, including
        tool-call arguments that are not valid JSON (kind ``malformed_tool_call``).
        """
        ...

    def stream(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Stream the text of one response, piece by piece (no tools)."""
        ...


def continues_final_message(model: object) -> bool:
    """Whether ``model`` continues a final assistant message (a prefilled answer start) rather than
    answering after it. llama.cpp's server does: the embedded model says so. The OpenAI API does
    not, so a remote endpoint never gets a prefilled answer; a test fake that stands for a
    continuing server sets ``continues_final_message = True``."""
    return getattr(model, "continues_final_message", False) is True
