"""The one math parser used everywhere (checker, tools, UI).

It reads plain text (``2x^2 sin(x)``), Unicode (``σ(x)``, ``x²``, ``∂L/∂w``) and LaTeX
(``\\frac{d}{dx} e^{-x}``) and builds SymPy objects directly from tokens: no string is ever passed to
``eval``, ``sympify`` or ``parse_expr``. Errors are :class:`~mltutor.tools.errors.ParseError` with
the column and what was expected.
"""

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
