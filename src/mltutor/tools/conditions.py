"""Conditions written after a step: ``= 1 for x > 0``, ``if |x| < 1``, ``where a, b > 0``.

The clause is blanked out of the math (see :func:`mltutor.tools.steps.clean`), but not forgotten:
simple comparisons become guards (sample points must satisfy them), words the checker knows
(``independent``, ``symmetric``, ``for all x``) are honoured by the caller, and a condition it cannot
read means the step is never called wrong (it may hold under that condition).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing import parse_math

CLAUSE_RE = re.compile(r"[,;]?\s*\b(for|if|when|where|with)\b\s+([^=]*)$")
_TEXT_WORD_RE = re.compile(
    r"\\(?:text|mathrm|textrm)\s*\{\s*((?:for|if|when|where|with|and|all|is|are)\b[A-Za-z ]*)\}"
)
_SPLIT_RE = re.compile(r",\s*(?=[^,]*[<>≤≥≠])|\band\b|\\land|∧|;")
_RELATION_RE = re.compile(r"(<=|>=|≤|≥|<|>|≠|!=|\\leq?|\\geq?|\\lt|\\gt|\\neq?)")
_KNOWN_WORDS = re.compile(
    r"^(?:all|every|any|each)\b|independen|uncorrelated|\bi\.?i\.?d\b|symmetric|⊥|\\perp"
    r"|disjoint|exclusive",
    re.IGNORECASE,
)
_LESS = {"<", "≤", "<=", "\\le", "\\leq", "\\lt"}
_GREATER = {">", "≥", ">=", "\\ge", "\\geq", "\\gt"}


@dataclass
class Condition:
    """What a clause says, as far as the checker can read it."""

    text: str
    """The clause as written, without the keyword."""
    guards: list[Any] = field(default_factory=list)
    """Expressions that are real exactly where the condition holds (``sqrt(x)`` for x > 0)."""
    understood: bool = True
    """False when part of the clause could not be read."""
    symmetric: bool = False
    """The clause says the matrices are symmetric."""
    disjoint: bool = False
    """The clause says the events are disjoint (mutually exclusive)."""


def unwrap_words(line: str) -> str:
    """``\\text{ for }`` as `` for `` padded to the same width (columns are kept)."""

    def plain(m: re.Match[str]) -> str:
        word = f" {m.group(1).strip()} "
        return word.ljust(len(m.group(0)))

    return _TEXT_WORD_RE.sub(plain, line)


def _comparison(piece: str, limits: ToolLimits) -> list[Any] | None:
    parts = _RELATION_RE.split(piece)
    if len(parts) < 3 or len(parts) % 2 == 0:
        return None
    guards: list[Any] = []
    for k in range(0, len(parts) - 2, 2):
        left, op, right = parts[k], parts[k + 1], parts[k + 2]
        try:
            rights = [parse_math(right, limits=limits)]
            lefts = [parse_math(t, limits=limits) for t in left.split(",")] if k == 0 else None
            lefts = lefts or [parse_math(left, limits=limits)]
        except ToolError:
            return None
        for lhs in lefts:
            if op in _LESS:
                guards.append(sp.sqrt(rights[0] - lhs))
            elif op in _GREATER:
                guards.append(sp.sqrt(lhs - rights[0]))
    return guards


def read(line: str, limits: ToolLimits) -> Condition | None:
    """The condition clause of a line, or None when it has none."""
    m = CLAUSE_RE.search(unwrap_words(line))
    if m is None:
        return None
    text = m.group(2).strip().rstrip(".")
    condition = Condition(text)
    for piece in (p.strip() for p in _SPLIT_RE.split(text) if p and p.strip()):
        if re.search(r"symmetric", piece, re.IGNORECASE):
            condition.symmetric = True
        if re.search(r"disjoint|exclusive", piece, re.IGNORECASE):
            condition.disjoint = True
        if _KNOWN_WORDS.search(piece) or re.fullmatch(r"\\?[A-Za-zα-ωΑ-Ω][\w{}]*", piece):
            continue  # a known word, or a bare name continuing a list ("A and B")
        if re.fullmatch(r"(?:positive|nonnegative)\s+\w+|\w+\s+(?:positive|nonnegative)", piece):
            name = piece.replace("positive", "").replace("nonnegative", "").strip()
            found = _comparison(f"{name} > 0", limits)
        else:
            found = _comparison(piece, limits)
        if found is None:
            condition.understood = False
        else:
            condition.guards += [g for g in found if g.free_symbols]
    return condition
