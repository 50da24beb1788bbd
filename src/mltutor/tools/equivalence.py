"""Decide whether two expressions are equal: symbolically first, then at random points.

Numeric testing runs at 30 significant digits at points where both sides are real and finite
(probability-like values, positive values, then mixed signs, so logs and roots are sampled where
defined). A disagreement is confirmed at 60 digits and at a second point before we say "not equal".
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Literal

import sympy as sp
from pydantic import BaseModel, ConfigDict

_REL_TOL = 1e-12
_RANGES = [(0.05, 0.95), (0.3, 3.0), (-3.0, 3.0), (-0.95, -0.05), (1.5, 6.0)]


class Equivalence(BaseModel):
    """The outcome of comparing two expressions."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    equal: bool | None
    """True/False when decided; None when neither symbolic nor numeric testing could decide."""

    method: Literal["symbolic", "numeric", "undecided"]
    """How the answer was reached."""

    counterexample: dict[str, float] | None = None
    """A point where the two sides differ (when ``equal`` is False and variables are involved)."""

    left_value: float | None = None
    """Value of the first expression at the counterexample (or the number itself if constant)."""

    right_value: float | None = None
    """Value of the second expression at the counterexample."""

    detail: str = ""
    """A sentence for the user: why we think so."""


def _real(value: Any) -> float | None:
    """A finite real float from an evaluated SymPy number, or None (complex, infinite, nan)."""
    try:
        re_part, im_part = value.as_real_imag()
        re_f, im_f = float(re_part), float(im_part)
    except (TypeError, ValueError, AttributeError):
        return None
    if re_f != re_f or abs(re_f) == float("inf"):
        return None
    if abs(im_f) > 1e-20 * max(1.0, abs(re_f)):
        return None
    return re_f


def evaluate(expr: Any, point: dict[Any, Any], digits: int = 30) -> float | None:
    """Evaluate at ``point`` (symbol -> Rational) to ``digits``; None if not a finite real."""
    try:
        value = expr.xreplace(point).evalf(digits) if point else expr.evalf(digits)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return None
    if value.free_symbols or value.has(sp.zoo, sp.nan):
        return None
    return _real(value)


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= _REL_TOL * max(1.0, abs(x), abs(y))


def _points(symbols: list[Any], rng: random.Random, count: int) -> list[dict[Any, Any]]:
    out = []
    for k in range(count):
        lo, hi = _RANGES[k % len(_RANGES)]
        out.append(
            {
                s: sp.Rational(str(Decimal(rng.uniform(lo, hi)).quantize(Decimal("1e-6"))))
                for s in symbols
            }
        )
    return out


def numeric_compare(a: Any, b: Any, *, seed: int = 7, samples: int = 10) -> Equivalence:
    """Compare at random points; decide only with at least 3 valid points or a confirmed miss."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    rng = random.Random(seed)
    agree = 0
    for point in _points(symbols, rng, samples if symbols else 1):
        va, vb = evaluate(a, point), evaluate(b, point)
        if va is None or vb is None:
            continue
        if _close(va, vb):
            agree += 1
            if not symbols:
                return Equivalence(
                    equal=True,
                    method="numeric",
                    left_value=va,
                    right_value=vb,
                    detail="equal to 30 significant digits",
                )
            continue
        # confirm the miss at higher precision
        va2, vb2 = evaluate(a, point, 60), evaluate(b, point, 60)
        if va2 is None or vb2 is None or _close(va2, vb2):
            continue
        where = {str(s): float(v) for s, v in point.items()}
        return Equivalence(
            equal=False,
            method="numeric",
            counterexample=where or None,
            left_value=va2,
            right_value=vb2,
            detail=(
                f"they differ at {_fmt_point(where)}: {va2:.6g} vs {vb2:.6g}"
                if where
                else f"{va2:.10g} is not {vb2:.10g}"
            ),
        )
    if agree >= min(3, samples):
        return Equivalence(
            equal=True,
            method="numeric",
            detail=f"equal at {agree} random points (30 significant digits)",
        )
    return Equivalence(
        equal=None,
        method="undecided",
        detail="could not evaluate both sides at enough points of their domain",
    )


def _fmt_point(point: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in point.items())


def symbolic_zero(diff: Any) -> bool:
    """Cheap symbolic tests that ``diff`` is identically zero (no full ``simplify``)."""
    if diff == 0:
        return True
    try:
        for transform in (sp.expand, sp.cancel, lambda e: sp.expand(sp.expand_log(e, force=True))):
            if transform(diff) == 0:
                return True
    except (sp.PolynomialError, TypeError, ValueError):
        return False
    return False


def compare(a: Any, b: Any, *, deep: bool = True) -> Equivalence:
    """Whether ``a`` equals ``b`` for all real values of their variables (where both are defined).

    Run it under :func:`mltutor.tools.bounded.run_bounded`: ``simplify`` on hostile input is slow.
    """
    diff = a - b
    if symbolic_zero(diff):
        return Equivalence(equal=True, method="symbolic", detail="identical after expansion")
    result = numeric_compare(a, b)
    if result.equal is not None:
        return result
    if deep:
        try:
            if sp.simplify(diff) == 0:
                return Equivalence(equal=True, method="symbolic", detail="equal after simplify")
        except (TypeError, ValueError, sp.PolynomialError):
            pass
    return result
