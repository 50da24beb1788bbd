"""Typed math tools over SymPy/NumPy/SciPy and the derivation checker. No LLM, no I/O.

Importing this package is cheap: SymPy is loaded only when a tool, the parser or the checker is
first used (``from mltutor.tools.checker import check_derivation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.tools.checker import CheckReport, check_derivation
    from mltutor.tools.parsing import parse_math

__all__ = ["CheckReport", "check_derivation", "parse_math"]

_LAZY = {
    "CheckReport": "mltutor.tools.checker",
    "check_derivation": "mltutor.tools.checker",
    "parse_math": "mltutor.tools.parsing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
