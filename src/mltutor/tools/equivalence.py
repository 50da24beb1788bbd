"""Decide whether two expressions are equal: symbolically first, then at random points.

Values are compared exactly when they are exact (rational points make ``x + 10^(-13)`` and ``x``
differ by exactly ``10^(-13)``), otherwise to a relative tolerance far below the 30 digits they are
computed with: ``0.05^10`` is not ``0``. Points are drawn where both sides, and any ``guards`` (the
functions being differentiated or the claimed antiderivative), are real and finite, so ``acosh`` is
sampled at x >= 1 and ``arcsin`` in [-1, 1]; a disagreement is confirmed at 60 digits.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import sympy as sp

_REL_TOL = sp.Float("1e-20", 30)
_RANGES = [(0.05, 0.95), (0.3, 3.0), (-3.0, 3.0), (-0.95, -0.05), (1.5, 6.0)]
# tried after the first round when too few points lie in the domain (acosh(x/3), asin(4x), ...)
_MORE_RANGES = [(1.05, 4.0), (-0.3, 0.3), (3.0, 12.0), (-4.0, -1.05), (0.01, 0.2), (-12.0, -3.0)]
_MAX_POINTS = 28
_SYMBOLIC_FIRST_OPS = 60
_HUGE = sp.Integer(10) ** 100
_SMALL_OPS = 40


@dataclass
class Equivalence:
    """The outcome of comparing two expressions (a dataclass: ``mltutor check`` starts without
    pydantic)."""

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


def _is_real_number(value: Any) -> bool:
    if value.is_Rational:
        return True
    if not isinstance(value, sp.Float):
        return False
    return bool(value.is_finite)


def is_rational_function(expr: Any) -> bool:
    """No functions and no fractional powers: at a rational point the value is an exact Rational."""
    if expr.atoms(sp.Function, sp.Derivative, sp.Integral, sp.Sum):
        return False
    return all(p.exp.is_Integer for p in expr.atoms(sp.Pow))


def substitute_exactly(expr: Any) -> bool:
    """How to evaluate ``expr`` at points: substitute them exactly (rational functions, and small
    expressions, where that is fastest) or pass them to ``evalf`` (large expressions with functions,
    where building the exact value is slow)."""
    return is_rational_function(expr) or sp.count_ops(expr) <= _SMALL_OPS


def number_at(
    expr: Any, point: dict[Any, Any], digits: int = 30, exact: bool | None = None
) -> Any | None:
    """``expr`` at ``point`` as an exact Rational when it is one, else a Float of ``digits``
    significant digits; None where it is not a finite real number. An evaluation sympy cannot give
    a single significant digit of (a cancellation to zero) is returned as exact 0. ``exact`` says
    whether to substitute the point exactly (see :func:`substitute_exactly`; computed when not
    given) or pass it to ``evalf``."""
    try:
        if exact is None:
            exact = substitute_exactly(expr)
        if exact or not point:
            value = expr.xreplace(point) if point else expr
            if value.is_Rational:
                return value
            value = value.evalf(digits)
        else:
            value = expr.evalf(digits, subs=point)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return None
    if value.free_symbols or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    if not _is_real_number(value):
        try:
            re_part, im_part = value.as_real_imag()
        except (TypeError, ValueError, AttributeError):
            return None
        if not _is_real_number(re_part) or not _is_real_number(im_part):
            return None
        if abs(im_part) > sp.Float("1e-25") * max(1, abs(re_part)):
            return None
        value = re_part
    if isinstance(value, sp.Float) and value._prec < 20:
        return sp.Integer(0)
    if abs(value) > _HUGE:  # at (or numerically at) a pole: not a point to compare at
        return None
    return value


def _to_float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def evaluate(expr: Any, point: dict[Any, Any], digits: int = 30) -> float | None:
    """Evaluate at ``point`` (symbol -> Rational) to ``digits``; None if not a finite real."""
    value = number_at(expr, point, digits)
    return None if value is None else _to_float(value)


def same_number(va: Any, vb: Any) -> bool:
    """Exact equality for exact values, else agreement to a relative 1e-20."""
    if va.is_Rational and vb.is_Rational:
        return bool(va == vb)
    diff = abs(va - vb)
    if diff == 0:
        return True
    scale = max(abs(va), abs(vb))
    return bool(diff <= _REL_TOL * scale)


def sample_points(
    symbols: list[Any], rng: random.Random, positive: frozenset[Any] = frozenset()
) -> Iterator[dict[Any, Any]]:
    """Random rational points: five ranges in turn, then wider and narrower ones; the symbols in
    ``positive`` get the absolute value."""
    ranges = _RANGES + _MORE_RANGES
    for k in range(_MAX_POINTS):
        lo, hi = ranges[k % len(_RANGES)] if k < 10 else ranges[5 + (k - 10) % len(_MORE_RANGES)]
        point = {}
        for s in symbols:
            value = sp.Rational(str(Decimal(rng.uniform(lo, hi)).quantize(Decimal("1e-6"))))
            point[s] = abs(value) if s in positive and value != 0 else value
        yield point


def restricting(guards: Sequence[Any]) -> tuple[Any, ...]:
    """The guards that can exclude a point: not constants, not rational functions (those are
    defined wherever the sides themselves are, up to poles the sides share)."""
    return tuple(g for g in guards if g.free_symbols and not is_rational_function(g))


def in_domain(guards: Sequence[Any], point: dict[Any, Any]) -> bool:
    return all(number_at(g, point, 15) is not None for g in guards)


def numeric_compare(
    a: Any,
    b: Any,
    *,
    seed: int = 7,
    samples: int = 10,
    guards: Sequence[Any] = (),
    positive: frozenset[Any] = frozenset(),
) -> Equivalence:
    """Compare at random points; decide only with enough valid points or a confirmed miss."""
    guards = restricting(guards)
    found = set(a.free_symbols | b.free_symbols)
    for g in guards:
        found |= g.free_symbols
    symbols = sorted(found, key=str)
    rng = random.Random(seed)
    agree = tried = 0
    need = min(3, samples)
    exact_a, exact_b = substitute_exactly(a), substitute_exactly(b)
    for point in sample_points(symbols, rng, positive):
        if tried >= (samples if agree >= need else _MAX_POINTS) or (tried and not symbols):
            break
        tried += 1
        va, vb = number_at(a, point, exact=exact_a), number_at(b, point, exact=exact_b)
        if va is None or vb is None or not in_domain(guards, point):
            continue
        if same_number(va, vb):
            agree += 1
            if not symbols:
                return Equivalence(
                    equal=True,
                    method="numeric",
                    left_value=_to_float(va),
                    right_value=_to_float(vb),
                    detail="equal exactly" if va.is_Rational else "equal to 30 significant digits",
                )
            continue
        # confirm the miss at higher precision
        va2, vb2 = number_at(a, point, 60, exact_a), number_at(b, point, 60, exact_b)
        if va2 is None or vb2 is None or same_number(va2, vb2):
            continue
        where = {str(s): float(v) for s, v in point.items()}
        fa, fb = _to_float(va2), _to_float(vb2)
        return Equivalence(
            equal=False,
            method="numeric",
            counterexample=where or None,
            left_value=fa,
            right_value=fb,
            detail=(
                f"they differ at {_fmt_point(where)}: {_fmt(va2)} vs {_fmt(vb2)}"
                if where
                else f"{_fmt(va2, 10)} is not {_fmt(vb2, 10)}"
            ),
        )
    if agree >= need:
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


def _fmt(value: Any, digits: int = 6) -> str:
    """A number for a message: integers as they are, others to ``digits`` significant digits."""
    if value.is_Integer and abs(value) < 10**15:
        return str(value)
    f = _to_float(value)
    return str(value) if f is None else f"{f:.{digits}g}"


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


def compare(
    a: Any,
    b: Any,
    *,
    deep: bool = True,
    guards: Sequence[Any] = (),
    samples: int = 10,
    positive: frozenset[Any] = frozenset(),
) -> Equivalence:
    """Whether ``a`` equals ``b`` for all real values of their variables (where both are defined).

    ``guards`` are expressions that must be real at a sample point for it to count (the domain of
    the function a derivative was taken of). Run it under :func:`mltutor.tools.bounded.run_bounded`:
    ``simplify`` on hostile input is slow.
    """
    diff = a - b
    # expanding a large difference (sigmoids of sums, say) can take minutes: numbers first then
    small = sp.count_ops(diff) <= _SYMBOLIC_FIRST_OPS
    if small and symbolic_zero(diff):
        return Equivalence(equal=True, method="symbolic", detail="identical after expansion")
    if diff.is_Rational:
        return Equivalence(
            equal=False,
            method="symbolic",
            detail=(
                f"they differ by exactly {diff}"
                if a.free_symbols or b.free_symbols
                else f"{_fmt(a, 10)} is not {_fmt(b, 10)}"
            ),
        )
    result = numeric_compare(a, b, guards=guards, samples=samples, positive=positive)
    if result.equal is not None:
        return result
    if not small and symbolic_zero(diff):
        return Equivalence(equal=True, method="symbolic", detail="identical after expansion")
    if deep:
        try:
            if sp.simplify(diff) == 0:
                return Equivalence(equal=True, method="symbolic", detail="equal after simplify")
        except (TypeError, ValueError, sp.PolynomialError):
            pass
    return result
