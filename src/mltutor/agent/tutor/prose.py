"""Checking the model's prose against the notes, sentence by sentence.

Interview questions are mostly conceptual, so checking only formulas leaves most of an answer
unchecked. Each sentence the model wrote itself (not our lead, not a formula line) goes through the
grader's statement check against the retrieved note texts: supported, unsupported (the model's own
words), or contradicted (removed from the answer, like a formula that fails).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from mltutor.agent.events import Citation
from mltutor.agent.tutor.records import StatementCheck

MAX_SENTENCES = 14
"""Sentences checked per candidate (the rest count as not checked)."""

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-ZА-ЯЁ(\"«*])|\n+")
_MATHY_RE = re.compile(r"^\s*(?:\$\$|\\\[|`)|^[^A-Za-zА-Яа-яЁё]*$")
_WORDS_RE = re.compile(r"[A-Za-zА-Яа-яЁё]{2,}")


class StatementChecker(Protocol):
    """What the tutor needs from the grader: sentence-level verdicts against evidence texts."""

    def check_statements(
        self, sentences: list[str], evidence: list[str], *, language: str | None = None
    ) -> Sequence[Any]:
        """One verdict per sentence (objects with sentence, verdict, evidence, source, reason)."""
        ...


def split_sentences(line: str) -> list[str]:
    """The sentences of one line of text (not split after "e.g.", "i.e.", "т.е.", "Dr.")."""
    return [p for p in _SENTENCE_SPLIT_RE.split(line) if p.strip()]


_SENTENCE_SPLIT_RE = re.compile(
    r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<!\bDr\.)(?<!т\.е\.)(?<!напр\.)(?<!т\.к\.)"
    r"(?<=[.!?])\s+(?=[A-ZА-ЯЁ$\\(])"
)


def sentences_of(text: str) -> list[str]:
    """The prose sentences of a text worth checking (formula lines and fragments left out)."""
    out: list[str] = []
    for raw in _SENTENCE_RE.split(text):
        s = raw.strip().lstrip("-*•>#").strip()
        if not s or _MATHY_RE.search(s):
            continue
        if len(_WORDS_RE.findall(s)) < 4:  # "Source: [1] …", headings, fragments
            continue
        if s.startswith(("Source:", "Источник:", "*(")):
            continue
        out.append(s)
    return out


def check_prose(
    own_text: str,
    hits: list[Citation],
    checker: StatementChecker | None,
    language: str | None,
) -> list[StatementCheck]:
    """Verdicts for the model's own sentences; none when there is no checker or no evidence."""
    if checker is None or not hits:
        return []
    sentences = sentences_of(own_text)[:MAX_SENTENCES]
    if not sentences:
        return []
    try:
        verdicts = checker.check_statements(sentences, [h.text for h in hits], language=language)
    except Exception:  # the check is an aid: a failure in it must not fail the answer
        return []
    out = []
    for v in verdicts:
        source = getattr(v, "source", None)
        out.append(
            StatementCheck(
                sentence=str(getattr(v, "sentence", "")),
                verdict=getattr(v, "verdict", "unsupported"),
                evidence=str(getattr(v, "evidence", ""))[:400],
                source=source if isinstance(source, int) else None,
                reason=str(getattr(v, "reason", "")),
            )
        )
    return out


__all__ = ["StatementChecker", "check_prose", "sentences_of"]
