"""Sums in derivations: finite ones are written out, closed forms are computed, the rest are checked
for a few concrete lengths.

``\\sum_{i=1}^{3} x_i`` becomes ``x_1 + x_2 + x_3`` (the subscript follows the index), so it meets the
user's own ``x_1 + x_2 + x_3``; ``\\sum_{i=1}^{n} i`` becomes ``n(n + 1)/2``. A sum over indexed
values with a symbolic length (``Σ_i (w x_i - y_i)^2``) has no closed form: it is compared at
n = 2, 3 and 5 with random values, and ``x̄`` there means the mean of the ``x_i``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

_MAX_TERMS = 200
CONCRETE_LENGTHS = (2, 3, 5)


def has_sum(expr: Any) -> bool:
    """Whether ``expr`` contains a sum."""
    return bool(expr.has(sp.Sum))


def _renamed(symbol: Any, index: Any, value: int) -> Any:
    """``x_i`` at i = 3 is ``x_3``; ``a_ij`` at i = 2 is ``a_2j``; other symbols are kept."""
    name = str(symbol.name)
    idx = str(index.name)
    if "_" not in name:
        return symbol
    base, sub = name.split("_", 1)
    if sub == idx:
        new_sub = str(value)
    elif len(idx) == 1 and idx in sub and sub.isalnum() and len(sub) <= 3:
        new_sub = sub.replace(idx, str(value))
    else:
        return symbol
    return sp.Symbol(f"{base}_{new_sub}", **symbol.assumptions0)


def tied_symbols(body: Any, index: Any) -> set[Any]:
    """Symbols of ``body`` whose subscript follows ``index`` (``x_i`` for index ``i``)."""
    return {s for s in body.free_symbols if s != index and _renamed(s, index, 0) != s}


def _term(body: Any, index: Any, value: int) -> Any:
    mapping = {s: _renamed(s, index, value) for s in tied_symbols(body, index)}
    mapping[index] = sp.Integer(value)
    return body.xreplace(mapping)


def _finite_bounds(lo: Any, hi: Any) -> tuple[int, int] | None:
    if lo.is_Integer and hi.is_Integer and int(hi) - int(lo) <= _MAX_TERMS:
        return int(lo), int(hi)
    return None


def _expand_one(node: Any) -> Any:
    body, (index, lo, hi) = node.function, node.limits[0]
    bounds = _finite_bounds(lo, hi)
    if bounds is not None and len(node.limits) == 1:
        return sp.Add(*(_term(body, index, k) for k in range(bounds[0], bounds[1] + 1)))
    if not tied_symbols(body, index):
        done = node.doit()
        return _first_branch(done) if isinstance(done, sp.Piecewise) else done
    return node


def _first_branch(pw: Any) -> Any:
    """A geometric-type series: keep the convergent branch (its condition becomes a guard)."""
    value, cond = pw.args[0]
    if isinstance(value, sp.Sum) or not isinstance(cond, sp.core.relational.Relational):
        return pw
    return value


def convergence_guards(expr: Any) -> list[Any]:
    """Expressions real exactly where the convergent branch of a closed-form series applies."""
    guards = []
    for pw in expr.atoms(sp.Piecewise):
        cond = pw.args[0][1]
        if isinstance(cond, sp.StrictLessThan | sp.LessThan):
            guards.append(sp.sqrt(cond.rhs - cond.lhs))
        elif isinstance(cond, sp.StrictGreaterThan | sp.GreaterThan):
            guards.append(sp.sqrt(cond.lhs - cond.rhs))
    return guards


def expand_sums(expr: Any) -> Any:
    """Write out finite sums and compute closed forms, innermost first; others are kept."""
    if not expr.has(sp.Sum):
        return expr
    if isinstance(expr, sp.Sum):
        inner = expr.func(expand_sums(expr.function), *expr.limits)
        return _expand_one(inner)
    if not expr.args:
        return expr
    return expr.func(*(expand_sums(a) for a in expr.args))


def series_guards(expr: Any) -> list[Any]:
    """Guards for infinite series that have a closed form only on part of the line."""
    guards = []
    for node in expr.atoms(sp.Sum):
        if node.limits[0][2] is sp.oo or node.limits[0][1] is -sp.oo:
            done = node.doit()
            if isinstance(done, sp.Piecewise):
                guards += convergence_guards(done)
    return guards


def open_sums(expr: Any) -> bool:
    """Whether sums of symbolic length over indexed values remain."""
    return bool(expr.has(sp.Sum))


def lengths(expr: Any) -> set[Any]:
    """The symbols that give the length of the remaining sums (``n`` in ``Σ_{i=1}^{n}``)."""
    found: set[Any] = set()
    for node in expr.atoms(sp.Sum):
        for _, lo, hi in node.limits:
            found |= (lo.free_symbols | hi.free_symbols) - {node.limits[0][0]}
    return found


def at_length(exprs: list[Any], n_symbols: set[Any], n: int) -> list[Any]:
    """``exprs`` with every sum length set to ``n`` and the sums written out; ``x̄`` is the mean of
    the ``x_k`` when those appear."""
    fixed = [expand_sums(e.xreplace({s: sp.Integer(n) for s in n_symbols})) for e in exprs]
    present: set[Any] = set()
    for e in fixed:
        present |= e.free_symbols
    means = {}
    for s in present:
        name = str(s.name)
        if name.endswith("bar") and len(name) > 3:
            base = name[:-3]
            terms = [sp.Symbol(f"{base}_{k}", **s.assumptions0) for k in range(1, n + 1)]
            if any(t in present for t in terms):
                means[s] = sp.Add(*terms) / n
    return [e.xreplace(means) for e in fixed] if means else fixed


def indexed_derivative(expr: Any) -> int | None:
    """``∂/∂ŷ_3 Σ_i (y_i − ŷ_i)²``: a derivative with respect to one term of an open sum. Returns
    the largest such term number (the sums must be at least that long), None when there is none.
    Raises ValueError for ``∂/∂ŷ_i`` with the sum's own index, which names no single term."""
    largest = None
    for node in expr.atoms(sp.Derivative):
        bases: dict[str, Any] = {}
        for s in node.expr.atoms(sp.Sum):
            index = s.limits[0][0]
            for t in tied_symbols(s.function, index):
                bases[str(t.name).split("_", 1)[0]] = index
        for var in node.variables:
            name = str(var.name)
            if "_" not in name:
                continue
            base, sub = name.split("_", 1)
            if base not in bases:
                continue
            if not sub.isdigit():
                raise ValueError(f"the derivative with respect to {name} inside a sum over {sub}")
            largest = max(largest or 0, int(sub))
    return largest
