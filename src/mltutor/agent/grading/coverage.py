"""Does the answer state a key point? Embedding similarity, lexical overlap and formula matching.

For each key point the best-matching stretch of the answer (a sentence, or two neighbouring
sentences) is found with the bundled multilingual embedder; the score mixes how close that stretch
is in meaning with how many of the key point's own words (stems, swap-group terms) the answer uses,
and a formula of the key point written in the answer counts as covering it. Scores are in [0, 1];
the weights and the ramp were tuned on the ``tune`` split of the grading set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from mltutor.agent.grading.text import analyse, recall
from mltutor.agent.grading.traps import normalize

Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]

EMBED_LOW, EMBED_HIGH = 0.25, 0.75
"""Cosine below ``EMBED_LOW`` says nothing; at ``EMBED_HIGH`` and above the stretch restates the point."""
WEIGHT_EMBED, WEIGHT_LEXICAL = 0.5, 0.5
"""How meaning and wording add up when the answer is in the key point's language."""
COVERED = 0.5
"""Coverage at which a key point counts as covered."""
FORMULA_COVERS = 0.9
"""Coverage given by a key point's formula found in the answer."""


@dataclass(frozen=True)
class Coverage:
    """How well the answer states one key point."""

    score: float
    """In [0, 1]."""
    evidence: str
    """The answer's stretch that states it best."""
    index: int
    """Index of that stretch among the answer's stretches."""


def stretches(sentences: list[str]) -> list[str]:
    """Sentences and pairs of neighbouring sentences (a point is often made across two)."""
    out = list(sentences)
    out += [f"{a} {b}" for a, b in pairwise(sentences)]
    return out


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def _flat(text: str) -> str:
    key = re.sub(r"[\s{}\\$*·_]|\bj\b|\bi\b", "", normalize(text)).replace("ς", "σ")
    return key.replace("^2", "²").replace("∑", "σ").replace("lambda", "λ").replace("sum", "σ")


_SYMBOLIC = re.compile(r"[α-ωΣ∑|²^∇∂√]")


def _formula_keys(text: str) -> list[str]:
    """Whole equalities of a key point, and formula-like runs with a Greek letter or an operator
    such as ``λΣ|w|`` (a bare fraction like ``TP/(TP`` is not specific enough)."""
    from mltutor.agent.grading.text import inline_formulas

    keys = [_flat(f) for f in inline_formulas(text)]
    for run in re.findall(r"[^\s,;:]+", text):
        if _SYMBOLIC.search(run) and len(_flat(run)) >= 4:
            keys.append(_flat(run))
    return [k for k in keys if len(k) >= 4]


def formula_stated(point: str, answer: str) -> bool:
    """A formula of the key point appears in the answer (spacing, ``^2``/``²``, indices ignored)."""
    if not any(ch in answer for ch in "=Σ∑|²^λ∇∂√"):
        return False  # nothing formula-like in the answer: no need to read the point's formulas
    keys = _formula_keys(point)
    if not keys:
        return False
    flat = _flat(answer)
    return any(k in flat for k in keys)


def cover(
    points: list[str],
    answer: str,
    pieces: list[str],
    *,
    point_vectors: npt.NDArray[np.float32],
    piece_vectors: npt.NDArray[np.float32],
    same_language: bool,
) -> list[Coverage]:
    """Coverage of each key point by the answer (``pieces`` are its :func:`stretches`)."""
    if not pieces or not answer.strip():
        return [Coverage(0.0, "", -1) for _ in points]
    sims = point_vectors @ piece_vectors.T  # (points, pieces)
    answer_tokens = analyse(answer).tokens
    out: list[Coverage] = []
    for i, point in enumerate(points):
        j = int(np.argmax(sims[i]))
        meaning = _ramp(float(sims[i, j]), EMBED_LOW, EMBED_HIGH)
        if same_language:
            wording = recall(analyse(point).tokens, answer_tokens)
            score = WEIGHT_EMBED * meaning + WEIGHT_LEXICAL * wording
        else:
            score = meaning
        if formula_stated(point, answer):
            score = max(score, FORMULA_COVERS)
        # the evidence shown: the stretch closest in meaning and wording (scoring is unchanged)
        if same_language:
            words = analyse(point).tokens
            j = max(
                range(len(pieces)),
                key=lambda k: float(sims[i, k]) + recall(words, analyse(pieces[k]).tokens),
            )
        out.append(Coverage(round(min(1.0, score), 4), pieces[j], j))
    return out


__all__ = ["COVERED", "Coverage", "Embed", "cover", "formula_stated", "stretches"]
