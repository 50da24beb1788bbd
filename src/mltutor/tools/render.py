"""Three renderings of a SymPy result: plain text, LaTeX and a Unicode pretty form."""

from __future__ import annotations

from typing import Any

import sympy as sp


def plain(expr: Any) -> str:
    """Plain text a user can paste back into the parser (``x**2`` is shown as ``x^2``)."""
    return str(sp.sstr(expr)).replace("**", "^")


def latex(expr: Any) -> str:
    """LaTeX for Markdown renderers."""
    return str(sp.latex(expr))


def pretty(expr: Any) -> str:
    """Unicode pretty form for terminals."""
    return str(sp.pretty(expr, use_unicode=True))
