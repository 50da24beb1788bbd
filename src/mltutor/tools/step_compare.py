"""Comparing two consecutive parts of a derivation line (``A = B``) with everything the parts ask for:
derivatives and integrals computed, sums written out, expectations and probabilities rewritten,
rounded decimals judged by the rounding rule, and sample points kept inside the domain of the
functions being differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from mltutor.tools import moments, sums
from mltutor.tools.equivalence import Equivalence, compare, number_at, numeric_compare
from mltutor.tools.errors import Unsupported
from mltutor.tools.parsing import Part
from mltutor.tools.parsing.objects import STAT_OBJECTS, Prob
from mltutor.tools.render import plain
from mltutor.tools.step_numbers import plugged_in, quantity, rounding


@dataclass
class PairResult:
    """The outcome of one comparison, with what the diagnosis needs."""

    result: Equivalence
    expected: Any = None
    claimed: Any = None
    given: Any = None
    """For ``P(A) = 0.3`` with P(A) unknown so far: the equation it states (``atoms - value``)."""
    diagnosis: str | None = None
    """A diagnosis found while comparing (it then replaces the general one)."""
    assumption: str | None = None
    """What the step was taken to assume (the cases of total probability)."""
    antiderivative: tuple[Any, Any] | None = None
    """For an integral: (variable, claimed antiderivative); ``expected`` is then the integrand,
    not a value to show."""


def _value(expr: Any) -> Any:
    """Compute derivatives and definite integrals the expression asks for."""
    return expr.doit() if expr.has(sp.Derivative, sp.Integral) else expr


def _is_indefinite(expr: Any) -> bool:
    return isinstance(expr, sp.Integral) and all(len(lim) == 1 for lim in expr.limits)


def _guards(*exprs: Any) -> list[Any]:
    """The functions being differentiated: a sample point must lie in their domain."""
    out = []
    for e in exprs:
        for node in e.atoms(sp.Derivative, sp.Sum):
            if isinstance(node, sp.Derivative):
                inner = node.expr
                out.append(inner.doit() if inner.has(sp.Derivative, sp.Integral) else inner)
            else:
                out += sums.series_guards(node)
    return out


def prepare(
    expr: Any, facts: moments.Facts, *, independent: bool = False, disjoint: bool = False
) -> Any:
    """Sums written out, expectations/probabilities as atoms with known values, then computed;
    ``disjoint``: events never occur together (P(A ∩ B) = 0)."""
    if not expr.has(sp.Sum, *STAT_OBJECTS):
        return expr
    if sums.has_sum(expr):
        expr = sums.expand_sums(expr)
    if moments.has_stat(expr):
        expr = facts.apply(moments.normalize(expr, independent=independent))
        if disjoint:
            expr = moments.disjoint(expr)
    return expr


def _parameters(raw: Any, *, exclude: set[Any]) -> frozenset[Any]:
    """Letters of a calculus step other than its variables: the constants of a table formula."""
    return frozenset(
        s for s in raw.free_symbols - exclude if not moments.is_atom(s) and str(s) != "C"
    )


def _variables(*exprs: Any) -> set[Any]:
    found: set[Any] = set()
    for e in exprs:
        for node in e.atoms(sp.Derivative, sp.Integral):
            found |= (
                {v for v in node.variables}
                if isinstance(node, sp.Derivative)
                else {lim[0] for lim in node.limits}
            )
    return found


def _positive_parameters(
    a: Any, b: Any, a_raw: Any, b_raw: Any, guards: list[Any], *, antiderivative: bool = False
) -> PairResult | None:
    """A table formula holds for positive constants (∫ dx/√(a²−x²) = arcsin(x/a) needs a > 0):
    when it fails for some signs of its constants but holds for positive ones, say so. An
    antiderivative that holds only for a positive variable (a branch convention: arcsec x for
    ∫ dx/(x√(x²−1))) is undecided rather than wrong."""
    variables = _variables(a_raw, b_raw)
    if not variables:
        return None
    params = _parameters(a_raw + b_raw, exclude=variables)
    if params:
        res = numeric_compare(a, b, guards=guards, positive=params)  # symbolically they differ
        if res.equal is True:
            listed = ", ".join(sorted(str(p) for p in params))
            res.detail = f"{res.detail} for {listed} > 0"
            return PairResult(res, a, b, assumption=f"{listed} > 0")
    everything = params | frozenset(v for v in variables if v.is_Symbol)
    if antiderivative and numeric_compare(a, b, guards=guards, positive=everything).equal is True:
        listed = ", ".join(sorted(str(p) for p in everything))
        detail = (
            f"it holds only for positive {listed} (a convention such as ln x for ln|x| or the "
            "branch of an inverse function), which the line does not say"
        )
        return PairResult(Equivalence(equal=None, method="undecided", detail=detail), a, b)
    return None


def _integral_pair(a_raw: Any, b_raw: Any, guards: list[Any]) -> PairResult:
    if _is_indefinite(a_raw) and _is_indefinite(b_raw):
        res = compare(a_raw.function, b_raw.function, guards=guards)
        return PairResult(res, a_raw.function, b_raw.function)
    integral, other = (a_raw, b_raw) if _is_indefinite(a_raw) else (b_raw, a_raw)
    var = integral.limits[0][0]
    antiderivative = _value(other)
    claimed = sp.diff(antiderivative, var)
    domain = [antiderivative, *guards]
    res = compare(integral.function, claimed, guards=domain)
    if res.equal is False:
        rescued = _positive_parameters(
            integral.function, claimed, integral, other, domain, antiderivative=True
        )
        if rescued is not None:
            return rescued
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


def _length_result(a_raw: Any, b_raw: Any, facts: moments.Facts, shortest: int) -> PairResult:
    res, concrete = _at_lengths(a_raw, b_raw, facts, shortest)
    if concrete is None:
        return PairResult(res, None, None)
    from mltutor.tools.diagnosis import diagnose  # lazily: only a refuted step needs it

    hint = diagnose(*concrete)
    keep = hint if hint and hint.startswith(("sign", "off by a constant")) else None
    return PairResult(res, None, None, diagnosis=keep)


def _meant_for_all_values(a: Any, b: Any) -> bool:
    """A sum identity whose letters are all free (no x̂, no x* and no x̄ other than the mean of
    the summed x_i, neither side a lone constant or letter): a counterexample at one length
    refutes it."""
    if any(side.is_Number or side.is_Symbol for side in (a, b)):
        return False
    tied: set[str] = set()
    bound: set[Any] = set()
    for node in a.atoms(sp.Sum) | b.atoms(sp.Sum):
        index = node.limits[0][0]
        bound.add(index)
        tied |= {str(t.name).split("_", 1)[0] for t in sums.tied_symbols(node.function, index)}
    for s in (a.free_symbols | b.free_symbols) - bound:
        name = str(s.name)
        if name.endswith(("hat", "tilde", "star")) or "*" in name:
            return False
        if name.endswith("bar") and name[:-3] not in tied:
            return False
    return True


def _at_lengths(
    a: Any, b: Any, facts: moments.Facts, shortest: int = 2
) -> tuple[Equivalence, tuple[Any, Any] | None]:
    """Sums of symbolic length over indexed values: compare at a few concrete lengths (at least
    ``shortest``); with a refuting length, also the two sides there (for the diagnosis)."""
    n_syms = sums.lengths(a) | sums.lengths(b)
    concrete = tuple(n + max(0, shortest - 2) for n in sums.CONCRETE_LENGTHS)
    for n in concrete:
        an, bn = sums.at_length([a, b], n_syms, n)
        an, bn = _value(prepare(an, facts)), _value(prepare(bn, facts))
        if sums.open_sums(an) or sums.open_sums(bn):
            break
        res = compare(an, bn, deep=False, guards=_guards(an, bn), samples=4)
        if res.equal is False and _meant_for_all_values(a, b):
            res.detail = f"with n = {n} terms it does not hold: {res.detail}"
            return res, (an, bn)
        if res.equal is not True:
            what = "does not hold" if res.equal is False else "could not be decided"
            detail = (
                f"with n = {n} terms it {what} ({res.detail}); a sum over indexed values of "
                f"unknown length is only checked for small n"
            )
            return Equivalence(equal=None, method="undecided", detail=detail), None
    else:
        lengths = ", ".join(str(n) for n in concrete)
        detail = f"equal for n = {lengths} at random values"
        return Equivalence(equal=True, method="numeric", detail=detail), None
    detail = "a sum that cannot be written out"
    return Equivalence(equal=None, method="undecided", detail=detail), None


_PREPARED = frozenset({sp.Sum, *STAT_OBJECTS})
_COMPUTED = frozenset({sp.Derivative, sp.Integral, sp.Subs, sp.Sum})
_GUARDED = frozenset({sp.Derivative, sp.Sum, sp.Subs})


def _kinds(expr: Any) -> set[type]:
    """The node classes in ``expr``, in one walk (it decides which of the costlier steps apply)."""
    return {type(node) for node in sp.preorder_traversal(expr)}


def compare_parts(
    prev: Part | Any,
    cur: Part,
    facts: moments.Facts,
    *,
    independent: bool = False,
    disjoint: bool = False,
    guards: list[Any] | None = None,
) -> PairResult:
    """Compare the part before with ``cur``; ``independent`` when the line says its random
    variables or events are independent, ``guards`` from a condition the line states."""
    a_raw = prev.expr if isinstance(prev, Part) else prev
    b_raw = cur.expr
    stated = list(guards or [])
    if _is_indefinite(a_raw) or _is_indefinite(b_raw):
        return _integral_pair(a_raw, b_raw, stated)
    kinds_a, kinds_b = _kinds(a_raw), _kinds(b_raw)
    kinds = kinds_a | kinds_b
    if sp.Sum in kinds and sp.Derivative in kinds:
        try:
            term = sums.indexed_derivative(a_raw) or sums.indexed_derivative(b_raw)
        except ValueError as exc:
            raise Unsupported(f"{exc} names no single term (write ∂/∂ŷ_1, say)") from None
        if term is not None:
            return _length_result(a_raw, b_raw, facts, term)
    options = {"independent": independent, "disjoint": disjoint}
    a_prep = prepare(a_raw, facts, **options) if kinds_a & _PREPARED else a_raw
    b_prep = prepare(b_raw, facts, **options) if kinds_b & _PREPARED else b_raw
    a = _value(a_prep) if kinds_a & _COMPUTED else a_prep
    b = _value(b_prep) if kinds_b & _COMPUTED else b_prep
    if kinds & _COMPUTED and (a.has(sp.Derivative) or b.has(sp.Derivative)):
        raise Unsupported("this derivative involves a function that is not defined")
    stat = bool(kinds & set(STAT_OBJECTS))
    if stat:
        equation = _given(a_raw, a, b, facts)
        if equation is not None:
            res = Equivalence(equal=True, method="symbolic", detail="given")
            return PairResult(res, a, b, given=equation)
    if sp.Sum in kinds and (sums.open_sums(a) or sums.open_sums(b)):
        return _length_result(a_raw, b_raw, facts, 2)
    if not b.free_symbols and (
        facts.unknown(a) if stat else a.free_symbols and all(map(quantity, a.free_symbols))
    ):
        res, given = plugged_in(a_raw, a, b, cur, stat)
        return PairResult(res, a, b, assumption=given)
    domain = [*(_guards(a_prep, b_prep) if kinds & _GUARDED else []), *stated]
    pair = _values(prev, cur, a, b, domain)
    if pair.result.equal is False and not stat:
        return _positive_parameters(a, b, a_raw, b_raw, domain) or pair
    if pair.result.equal is not False or not stat:
        return pair
    fallacy = _turned_around(a_raw, b, facts)
    if fallacy:
        pair.diagnosis = fallacy
        return pair
    cases = moments.conditions(a_raw + b_raw)
    if len(cases) >= 2 and _holds(
        moments.partitioned(a, cases, facts), moments.partitioned(b, cases, facts)
    ):
        listed = ", ".join(sorted(cases))
        detail = f"by total probability, taking {listed} as the only cases"
        res = Equivalence(equal=True, method="symbolic", detail=detail)
        return PairResult(res, a, b, assumption=f"{listed} are the only cases")
    if not independent and _independent_holds(a_raw, b_raw, facts):
        detail = (
            "it holds when the variables or events are independent, which this line does not say"
        )
        return PairResult(Equivalence(equal=None, method="undecided", detail=detail), a, b)
    return pair


def _values(prev: Part | Any, cur: Part, a: Any, b: Any, guards: list[Any]) -> PairResult:
    """Two computed sides: the rounding rule for decimals, ≈ to 0.1%, else :func:`compare`."""
    approx = cur.relation == "≈"
    prev_decimals = prev.decimals if isinstance(prev, Part) else None
    if cur.decimals is not None and not a.free_symbols:
        return PairResult(rounding(a, b, cur.decimals, approx), a, b)
    if prev_decimals is not None and not b.free_symbols:
        return PairResult(rounding(b, a, prev_decimals, approx), a, b)
    if approx and not a.free_symbols and not b.free_symbols:
        va, vb = number_at(a, {}), number_at(b, {})
        if va is not None and vb is not None:
            ok = bool(abs(va - vb) <= sp.Rational(1, 1000) * max(abs(va), abs(vb)))
            detail = f"{float(va):.6g} ≈ {float(vb):.6g}"
            return PairResult(Equivalence(equal=ok, method="numeric", detail=detail), a, b)
    return PairResult(compare(a, b, guards=guards), a, b)


def _turned_around(a_raw: Any, b: Any, facts: moments.Facts) -> str | None:
    """``P(D | T) = 0.95`` when 0.95 is P(T | D): the prosecutor's fallacy."""
    if not (isinstance(a_raw, Prob) and len(a_raw.args) == 2) or b.free_symbols:
        return None
    turned = Prob(a_raw.args[1], a_raw.args[0])
    swapped = _value(prepare(turned, facts))
    if swapped.free_symbols:
        return None
    vs, vb = number_at(swapped, {}), number_at(b, {})
    if vs is None or vb is None or abs(vs - vb) > sp.Rational(1, 200) * max(abs(vs), abs(vb)):
        return None
    return (
        f"that is {turned}, not {a_raw}: the conditional probability was turned around "
        "(the prosecutor's fallacy)"
    )


def _holds(a: Any, b: Any) -> bool:
    return compare(a, b, deep=False).equal is True


def learned_fact(first: Part | Any, last: Part, facts: moments.Facts) -> Any | None:
    """After a line that holds: ``first = last`` as a fact when the first part names values
    not known yet and the last part is known (``P(H) = … = 0.625``)."""
    a_raw = first.expr if isinstance(first, Part) else first
    if not moments.has_stat(a_raw):
        return None
    a = _value(prepare(a_raw, facts))
    b = _value(prepare(last.expr, facts))
    if not facts.unknown(a) or facts.unknown(b):
        return None
    return a - b
