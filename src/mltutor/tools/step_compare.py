"""Comparing two consecutive parts of a derivation line (``A = B``) with everything the parts ask for:
derivatives and integrals computed, sums written out, expectations and probabilities rewritten,
rounded decimals judged by the rounding rule, and sample points kept inside the domain of the
functions being differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import sympy as sp

from mltutor.tools import moments, sums
from mltutor.tools.equivalence import Equivalence, compare, number_at
from mltutor.tools.errors import Unsupported
from mltutor.tools.parsing import Part
from mltutor.tools.parsing.objects import STAT_OBJECTS
from mltutor.tools.render import plain


@dataclass
class PairResult:
    """The outcome of one comparison, with what the diagnosis needs."""

    result: Equivalence
    expected: Any = None
    claimed: Any = None
    given: Any = None
    """For ``P(A) = 0.3`` with P(A) unknown so far: the equation it states (``atoms - value``)."""
    antiderivative: tuple[Any, Any] | None = None
    """For an integral: (variable, claimed antiderivative); ``expected`` is then the integrand,
    not a value to show."""


def _value(expr: Any) -> Any:
    """Compute derivatives and definite integrals the expression asks for."""
    if expr.has(sp.Derivative) or expr.has(sp.Integral):
        return expr.doit()
    return expr


def _is_indefinite(expr: Any) -> bool:
    return isinstance(expr, sp.Integral) and all(len(lim) == 1 for lim in expr.limits)


def _guards(*exprs: Any) -> list[Any]:
    """The functions being differentiated: a sample point must lie in their domain."""
    out = []
    for e in exprs:
        out += [d.expr for d in e.atoms(sp.Derivative)]
        out += sums.series_guards(e)
    return out


def _rounded_text(v: Any, decimals: int) -> str:
    d = Decimal(str(sp.Float(v, decimals + 30)))
    with localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + decimals + 10)
        return str(d.quantize(Decimal(1).scaleb(-decimals)))


def _rounding(value: Any, literal: Any, decimals: int, approx: bool) -> Equivalence:
    v = number_at(value, {}, max(30, decimals + 20))
    if v is None:
        return Equivalence(
            equal=None, method="undecided", detail="could not evaluate it as a number"
        )
    tol = sp.Rational(1, 2) * sp.Rational(10) ** -decimals * (2 if approx else 1)
    if not v.is_Rational:
        tol = tol * (1 + sp.Rational(1, 10**9))
    shown = f"{float(v):.10g}" if abs(v) < 10**300 else str(sp.Float(v, 10))
    if abs(v - literal) <= tol:
        return Equivalence(
            equal=True, method="numeric", detail=f"{shown} rounds to {_rounded_text(v, decimals)}"
        )
    return Equivalence(
        equal=False,
        method="numeric",
        left_value=float(v) if abs(v) < 10**300 else None,
        right_value=float(literal) if abs(literal) < 10**300 else None,
        detail=(
            f"the exact value {shown} rounds to {_rounded_text(v, decimals)}, not "
            f"{_rounded_text(literal, decimals)}"
        ),
    )


def prepare(expr: Any, facts: moments.Facts, *, independent: bool = False) -> Any:
    """Sums written out, expectations/probabilities as atoms with known values, then computed."""
    if sums.has_sum(expr):
        expr = sums.expand_sums(expr)
    if moments.has_stat(expr):
        expr = facts.apply(moments.normalize(expr, independent=independent))
    return expr


def _integral_pair(a_raw: Any, b_raw: Any) -> PairResult:
    if _is_indefinite(a_raw) and _is_indefinite(b_raw):
        return PairResult(compare(a_raw.function, b_raw.function), a_raw.function, b_raw.function)
    integral, other = (a_raw, b_raw) if _is_indefinite(a_raw) else (b_raw, a_raw)
    var = integral.limits[0][0]
    antiderivative = _value(other)
    claimed = sp.diff(antiderivative, var)
    res = compare(integral.function, claimed, guards=[antiderivative])
    if res.equal is False:
        res.detail = (
            f"d/d{var} of the antiderivative is {plain(claimed)}, not the integrand "
            f"{plain(integral.function)}"
        )
    return PairResult(res, integral.function, claimed, antiderivative=(var, antiderivative))


def _given(prev_raw: Any, a: Any, b: Any, facts: moments.Facts) -> Any | None:
    """``P(A) = 0.3``, ``E[X] = μ``, ``E[X²] − E[X]² = 91/6 − 49/4``: the left side names values
    not known yet and the right side is known, so the line states a fact rather than a claim."""
    unknown_a = facts.unknown(a)
    if not unknown_a or facts.unknown(b):
        return None
    single = isinstance(prev_raw, STAT_OBJECTS)
    if not single and len(unknown_a) != 1:
        return None
    return a - b


def _independent_holds(a_raw: Any, b_raw: Any, facts: moments.Facts) -> bool:
    a = _value(prepare(a_raw, facts, independent=True))
    b = _value(prepare(b_raw, facts, independent=True))
    return compare(a, b, deep=False).equal is True


def _at_lengths(a: Any, b: Any, facts: moments.Facts) -> Equivalence:
    """Sums of symbolic length over indexed values: compare at a few concrete lengths."""
    n_syms = sums.lengths(a) | sums.lengths(b)
    for n in sums.CONCRETE_LENGTHS:
        an, bn = sums.at_length([a, b], n_syms, n)
        an, bn = _value(prepare(an, facts)), _value(prepare(bn, facts))
        if sums.open_sums(an) or sums.open_sums(bn):
            break
        res = compare(an, bn, deep=False, guards=_guards(an, bn))
        if res.equal is not True:
            what = "does not hold" if res.equal is False else "could not be decided"
            return Equivalence(
                equal=None,
                method="undecided",
                detail=(
                    f"with n = {n} terms it {what} ({res.detail}); a sum over indexed values of "
                    f"unknown length is only checked for small n"
                ),
            )
    else:
        lengths = ", ".join(str(n) for n in sums.CONCRETE_LENGTHS)
        return Equivalence(
            equal=True, method="numeric", detail=f"equal for n = {lengths} at random values"
        )
    return Equivalence(equal=None, method="undecided", detail="a sum that cannot be written out")


def compare_parts(prev: Part | Any, cur: Part, facts: moments.Facts) -> PairResult:
    """Compare the part before with ``cur``."""
    a_raw = prev.expr if isinstance(prev, Part) else prev
    b_raw = cur.expr
    if _is_indefinite(a_raw) or _is_indefinite(b_raw):
        return _integral_pair(a_raw, b_raw)
    a_prep, b_prep = prepare(a_raw, facts), prepare(b_raw, facts)
    a, b = _value(a_prep), _value(b_prep)
    if a.has(sp.Derivative) or b.has(sp.Derivative):
        raise Unsupported("this derivative involves a function that is not defined")
    stat = moments.has_stat(a_raw) or moments.has_stat(b_raw)
    if stat:
        equation = _given(a_raw, a, b, facts)
        if equation is not None:
            res = Equivalence(equal=True, method="symbolic", detail="given")
            return PairResult(res, a, b, given=equation)
    if sums.open_sums(a) or sums.open_sums(b):
        return PairResult(_at_lengths(a_raw, b_raw, facts), None, None)
    approx = cur.relation == "≈"
    prev_decimals = prev.decimals if isinstance(prev, Part) else None
    if cur.decimals is not None and not a.free_symbols:
        return PairResult(_rounding(a, b, cur.decimals, approx), a, b)
    if prev_decimals is not None and not b.free_symbols:
        return PairResult(_rounding(b, a, prev_decimals, approx), a, b)
    if approx and not a.free_symbols and not b.free_symbols:
        va, vb = number_at(a, {}), number_at(b, {})
        if va is not None and vb is not None:
            ok = bool(abs(va - vb) <= sp.Rational(1, 1000) * max(abs(va), abs(vb)))
            detail = f"{float(va):.6g} ≈ {float(vb):.6g}"
            return PairResult(Equivalence(equal=ok, method="numeric", detail=detail), a, b)
    res = compare(a, b, guards=_guards(a_prep, b_prep))
    if res.equal is False and stat and _independent_holds(a_raw, b_raw, facts):
        res = Equivalence(
            equal=None,
            method="undecided",
            detail="it holds when the variables or events are independent, which this line "
            "does not say",
        )
    return PairResult(res, a, b)
