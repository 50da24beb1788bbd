"""The agent: LLM providers, the embedded model runtime, the tutor graph, sessions and the service.

Front ends (CLI, TUI) use :func:`create_service` and the protocol in :mod:`mltutor.agent.service`.
Importing this package is cheap: the graph, LangGraph and the providers load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.agent.facade import create_service

__all__ = ["create_service"]

_LAZY = {"create_service": "mltutor.agent.facade"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
