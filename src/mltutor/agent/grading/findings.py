"""What a contradiction check reports (shared by the lexical checks and the tutor's prose check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["swap", "negation", "number", "misconception", "formula"]


@dataclass(frozen=True)
class Contradiction:
    """A sentence of the answer that says the opposite of the reference."""

    sentence: str
    """The answer's sentence (or clause) as written."""
    reference: str
    """The reference text it contradicts."""
    reason: str
    """Why, in words: "says L2 where the reference says L1"."""
    kind: Kind
    """Which check found it."""


__all__ = ["Contradiction", "Kind"]
