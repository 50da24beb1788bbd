"""Why a step is wrong: the common slips, each confirmed by a cheap numeric comparison.

Symbolic results: sign flipped, a missing chain-rule factor, the product or quotient rule misapplied,
differentiated instead of integrated (or the reverse), a constant factor (shown symbolically: ``ln 2``,
``1/2``, ``π``), the reciprocal, one term with the wrong sign, a term dropped or added, a wrong
exponent. Numbers: sign, reciprocal, complement (1 − p), square or square root, a power of ten, a
simple factor. The first test that fits is reported; none is reported when none fits.
"""

from __future__ import annotations

import random
from contextvars import ContextVar
from fractions import Fraction
from typing import Any

import sympy as sp

from mltutor.tools import moments
from mltutor.tools.equivalence import (
    evaluate,
    number_at,
    numeric_compare,
    restricting,
    sample_points,
    substitute_exactly,
)
from mltutor.tools.floateval import float_at
from mltutor.tools.render import plain

_CONSTANTS = [sp.pi, sp.E, sp.log(2), sp.log(10), sp.sqrt(2), sp.sqrt(sp.pi)]


_PROBE_POINTS = 4
_PROBE_TOL = 1e-8

# the domain of the step being diagnosed (the function differentiated, the claimed antiderivative)
_GUARDS: ContextVar[tuple[Any, ...]] = ContextVar("diagnosis_guards", default=())


def _defined(expr: Any, point: dict[Any, Any]) -> bool:
    try:
        return float_at(expr, {k: float(v) for k, v in point.items()}) is not None
    except NotImplementedError:
        return evaluate(expr, point) is not None


class _Probe:
    """A few points in the domain of the step where both sides are finite, and the values of every
    candidate explanation there (cached): each test costs a handful of evaluations."""

    def __init__(self, expected: Any, got: Any, guards: tuple[Any, ...]) -> None:
        self.cache: dict[Any, list[float] | None] = {}
        symbols = set(expected.free_symbols | got.free_symbols)
        for g in guards:
            symbols |= g.free_symbols
        self.points: list[dict[Any, Any]] = []
        for point in sample_points(sorted(symbols, key=str), random.Random(11)):
            if not (_defined(expected, point) and _defined(got, point)):
                continue
            if all(_defined(g, point) for g in guards):
                self.points.append(point)
                if len(self.points) == _PROBE_POINTS:
                    break
        self.float_points = [{k: float(v) for k, v in p.items()} for p in self.points]

    def values(self, expr: Any) -> list[float] | None:
        if expr not in self.cache:
            try:
                found = [float_at(expr, p) for p in self.float_points]
            except NotImplementedError:
                exact = substitute_exactly(expr)
                found = [_float(number_at(expr, p, 20, exact)) for p in self.points]
            usable = len(self.points) >= 3 and all(v is not None for v in found)
            self.cache[expr] = [v for v in found if v is not None] if usable else None
        return self.cache[expr]

    def same(self, a: Any, b: Any) -> bool:
        va, vb = self.values(a), self.values(b)
        if va is None or vb is None:
            return False
        return all(
            abs(x - y) <= _PROBE_TOL * max(1.0, abs(x), abs(y)) for x, y in zip(va, vb, strict=True)
        )


_PROBE: ContextVar[_Probe | None] = ContextVar("diagnosis_probe", default=None)


def _same(a: Any, b: Any) -> bool:
    probe = _PROBE.get()
    if probe is not None:
        return probe.same(a, b)
    return numeric_compare(a, b, samples=4, guards=_GUARDS.get()).equal is True


def _readable(r: Any) -> str:
    """A constant factor as a person would write it: ``1/2``, ``ln(2)``, ``1/π``, or a decimal."""
    text = plain(r).replace("log(", "ln(").replace("pi", "π")
    if len(text) <= 16:
        return text
    value = evaluate(r, {})
    return f"about {value:.4g}" if value is not None else text


def _symbolic_ratio(expected: Any, got: Any) -> Any | None:
    try:
        r = sp.cancel(sp.powsimp(sp.expand_power_base(got / expected, force=True), force=True))
    except (TypeError, ValueError, sp.PolynomialError):
        return None
    return r if not r.free_symbols else None


def _fraction(value: float, max_den: int = 1000) -> Any | None:
    f = Fraction(value).limit_denominator(max_den)
    if f and abs(float(f) - value) <= 1e-9 * max(1.0, abs(value)) and abs(f.numerator) <= 10**6:
        return sp.Rational(f.numerator, f.denominator)
    return None


def _recognise(value: float) -> Any | None:
    """A number as a short rational, or a short rational times or over π, e, ln 2, ln 10, √2, √π."""
    found = _fraction(value)
    if found is not None:
        return found
    for c in _CONSTANTS:
        times = _fraction(value / float(c), 24)
        if times is not None and times != 0:
            return times * c
        over = _fraction(value * float(c), 24)
        if over is not None and over != 0:
            return over / c
    return None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, OverflowError):
        return None


def _constant_ratio(expected: Any, got: Any) -> Any | None:
    probe = _PROBE.get()
    if probe is None:
        return None
    ve, vg = probe.values(expected), probe.values(got)
    if ve is None or vg is None:
        return None
    ratios = [g / e for e, g in zip(ve, vg, strict=True) if e != 0]
    if len(ratios) < 2 or any(abs(r - ratios[0]) > 1e-9 * max(1.0, abs(r)) for r in ratios):
        return None
    exact = _symbolic_ratio(expected, got)
    if exact is not None:
        value = evaluate(exact, {})
        if value is not None and abs(value - ratios[0]) <= 1e-9 * max(1.0, abs(value)):
            return exact
    return _recognise(ratios[0]) or sp.Float(ratios[0], 6)


def _factor_message(ratio: Any) -> str:
    if ratio.is_Rational or len(plain(ratio)) <= 6:
        return f"off by a constant factor: the result is {_readable(ratio)} times the correct one"
    inverse = sp.simplify(1 / ratio)
    if len(plain(inverse)) < len(plain(ratio)):
        return f"off by a constant factor: a factor {_readable(inverse)} is missing"
    return f"off by a constant factor: the result is {_readable(ratio)} times the correct one"


def _inner_functions(expr: Any) -> list[Any]:
    """Arguments of applied functions and bases of powers: candidates for a chain-rule factor."""
    inner = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Function) or (
            isinstance(node, sp.Pow) and not node.exp.free_symbols
        ):
            args = [node.base] if isinstance(node, sp.Pow) else list(node.args)
            inner += [a for a in args if a.free_symbols and not a.is_Symbol]
        elif isinstance(node, sp.Pow) and node.base.is_number:
            inner.append(node.exp)
    return inner


def _numbers(expected: Any, got: Any) -> str | None:
    e, g = _float(number_at(expected, {}, 20)), _float(number_at(got, {}, 20))
    if e is None or g is None or e == 0:
        return None
    literal = got.is_Rational and got.q > 1 and 10 ** len(str(got.q)) // 10 == got.q
    tol = (0.5 / float(got.q) if literal else 1e-9 * max(abs(e), 1.0)) * (1 + 1e-6)

    def near(candidate: float) -> bool:
        return abs(g - candidate) <= tol

    if near(-e):
        return "sign flipped: the result is the negative of the correct one"
    if near(1 / e):
        return "the result is the reciprocal of the correct one"
    if 0 < e < 1 and near(1 - e):
        return "the result is 1 minus the correct one (the complement)"
    if e > 0 and near(e**2):
        return "the result is the square of the correct one (a square root missing?)"
    if e > 0 and near(e**0.5):
        return "the result is the square root of the correct one (a square missing?)"
    for k in (1, 2, 3, -1, -2, -3):
        if near(e * 10.0**k):
            return f"off by a factor of 10^{k}: a misplaced decimal point or a percentage?"
    ratio = _fraction(g / e, 12)
    if ratio is not None and abs(ratio.p) <= 12:
        return f"off by a constant factor: the result is {ratio} times the correct one"
    return None


def _calculus(expected: Any, got: Any, source: Any, antiderivative: Any) -> str | None:
    if isinstance(source, sp.Derivative) and len(source.variables) == 1:
        var, f = source.variables[0], source.expr
        for g in _inner_functions(f):
            factor = sp.diff(g, var)
            if factor not in (0, 1) and _same(got * factor, expected):
                return f"missing chain-rule factor: multiply by d/d{var} ({plain(g)}) = {plain(factor)}"
        factors = [a for a in sp.Mul.make_args(f) if var in a.free_symbols]
        if len(factors) >= 2 and _same(got, sp.Mul(*(sp.diff(a, var) for a in factors))):
            return "product rule: d(uv) = u'v + uv', not u'v'"
        num, den = sp.fraction(sp.together(f))
        if var in den.free_symbols and var in num.free_symbols:
            if _same(got, sp.diff(num, var) / sp.diff(den, var)):
                return "quotient rule: d(u/v) = (u'v − uv')/v², not u'/v'"
            quotient_sign = (sp.diff(num, var) * den + num * sp.diff(den, var)) / den**2
            if _same(got, quotient_sign):
                return "quotient rule: the numerator is u'v − uv' (a minus sign, not a plus)"
        if _same(sp.diff(got, var), f):
            return "integrated instead of differentiating"
    if antiderivative is not None:
        integrand_var, claimed = antiderivative
        claimed = claimed.as_independent(integrand_var, as_Add=True)[1]  # without + C
        if _same(claimed, sp.diff(expected, integrand_var)):
            return "differentiated the integrand instead of integrating it"
    return None


def _whole_terms(expected: Any, got: Any) -> str | None:
    """A term of the result as written that is missing or extra: ``(x + 1)^3`` dropped whole."""
    for t in sp.Add.make_args(expected)[:6]:
        if len(sp.Add.make_args(expected)) > 1 and _same(got, expected - t):
            return f"a term was dropped: {plain(t)}"
    for t in sp.Add.make_args(got)[:6]:
        if len(sp.Add.make_args(got)) > 1 and t.free_symbols and _same(got - t, expected):
            return f"a term was added: {plain(t)}"
    return None


def _terms(expected: Any, got: Any) -> str | None:
    diff = sp.expand(expected - got)
    if len(sp.Add.make_args(diff)) > 1:
        combined = sp.cancel(expected - got)
        if len(sp.Add.make_args(combined)) == 1:
            diff = combined
    terms_expected = sp.Add.make_args(sp.expand(expected))
    if len(terms_expected) > 1:
        for t in terms_expected:
            if diff == 2 * t:
                return f"the sign of the term {plain(t)} is wrong"
    if len(sp.Add.make_args(diff)) == 1 and diff != 0:
        if diff in terms_expected:
            return f"a term was dropped: {plain(diff)}"
        if -diff in sp.Add.make_args(sp.expand(got)):
            return f"a term was added: {plain(-diff)}"
    whole = _whole_terms(expected, got) or _one_term(expected, got)
    if whole:
        return whole
    if len(sp.Add.make_args(diff)) == 1 and diff != 0 and len(plain(diff)) <= 40:
        return f"the two sides differ by {plain(diff)}"
    return None


def _exponent(expected: Any, got: Any) -> str | None:
    for p in got.atoms(sp.Pow):
        for q in expected.atoms(sp.Pow):
            if p.base == q.base and p.exp != q.exp and _same(got.xreplace({p: q}), expected):
                return f"wrong exponent: {plain(p)} should be {plain(q)}"
    return None


def _one_term(expected: Any, got: Any) -> str | None:
    """All terms agree but one: ``2x e^{x²}`` where ``4x² e^{x²}`` belongs."""
    te, tg = set(sp.Add.make_args(sp.expand(expected))), set(sp.Add.make_args(sp.expand(got)))
    only_e, only_g = te - tg, tg - te
    if len(te) > 1 and len(only_e) == 1 and len(only_g) == 1:
        (want,), (have,) = only_e, only_g
        if len(plain(want)) + len(plain(have)) <= 60:
            return f"the term {plain(have)} should be {plain(want)}"
    return None


def _simple_ratio(expected: Any, got: Any) -> str | None:
    """A short non-constant factor: ``a·Var(X)`` where ``a²·Var(X)`` belongs."""
    if sp.count_ops(got) + sp.count_ops(expected) > 24:
        return None
    try:
        r = sp.cancel(got / expected)
    except (TypeError, ValueError, sp.PolynomialError):
        return None
    simple = not r.atoms(sp.Function) and sp.count_ops(r) <= 3
    if r.free_symbols and simple and _same(got, r * expected):
        return f"off by a factor: the result is {_readable(r)} times the correct one"
    return None


def diagnose(
    expected: Any, got: Any, source: Any = None, antiderivative: tuple[Any, Any] | None = None
) -> str | None:
    """A short reason ``got`` differs from ``expected``; ``source`` is the unevaluated left side,
    ``antiderivative`` the (variable, claimed antiderivative) when the step is an integral."""
    if antiderivative is not None:
        var, claimed = antiderivative
        guards: tuple[Any, ...] = (claimed.as_independent(var, as_Add=True)[1],)
    elif isinstance(source, sp.Derivative):
        guards = (source.expr,)
    else:
        guards = ()
    token = _GUARDS.set(restricting(guards))
    probe = _PROBE.set(
        _Probe(expected, got, restricting(guards))
        if expected.free_symbols or got.free_symbols
        else None
    )
    try:
        if not expected.free_symbols and not got.free_symbols:
            return _numbers(expected, got)
        if _same(got, -expected):
            return "sign flipped: the result is the negative of the correct one"
        found = _calculus(expected, got, source, antiderivative)
        if found:
            return found
        ratio = _constant_ratio(expected, got)
        if ratio is not None and ratio not in (0, 1):
            return _factor_message(ratio)
        if _same(got * expected, sp.Integer(1)):
            return "the result is the reciprocal of the correct one"
        found = moments.explain(expected, got) or _exponent(expected, got)
        found = found or _simple_ratio(expected, got)
        found = found or _terms(expected, got)
        if found and antiderivative is not None and found.startswith("the term"):
            return f"after differentiating the antiderivative, {found}"
        return found
    except (TypeError, ValueError, AttributeError, ArithmeticError, sp.PolynomialError):
        return None
    finally:
        _GUARDS.reset(token)
        _PROBE.reset(probe)
