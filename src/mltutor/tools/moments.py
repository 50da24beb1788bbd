"""Expectations and probabilities in derivations, rewritten into unknowns that can be compared.

``E`` is linear (constants come out, ``E[c] = c``), ``Var(Z) = E[Z²] − E[Z]²``,
``Cov(Y, Z) = E[YZ] − E[Y]E[Z]``; ``P(A | B) = P(A ∩ B)/P(B)``, complements and unions by
inclusion-exclusion. What is left are atoms (``E[X^2]``, ``P(A ∩ B)``) that stand for unknown
numbers, so ``Var(aX + b) = a² Var(X)`` and Bayes' rule hold identically. Random variables are the
capital letters inside ``E[...]`` (all letters when there is no capital).

Values stated on earlier lines (``P(fair) = 0.5``, ``E[X] = μ``) are facts: equations in the
atoms, solved one unknown at a time, so later lines can be checked with numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from mltutor.tools.parsing.objects import (
    STAT_OBJECTS,
    Covariance,
    Event,
    Expect,
    Prob,
    Variance,
    decode_event,
)
from mltutor.tools.render import plain

_MAX_CLAUSES = 4


def has_stat(expr: Any) -> bool:
    """Whether ``expr`` contains an expectation, variance, covariance or probability."""
    return bool(expr.has(*STAT_OBJECTS))


def is_atom(symbol: Any) -> bool:
    """Whether a symbol stands for an expectation or probability (made by :func:`normalize`)."""
    name = str(symbol.name)
    return name.startswith(("E[", "P("))


def _random(arg: Any) -> set[Any]:
    syms = {s for s in arg.free_symbols if not is_atom(s)}
    caps = {s for s in syms if str(s.name)[:1].isupper() and str(s.name)[:1].isascii()}
    return caps or syms


def _atom(kind: str, text: str) -> Any:
    return sp.Symbol(f"{kind}[{text}]" if kind == "E" else f"P({text})", real=True)


def _moment(dep: Any, independent: bool) -> Any:
    """The atom ``E[dep]``; under independence a product of distinct variables factorises."""
    if independent and dep.is_Mul:
        groups: dict[Any, Any] = {}
        for factor in dep.args:
            base_syms = frozenset(factor.free_symbols)
            groups[base_syms] = groups.get(base_syms, sp.Integer(1)) * factor
        if len(groups) > 1 and all(len(k) == 1 for k in groups):
            return sp.Mul(*(_atom("E", plain(g)) for g in groups.values()))
    return _atom("E", plain(dep))


def _expect(arg: Any, independent: bool) -> Any:
    random = _random(arg)
    if not random:
        return arg
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(arg)):
        coeff, dep = term.as_independent(*random, as_Add=False)
        total += coeff if dep == 1 else coeff * _moment(dep, independent)
    return total


def _conj_prob(positives: frozenset[str], independent: bool) -> Any:
    if not positives:
        return sp.Integer(1)
    if independent and len(positives) > 1:
        return sp.Mul(*(_atom("P", p) for p in sorted(positives)))
    return _atom("P", " ∩ ".join(sorted(positives)))


def _clause_prob(clause: frozenset[tuple[str, bool]], independent: bool) -> Any:
    """P of an intersection of literals; negated ones by inclusion-exclusion."""
    pos = frozenset(n for n, neg in clause if not neg)
    negs = sorted({n for n, neg in clause if neg})
    if pos & set(negs):
        return sp.Integer(0)
    total = sp.Integer(0)
    for k in range(len(negs) + 1):
        for subset in itertools.combinations(negs, k):
            total += (-1) ** k * _conj_prob(pos | frozenset(subset), independent)
    return total


def _event_prob(event: list[frozenset[tuple[str, bool]]], independent: bool) -> Any:
    """P of a union of intersections by inclusion-exclusion."""
    if len(event) > _MAX_CLAUSES:
        raise ValueError("too many alternatives in one event")
    total = sp.Integer(0)
    for k in range(1, len(event) + 1):
        for group in itertools.combinations(event, k):
            merged = frozenset().union(*group)
            total += (-1) ** (k + 1) * _clause_prob(merged, independent)
    return total


def _clauses(event: Event) -> list[frozenset[tuple[str, bool]]]:
    return [frozenset(c) for c in event]


def _prob(args: tuple[Any, ...], independent: bool) -> Any:
    event = _clauses(decode_event(args[0]))
    if len(args) == 1:
        return _event_prob(event, independent)
    given = _clauses(decode_event(args[1]))
    joint = [a | b for a in event for b in given]
    return _event_prob(joint, independent) / _event_prob(given, independent)


def normalize(expr: Any, *, independent: bool = False) -> Any:
    """Rewrite every E/Var/Cov/P in ``expr`` into atoms, innermost first."""
    if not has_stat(expr):
        return expr
    args = tuple(normalize(a, independent=independent) for a in expr.args)
    if isinstance(expr, Variance):
        z = args[0]
        return _expect(z**2, independent) - _expect(z, independent) ** 2
    if isinstance(expr, Covariance):
        y, z = args
        return _expect(y * z, independent) - _expect(y, independent) * _expect(z, independent)
    if isinstance(expr, Expect):
        return _expect(args[0], independent)
    if isinstance(expr, Prob):
        return _prob(expr.args, independent)
    return expr.func(*args)


def atoms_of(expr: Any) -> set[Any]:
    """The atom symbols in a normalized expression."""
    return {s for s in expr.free_symbols if is_atom(s)}


@dataclass
class Facts:
    """Values of atoms stated on earlier lines, and equations not yet solved."""

    known: dict[Any, Any] = field(default_factory=dict)
    pending: list[Any] = field(default_factory=list)

    def apply(self, expr: Any) -> Any:
        """``expr`` with every known atom replaced by its value."""
        return expr.xreplace(self.known) if self.known else expr

    def unknown(self, expr: Any) -> set[Any]:
        """Atoms of ``expr`` whose value is not known."""
        return atoms_of(self.apply(expr))

    def learn(self, equation: Any) -> Facts:
        """A copy with ``equation = 0`` added and solved for what it determines."""
        known, pending = dict(self.known), [*self.pending, equation]
        progress = True
        while progress:
            progress = False
            for eq in list(pending):
                e = eq.xreplace(known)
                unknown = atoms_of(e)
                if not unknown:
                    pending.remove(eq)
                elif len(unknown) == 1:
                    (atom,) = unknown
                    value = _solve_linear(e, atom)
                    if value is not None:
                        known[atom] = value
                        pending.remove(eq)
                        progress = True
        return Facts(known, pending)


def _solve_linear(e: Any, atom: Any) -> Any | None:
    num = sp.numer(sp.together(e))
    slope = sp.diff(num, atom)
    if slope == 0 or atom in slope.free_symbols:
        return None
    return sp.cancel(-num.xreplace({atom: 0}) / slope)


def conditions(expr: Any) -> set[str]:
    """Single events only ever conditioned on in ``expr`` (``fair`` in ``P(H | fair)``), never
    themselves the event of a conditional probability: the candidate cases of total probability."""
    found: set[str] = set()
    events: set[str] = set()
    for node in expr.atoms(Prob):
        if len(node.args) == 2:
            event = decode_event(node.args[1])
            if len(event) == 1 and len(event[0]) == 1 and not event[0][0][1]:
                found.add(event[0][0][0])
            events |= {name for clause in decode_event(node.args[0]) for name, _ in clause}
    return found - events


def partitioned(expr: Any, cases: set[str], facts: Facts) -> Any:
    """``expr`` (normalized) with ``cases`` taken as a partition: P(X) = Σ_c P(X ∩ c) for X not
    mentioning a case, and P(X ∩ c ∩ d) = 0 for two different cases."""
    mapping = {}
    for atom in atoms_of(expr):
        name = str(atom.name)
        if not name.startswith("P("):
            continue
        names = set(name[2:-1].split(" ∩ "))
        inside = names & cases
        if len(inside) >= 2:
            mapping[atom] = sp.Integer(0)
        elif not inside:
            mapping[atom] = sp.Add(
                *(_atom("P", " ∩ ".join(sorted(names | {c}))) for c in sorted(cases))
            )
    return facts.apply(expr.xreplace(mapping))


def explain(expected: Any, got: Any) -> str | None:
    """The difference of two normalized sides as a multiple of one Var or Cov (``E[X²] = E[X]²``
    misses Var(X)); None when it is not one."""
    diff = sp.expand(expected - got)
    atoms = atoms_of(diff)
    if not atoms or diff == 0:
        return None
    firsts = {str(a.name)[2:-1] for a in atoms if str(a.name).startswith("E[")}
    names = sorted({n for n in firsts if n.isalnum()})
    candidates = [(f"Var({x})", _atom("E", f"{x}^2") - _atom("E", x) ** 2) for x in names]
    for x, y in itertools.combinations(names, 2):
        product = _atom("E", plain(sp.Symbol(x) * sp.Symbol(y)))
        candidates.append((f"Cov({x}, {y})", product - _atom("E", x) * _atom("E", y)))
    for label, value in candidates:
        ratio = sp.cancel(diff / value)
        if not ratio.free_symbols and ratio != 0:
            k = "" if ratio == 1 else f"{plain(ratio)}·"
            return f"the two sides differ by {k}{label}, which is not 0 in general"
    return None


def disjoint(expr: Any) -> Any:
    """``expr`` (normalized) with every probability of two or more events together set to 0."""
    mapping = {
        a: sp.Integer(0)
        for a in atoms_of(expr)
        if str(a.name).startswith("P(") and " ∩ " in str(a.name)
    }
    return expr.xreplace(mapping) if mapping else expr
