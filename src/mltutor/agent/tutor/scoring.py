"""Scoring best-of-N candidates: verified formulas, statements the notes support, valid citations.

Statements contradicted by the notes weigh most: a fluent answer that says something false must lose
to a plainer one that does not. Vocabulary overlap is not a score component: it rewards an answer for
repeating the notes' words, right or wrong.
"""

from __future__ import annotations

import re

from mltutor.agent.events import Citation
from mltutor.agent.tutor.claims import claims
from mltutor.agent.tutor.records import VerificationRecord
from mltutor.tools.parsing.vocabulary import STOP_WORDS

_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'-]{3,}")

WEIGHTS = {"formulas": 0.40, "statements": 0.40, "citations": 0.20}
"""How the components add up to a candidate's score."""


def cited_indices(text: str) -> list[int]:
    """Citation markers ``[1]``, ``[2]`` used in the text (1-based), in order, unique."""
    seen: list[int] = []
    for m in re.finditer(r"\[(\d{1,2})\]", text):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def score(text: str, verification: VerificationRecord, hits: list[Citation]) -> dict[str, float]:
    """Components in [0, 1] and their weighted total (``score``)."""
    v = verification
    # nothing checkable is neutral (0.7): below a verified answer, above a wrong one
    formulas = 1.0 - v.claims_failed / v.claims_checked if v.claims_checked else 0.7
    if v.claims_failed and v.tool_results_stated < v.tool_results_expected:
        formulas = min(formulas, 0.3)
    checked = len(v.statements)
    if checked:
        supported, contradicted = v.count("supported"), v.count("contradicted")
        statements = max(0.0, (supported + 0.5 * (checked - supported - contradicted)) / checked)
        statements = max(0.0, statements - 0.5 * contradicted)
    else:
        statements = 0.7
    used = cited_indices(text)
    if hits:
        valid = [n for n in used if 1 <= n <= len(hits)]
        citations = (len(valid) / len(used)) if used else 0.5
    else:
        citations = 1.0 if not used else 0.0
    total = (
        WEIGHTS["formulas"] * formulas
        + WEIGHTS["statements"] * statements
        + WEIGHTS["citations"] * citations
    )
    if not text.strip():
        total = 0.0
    return {
        "score": round(total, 4),
        "formulas": round(formulas, 4),
        "statements": round(statements, 4),
        "citations": round(citations, 4),
    }


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in STOP_WORDS}


def agree(a: str, b: str) -> bool:
    """Whether two candidates' own texts say the same thing (for best-of-N's early stop).

    Compare what the model wrote, never mltutor's shared lead (a computed result or note excerpt
    that opens every candidate): otherwise any two candidates "agree".
    """
    if not a.strip() or not b.strip():
        return False
    ca, cb = set(claims(a)), set(claims(b))
    if (ca or cb) and ca != cb and not (ca & cb):
        return False
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(1, len(wa | wb)) > 0.5
