"""Reaching language models: the chat protocol, the OpenAI-compatible provider, endpoints per role.

Importing this package is cheap; ``openai`` loads when a provider is built.
"""

from __future__ import annotations

from mltutor.agent.llm.chat import (
    ChatModel,
    Completion,
    Message,
    ToolCall,
    continues_final_message,
)
from mltutor.agent.llm.connect import Connected, connect_models, probe
from mltutor.agent.llm.endpoint import EndpointConfig, resolve_endpoints
from mltutor.agent.llm.openai_chat import OpenAIChatModel, json_response_format
from mltutor.agent.llm.usage import Usage, UsageScope, current_usage, usage_scope

__all__ = [
    "ChatModel",
    "Completion",
    "Connected",
    "EndpointConfig",
    "Message",
    "OpenAIChatModel",
    "ToolCall",
    "Usage",
    "UsageScope",
    "connect_models",
    "continues_final_message",
    "current_usage",
    "json_response_format",
    "probe",
    "resolve_endpoints",
    "usage_scope",
]
