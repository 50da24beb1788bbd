"""Why a step is wrong: sign flip, constant factor, missing chain-rule factor, dropped or added term,
wrong exponent. Each test is a cheap numeric comparison; the first that fits is reported."""

from __future__ import annotations

from typing import Any

import sympy as sp

from mltutor.tools.equivalence import evaluate, numeric_compare
from mltutor.tools.render import plain


def _same(a: Any, b: Any) -> bool:
    return numeric_compare(a, b, samples=6).equal is True


def _constant_ratio(expected: Any, got: Any) -> Any | None:
    symbols = sorted(expected.free_symbols | got.free_symbols, key=str)
    if not symbols:
        ea, eg = evaluate(expected, {}), evaluate(got, {})
        if ea and eg:
            return sp.nsimplify(eg / ea, rational=True, tolerance=1e-9)
        return None
    ratios = []
    for k, v in enumerate(("3/10", "7/5", "-9/10", "2/3")):
        point = {s: sp.Rational(v) + sp.Rational(k * (i + 1), 37) for i, s in enumerate(symbols)}
        ea, eg = evaluate(expected, point), evaluate(got, point)
        if ea is None or eg is None or ea == 0:
            continue
        ratios.append(eg / ea)
    if len(ratios) < 2 or any(abs(r - ratios[0]) > 1e-9 * max(1.0, abs(r)) for r in ratios):
        return None
    return sp.nsimplify(ratios[0], rational=True, tolerance=1e-9)


def _inner_functions(expr: Any) -> list[Any]:
    """Arguments of applied functions and bases of powers: candidates for a chain-rule factor."""
    inner = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Function) or (
            isinstance(node, sp.Pow) and not node.exp.free_symbols
        ):
            args = [node.base] if isinstance(node, sp.Pow) else list(node.args)
            inner += [a for a in args if a.free_symbols and not a.is_Symbol]
        elif isinstance(node, sp.Pow) and node.base == sp.E:
            inner.append(node.exp)
    return inner


def diagnose(expected: Any, got: Any, source: Any = None) -> str | None:
    """A short reason ``got`` differs from ``expected``; ``source`` is the unevaluated left side."""
    try:
        if not expected.free_symbols and not got.free_symbols:
            return None  # numbers: the message already shows both values
        if _same(got, -expected):
            return "sign flipped: the result is the negative of the correct one"
        ratio = _constant_ratio(expected, got)
        if ratio is not None and ratio not in (0, 1):
            return f"off by a constant factor: the result is {plain(ratio)} times the correct one"
        if isinstance(source, sp.Derivative):
            var = source.variables[0]
            for g in _inner_functions(source.expr):
                factor = sp.diff(g, var)
                if factor.free_symbols and _same(got * factor, expected):
                    return (
                        f"missing chain-rule factor: multiply by d/d{var} ({plain(g)}) "
                        f"= {plain(factor)}"
                    )
        diff = sp.expand(expected - got)
        if len(sp.Add.make_args(diff)) == 1 and diff != 0:
            terms_expected = sp.Add.make_args(sp.expand(expected))
            if diff in terms_expected:
                return f"a term was dropped: {plain(diff)}"
            if -diff in sp.Add.make_args(sp.expand(got)):
                return f"a term was added: {plain(-diff)}"
        for p in got.atoms(sp.Pow):
            for q in expected.atoms(sp.Pow):
                if p.base == q.base and p.exp != q.exp and _same(got.xreplace({p: q}), expected):
                    return f"wrong exponent: {plain(p)} should be {plain(q)}"
        if len(sp.Add.make_args(diff)) == 1 and diff != 0:
            return f"the two sides differ by {plain(diff)}"
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        return None
    return None
