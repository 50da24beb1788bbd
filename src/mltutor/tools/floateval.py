"""Fast double-precision values of SymPy expressions, for hints only (the diagnosis probes).

A recursive walk over the tree with the ``math`` module: no code is generated or evaluated, and
nodes it does not know raise :class:`NotImplementedError` so the caller can fall back to ``evalf``.
Verdicts never rest on these values; they decide only which explanation of a wrong step to show.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy as sp


def _sign(v: float) -> float:
    return 0.0 if v == 0 else math.copysign(1.0, v)


_FUNCTIONS: dict[Any, Callable[..., float]] = {
    sp.exp: math.exp,
    sp.log: math.log,
    sp.sin: math.sin,
    sp.cos: math.cos,
    sp.tan: math.tan,
    sp.cot: lambda v: 1 / math.tan(v),
    sp.sec: lambda v: 1 / math.cos(v),
    sp.csc: lambda v: 1 / math.sin(v),
    sp.sinh: math.sinh,
    sp.cosh: math.cosh,
    sp.tanh: math.tanh,
    sp.asin: math.asin,
    sp.acos: math.acos,
    sp.atan: math.atan,
    sp.asinh: math.asinh,
    sp.acosh: math.acosh,
    sp.atanh: math.atanh,
    sp.Abs: abs,
    sp.sign: _sign,
    sp.erf: math.erf,
}


def float_at(expr: Any, point: dict[Any, float]) -> float | None:
    """``expr`` at ``point`` as a float; None where it is undefined or not finite.

    Raises NotImplementedError for nodes it does not know (use ``evalf`` then)."""
    try:
        value = _walk(expr, point)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _walk(e: Any, point: dict[Any, float]) -> float:
    if e.is_Symbol:
        if e not in point:
            raise NotImplementedError(f"no value for {e}")
        return point[e]
    if e.is_Number or e.is_NumberSymbol:
        return float(e)
    if e.is_Add:
        return math.fsum(_walk(a, point) for a in e.args)
    if e.is_Mul:
        product = 1.0
        for a in e.args:
            product *= _walk(a, point)
        return product
    if e.is_Pow:
        base, exp = _walk(e.base, point), _walk(e.exp, point)
        if base < 0 and not float(exp).is_integer():
            raise ValueError("a fractional power of a negative number")
        return float(math.pow(base, exp))
    func = _FUNCTIONS.get(e.func)
    if func is not None and len(e.args) == 1:
        return float(func(_walk(e.args[0], point)))
    if e.func in (sp.Max, sp.Min):
        values = [_walk(a, point) for a in e.args]
        return max(values) if e.func is sp.Max else min(values)
    raise NotImplementedError(type(e).__name__)
