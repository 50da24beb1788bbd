"""SymPy objects for notation that is not a plain function: ``E[X]``, ``Var(X)``, ``Cov(X, Y)``,
``P(A | B)``.

They stay unevaluated: the checker rewrites them (linearity of expectation, Bayes' rule) before it
compares two sides, and everything else treats them as unknowns it cannot evaluate.

An event inside ``P(...)`` is a symbol whose name is its canonical text: literals joined by `` ∩ ``
(sorted), clauses joined by `` ∪ ``, a negated literal starts with ``¬`` (``P(A, B)``, ``P(A and B)``,
``P(B ∩ A)`` are one event ``A ∩ B``).
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

AND, OR, NOT = " ∩ ", " ∪ ", "¬"


class Expect(sp.Function):  # type: ignore[misc]
    """``E[X]``: expectation of its argument."""

    nargs = 1

    def _sympystr(self, printer: Any) -> str:
        return f"E[{printer.doprint(self.args[0])}]"

    def _latex(self, printer: Any) -> str:
        return rf"\mathbb{{E}}\left[{printer.doprint(self.args[0])}\right]"


class Variance(sp.Function):  # type: ignore[misc]
    """``Var(X)``."""

    nargs = 1

    def _sympystr(self, printer: Any) -> str:
        return f"Var({printer.doprint(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{Var}}\left({printer.doprint(self.args[0])}\right)"


class Covariance(sp.Function):  # type: ignore[misc]
    """``Cov(X, Y)``."""

    nargs = 2

    def _sympystr(self, printer: Any) -> str:
        a, b = (printer.doprint(x) for x in self.args)
        return f"Cov({a}, {b})"

    def _latex(self, printer: Any) -> str:
        a, b = (printer.doprint(x) for x in self.args)
        return rf"\operatorname{{Cov}}\left({a}, {b}\right)"


class Prob(sp.Function):  # type: ignore[misc]
    """``P(A)`` (one argument) or ``P(A | B)`` (two): arguments are event symbols."""

    nargs = (1, 2)

    def _sympystr(self, printer: Any) -> str:
        names = [str(a) for a in self.args]
        return f"P({' | '.join(names)})"

    def _latex(self, printer: Any) -> str:
        names = [str(a).replace("∩", r"\cap").replace("∪", r"\cup") for a in self.args]
        inner = r" \mid ".join(names)
        return rf"P\left({inner}\right)"


STAT_OBJECTS = (Expect, Variance, Covariance, Prob)

# -- events ---------------------------------------------------------------------------------------

Literal = tuple[str, bool]
"""(name, negated)"""
Event = tuple[tuple[Literal, ...], ...]
"""A union of intersections of literals."""

_WRAPPER_RE = re.compile(
    r"\\(?:text|mathrm|operatorname|textrm|mathit|mathbf|mathsf)\s*\{([^{}]*)\}"
)
_SPACING_RE = re.compile(r"\\(?:left|right|big|Big|bigl|bigr|,|;|:|!|quad|qquad)|\s+")
_RELATIONS = [
    (r"\leqslant", "≤"),
    (r"\geqslant", "≥"),
    (r"\leq", "≤"),
    (r"\geq", "≥"),
    (r"\le", "≤"),
    (r"\ge", "≥"),
    (r"\lt", "<"),
    (r"\gt", ">"),
    (r"\neq", "≠"),
    (r"\ne", "≠"),
    ("<=", "≤"),
    (">=", "≥"),
    ("!=", "≠"),
    ("−", "-"),
]
_OR_RE = re.compile(r"\s*(?:∪|\\cup|∨|\\vee|\\lor|\bor\b)\s*")
_AND_RE = re.compile(r"\s*(?:∩|\\cap|∧|\\wedge|\\land|,|\band\b)\s*")
_NOT_PREFIX_RE = re.compile(r"^(?:¬|\\neg|\\lnot|not\b|!)\s*")
_NOT_SUFFIX_RE = re.compile(r"(?:\^\{?[cC∁]\}?|'|ᶜ)$")
_BAR_RE = re.compile(r"^\\(?:bar|overline)\s*\{(.*)\}$")


def _literal(text: str) -> Literal:
    text = text.strip()
    negated = False
    while True:
        m = _NOT_PREFIX_RE.match(text)
        if m:
            negated, text = not negated, text[m.end() :].strip()
            continue
        m2 = _BAR_RE.match(text)
        if m2:
            negated, text = not negated, m2.group(1).strip()
            continue
        m3 = _NOT_SUFFIX_RE.search(text)
        if m3 and m3.start() > 0:
            negated, text = not negated, text[: m3.start()].strip()
            continue
        break
    for old, new in _RELATIONS:
        text = text.replace(old, new)
    text = _SPACING_RE.sub("", _WRAPPER_RE.sub(r"\1", text))
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1]
    return text, negated


def _split_top(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split at matches of ``pattern`` outside brackets."""
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = pattern.match(text, i)
            if m and m.end() > i and (m.group(0).strip() or m.start() > start):
                parts.append(text[start : m.start()])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_event(text: str) -> Event:
    """The event written inside ``P( ... )`` (one side of ``|``), as a union of intersections."""
    clauses = []
    for clause in _split_top(text, _OR_RE):
        lits = tuple(sorted({_literal(p) for p in _split_top(clause, _AND_RE)}))
        if not lits or any(not name for name, _ in lits):
            raise ValueError(f"cannot read the event {text.strip()!r}")
        clauses.append(lits)
    if not clauses:
        raise ValueError("an empty event")
    return tuple(sorted(set(clauses)))


def event_name(event: Event) -> str:
    """Canonical text of an event (the name of its symbol)."""
    return OR.join(
        AND.join(f"{NOT if neg else ''}{name}" for name, neg in clause) for clause in event
    )


def event_symbol(event: Event) -> sp.Symbol:
    """The symbol standing for an event inside ``Prob``."""
    return sp.Symbol(event_name(event))


def decode_event(symbol: Any) -> Event:
    """Inverse of :func:`event_symbol`."""
    clauses = []
    for clause in str(symbol.name).split(OR):
        lits = []
        for lit in clause.split(AND):
            lits.append((lit[1:], True) if lit.startswith(NOT) else (lit, False))
        clauses.append(tuple(sorted(lits)))
    return tuple(sorted(clauses))
