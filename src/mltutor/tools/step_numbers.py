"""Numbers in a derivation line: the rounding rule for decimals (``1 - 0.95^10 = 0.4013``) and
numbers plugged in for named quantities (``σ/√n = 2/√100``, Bayes' rule with numbers)."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal, localcontext
from typing import Any

import sympy as sp

from mltutor.tools.equivalence import Equivalence, number_at
from mltutor.tools.floateval import float_at
from mltutor.tools.parsing import Part
from mltutor.tools.parsing.objects import STAT_OBJECTS


def _rounded_text(v: Any, decimals: int) -> str:
    d = Decimal(str(sp.Float(v, decimals + 30)))
    with localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + decimals + 10)
        return str(d.quantize(Decimal(1).scaleb(-decimals)))


def rounding(value: Any, literal: Any, decimals: int, approx: bool) -> Equivalence:
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


_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
# letters that usually stand for a variable of an identity (x² − 1 = (x − 1)(x + 1)); others
# (σ, μ, x̄, n, p, N, SE) usually name a quantity whose value the derivation plugs in
_VARIABLE_LETTERS = frozenset("abcefghjlotuvwxyz")


def quantity(symbol: Any) -> bool:
    """Whether a letter names a quantity (σ, x̄, n, p) rather than a variable of an identity (x)."""
    return str(symbol.name) not in _VARIABLE_LETTERS


_MAX_ASSIGNMENTS = 1296


def plugged_in(a_raw: Any, a: Any, b: Any, cur: Part, stat: bool) -> tuple[Equivalence, str | None]:
    """``σ/√n = 2/√100``, ``P(H|F)P(F)/P(H) = 0.5·0.5/0.75``: numbers put in for letters (or
    probabilities) whose values no earlier line states. It holds when some choice of the numbers
    written on the right gives the right-hand value; it is never called wrong."""
    if stat:
        objects = list(a_raw.atoms(*STAT_OBJECTS))
        slots = [o for o in objects if not any(o != p and p.has(o) for p in objects)]
        dummies = {o: sp.Dummy(f"s{k}") for k, o in enumerate(slots)}
        expr = a_raw.xreplace(dummies)
        names = [str(o) for o in slots]
        symbols = list(dummies.values())
    else:
        symbols = sorted(a.free_symbols, key=str)
        expr, names = a, [str(s) for s in symbols]
    numbers = sorted({sp.Rational(t) for t in _NUMBER_RE.findall(cur.text)})
    target = _float_value(b)
    count = len(numbers) ** len(symbols)
    if symbols and numbers and target is not None and count <= _MAX_ASSIGNMENTS:
        tol = 0.5 * 10.0**-cur.decimals if cur.decimals is not None else 1e-9 * max(1, abs(target))
        for values in itertools.product(numbers, repeat=len(symbols)):
            point = {s: float(v) for s, v in zip(symbols, values, strict=True)}
            try:
                got = float_at(expr, point)
            except NotImplementedError:
                break
            if got is not None and abs(got - target) <= tol * (1 + 1e-9):
                given = ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
                return Equivalence(equal=True, method="numeric", detail=f"with {given}"), given
    listed = ", ".join(names) if names else "its letters"
    detail = f"it puts numbers in for {listed}, whose values no earlier line states"
    return Equivalence(equal=None, method="undecided", detail=detail), None


def _float_value(value: Any) -> float | None:
    try:
        return float_at(value, {})
    except NotImplementedError:
        found = number_at(value, {})
        return None if found is None else float(found)
