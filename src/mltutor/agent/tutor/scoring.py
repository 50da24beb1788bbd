"""Scoring best-of-N candidates: verified claims, supported citations, coverage of key points."""

from __future__ import annotations

import re
from typing import Any

from mltutor.agent.tutor.claims import Verification
from mltutor.tools.parsing.vocabulary import STOP_WORDS

_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'-]{3,}")
_STOP = STOP_WORDS


def cited_indices(text: str) -> list[int]:
    """Citation markers ``[1]``, ``[2]`` used in the text (1-based), in order, unique."""
    seen: list[int] = []
    for m in re.finditer(r"\[(\d{1,2})\]", text):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def _key_terms(hits: list[dict[str, Any]]) -> set[str]:
    terms: set[str] = set()
    for hit in hits[:2]:
        text = f"{hit.get('heading', '')} {hit.get('text', '')[:600]}"
        terms |= {w.lower() for w in _WORD_RE.findall(text) if w.lower() not in _STOP}
    return terms


def score(text: str, verification: Verification, hits: list[dict[str, Any]]) -> dict[str, float]:
    """Components in [0, 1] and their weighted total (``score``)."""
    # nothing checkable scores 0.7: neutral, below a verified answer
    verified = 1.0 - verification.failed / verification.checked if verification.checked else 0.7
    if (
        verification.failed
        and verification.tool_results_expected
        and verification.tool_results_stated < verification.tool_results_expected
    ):
        verified = min(verified, 0.3)
    used = cited_indices(text)
    if hits:
        valid = [n for n in used if 1 <= n <= len(hits)]
        citations = (len(valid) / len(used)) if used else 0.0
        if used and len(valid) == len(used):
            citations = 1.0
    else:
        citations = 1.0 if not used else 0.0
    terms = _key_terms(hits)
    words = {w.lower() for w in _WORD_RE.findall(text)}
    coverage = min(1.0, len(terms & words) / max(1, min(12, len(terms)))) if terms else 1.0
    total = 0.55 * verified + 0.25 * citations + 0.20 * coverage
    if not text.strip():
        total = 0.0
    return {
        "score": round(total, 4),
        "verified": round(verified, 4),
        "citations": round(citations, 4),
        "coverage": round(coverage, 4),
    }


def agree(a: str, b: str) -> bool:
    """Whether two candidates state the same mathematics (same checked claims), for early stop."""
    from mltutor.agent.tutor.claims import claims

    ca, cb = set(claims(a)), set(claims(b))
    if ca or cb:
        return bool(ca & cb) or ca == cb
    wa, wb = set(_WORD_RE.findall(a.lower())), set(_WORD_RE.findall(b.lower()))
    return len(wa & wb) / max(1, len(wa | wb)) > 0.6
