"""The one math parser used everywhere (checker, tools, UI).

It reads plain text (``2x^2 sin(x)``), Unicode (``σ(x)``, ``x²``, ``∂L/∂w``) and LaTeX
(``\\frac{d}{dx} e^{-x}``) and builds SymPy objects directly from tokens: no string is ever passed to
``eval``, ``sympify`` or ``parse_expr``. Errors are :class:`~mltutor.tools.errors.ParseError` with
the column and what was expected.

Importing this package is cheap: the names below load SymPy on first use, so the SymPy-free
modules (``vocabulary``, ``lexer``, ``spellings``) are usable without it (the grader reads the
vocabulary for every answer; only one with a formula needs SymPy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.tools.parsing.api import parse_chain, parse_equation, parse_math, parse_symbol
    from mltutor.tools.parsing.base import Definition, ParseContext
    from mltutor.tools.parsing.parser import Part

__all__ = [
    "Definition",
    "ParseContext",
    "Part",
    "parse_chain",
    "parse_equation",
    "parse_math",
    "parse_symbol",
]

_LAZY = {
    "Definition": "mltutor.tools.parsing.base",
    "ParseContext": "mltutor.tools.parsing.base",
    "Part": "mltutor.tools.parsing.parser",
    "parse_chain": "mltutor.tools.parsing.api",
    "parse_equation": "mltutor.tools.parsing.api",
    "parse_math": "mltutor.tools.parsing.api",
    "parse_symbol": "mltutor.tools.parsing.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
