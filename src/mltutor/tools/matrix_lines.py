"""Which derivation lines need the matrix reading, and the matrix state lines pass on.

Apart from :mod:`mltutor.tools.matrix_steps` (which checks those lines on random matrices with
NumPy) so that a derivation without matrices imports neither it nor NumPy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.tools.matrix_parts import MatrixPart

Node = tuple[Any, ...]

_MARKER_RE = re.compile(
    r"\^\s*\{?\s*(?:T|\\top|\\intercal|⊤)\s*\}?(?![A-Za-z]*\()|ᵀ|⊤|‖|\\\||\\Vert|\|\|"
    r"|\\operatorname\s*\{\s*[Tt]r\s*\}|\\mathrm\s*\{\s*tr\s*\}|\\text\s*\{\s*tr\s*\}"
    r"|\b(?:tr|Tr|trace|det|logdet)\b|\\det\b|\\top\b|\\intercal\b"
)


@dataclass
class MatrixState:
    """Matrix definitions from earlier lines and the last part of the previous matrix line."""

    definitions: dict[str, Node] = field(default_factory=dict)
    last: MatrixPart | None = None


_STAT_CALL_RE = re.compile(r"\b(?:P|Pr|E|Var|Cov|p)\s*[(\[][^()\[\]]*[)\]]")
_CAPITAL_INVERSE_RE = re.compile(r"(?<![A-Za-z\\])[A-Z]\)?\s*(?:\^\s*\{?\s*-\s*1\s*\}?|⁻¹)")
_CAPITALS_RE = re.compile(
    r"(?<![A-Za-z\\])[A-Z](?:\s*⁻¹|\s*\^\s*\{?\s*-\s*1\s*\}?)?\s*[A-Z](?![A-Za-z])"
)


def is_matrix_line(line: str, state: MatrixState, no_scalar_last: bool) -> bool:
    """Whether the line needs the matrix reading: transposes, norms, traces, determinants, names
    of matrices defined earlier, or inverses of capital letters multiplied together (AB)⁻¹."""
    if _MARKER_RE.search(line):
        return True
    bare = _STAT_CALL_RE.sub(" ", line)
    if _CAPITAL_INVERSE_RE.search(bare) and _CAPITALS_RE.search(bare):
        return True
    stripped = line.lstrip()
    if stripped[:1] in ("=", "≈") and state.last is not None and no_scalar_last:
        return True
    return any(
        re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", line)
        for name in state.definitions
    )
