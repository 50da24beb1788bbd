"""Helpers shared by the symbolic tools: every user string goes through the safe parser here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy as sp

from mltutor.tools.errors import LimitExceeded, ParseError, ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing import parse_equation, parse_math, parse_symbol


def expr(text: str, limits: ToolLimits, field: str = "expr") -> Any:
    """Parse one expression; a ParseError keeps its column and names the field."""
    try:
        return parse_math(text, limits=limits)
    except ParseError as exc:
        raise ParseError(f"{field}: {exc.reason}", exc.column, exc.text) from None


def equation(text: str, limits: ToolLimits, field: str = "equations") -> Any:
    """Parse ``lhs = rhs`` (or a bare expression meaning ``= 0``) into ``lhs - rhs``."""
    try:
        return parse_equation(text, limits=limits)
    except ParseError as exc:
        raise ParseError(f"{field}: {exc.reason}", exc.column, exc.text) from None


def symbol(name: str) -> Any:
    """A variable name as the parser's symbol (so it matches symbols inside parsed expressions)."""
    return parse_symbol(name)


def symbols(names: Sequence[str]) -> list[Any]:
    """Several variable names; duplicates are refused."""
    out = [symbol(n) for n in names]
    if len(set(out)) != len(out):
        raise ToolError(f"variables repeat: {', '.join(names)}")
    return out


def free_vars(exprs: Iterable[Any]) -> list[Any]:
    """Free symbols of the expressions, sorted by name."""
    found: set[Any] = set()
    for e in exprs:
        found |= e.free_symbols
    return sorted(found, key=str)


def resolve_vars(names: Sequence[str], exprs: Sequence[Any], *, one: bool = False) -> list[Any]:
    """The named variables, or (when none are named) the free symbols of ``exprs``."""
    if names:
        return symbols(names)
    found = free_vars(exprs)
    if not found:
        raise ToolError("the expression has no variables; name one with the variable field")
    if one and len(found) > 1:
        listed = ", ".join(str(s) for s in found)
        raise ToolError(f"the expression has several variables ({listed}); say which one to use")
    return found


def number(value: float | str, limits: ToolLimits, field: str) -> Any:
    """A point value: a float as an exact SymPy number, or math text without free variables."""
    if isinstance(value, float | int):
        if not math.isfinite(value):
            raise ToolError(f'{field}: write infinity as the text "oo", not as a number')
        # the shortest decimal form, read exactly: 0.1 -> 1/10 (Rational parses it without eval)
        return sp.Rational(repr(float(value)))
    e = expr(value, limits, field)
    if e.free_symbols:
        names = ", ".join(sorted(str(s) for s in e.free_symbols))
        raise ToolError(f"{field}: {value!r} is not a number (it contains {names})")
    return e


def point(
    values: Mapping[str, float | str], limits: ToolLimits, field: str = "at"
) -> dict[Any, Any]:
    """``{"x": 1, "y": "1/2"}`` as a substitution dict of symbols to SymPy numbers."""
    return {symbol(k): number(v, limits, f"{field}.{k}") for k, v in values.items()}


def check_order(total: int, cap: int = 20) -> None:
    """Refuse derivative or series orders that would blow up the expression."""
    if total > cap:
        raise LimitExceeded(f"total order {total} is over the limit of {cap}")


def _function_kinds(e: Any) -> set[type]:
    return {type(f) for f in e.atoms(sp.Function)}


def tidy(e: Any, limits: ToolLimits) -> Any:
    """A light simplification that stays cheap and recognisable.

    Full ``simplify`` runs only on small expressions, and its result is kept only if it is shorter
    and brings in no new functions (so σ'(x) stays in exponentials rather than turning into cosh).
    """
    size = sp.count_ops(e)
    if size > limits.max_nodes // 10:
        return e
    kinds = _function_kinds(e)
    best, best_size = e, size
    # cheap rewrites first (a few ms); full simplify (tens of ms) only when they leave it long
    steps: list[Any] = [sp.factor_terms, sp.cancel, lambda x: sp.factor(sp.cancel(x)), sp.together]
    for step in steps:
        try:
            s = step(e)
        except (sp.PolynomialError, TypeError, ValueError):
            continue
        s_size = sp.count_ops(s)
        if s_size < best_size and _function_kinds(s) <= kinds:
            best, best_size = s, s_size
    if best_size > 8 or (
        best.is_Add and any(t.is_Pow and t.exp < 0 for t in sp.preorder_traversal(best))
    ):
        s = sp.simplify(best)
        if _function_kinds(s) <= kinds and sp.count_ops(s) < best_size:
            best = s
    return best
