"""Leading with what we know is right: our own notes' text for the question, before the model writes.

When the question matches a bank question with confidence (the grader's rubric matcher decides, with
its calibrated threshold) the answer opens with that question's reference answer, in the question's
language; when the best retrieved section's heading is what was asked ("что такое бутстрап" and
"## Бутстрап: что это такое…"), it opens with that section's first paragraphs. Either way the text is
marked as coming from the notes and cited. With no confident match there is no lead and the model
composes from the evidence as before. A question under evaluation or open in an interview is
excluded: its reference answer must never lead (nor be retrieved).

The evidence the model sees is narrowed to what matches the question, so an answer cannot drift into
another question's chunk (the p-value answer that wandered into Benjamini-Hochberg).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Literal

from mltutor.agent.events import Citation
from mltutor.agent.tutor.records import Lead
from mltutor.knowledge.questions import Question
from mltutor.tools.parsing.vocabulary import STOP_WORDS

BankMatch = Callable[[str], tuple[str, float, bool] | None]
"""The nearest bank question: (question id, score, confident) or None. ``confident`` is the
grader's own calibrated decision; a close but unconfident guess leads only when retrieval agrees."""
BankLookup = Callable[[str], Question | None]
"""A bank question by id."""

MAX_LEAD_CHARS = 900
"""A lead is trimmed to about this many characters, at a sentence boundary."""

_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё0-9'-]+|\b[A-Za-z]\d\b")
_CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")
_NUMBER_RE = re.compile(r"(?<![A-Za-zА-Яа-яЁё_])\d")
_GENERIC = frozenset(
    "what why how when explain describe define difference between does mean meaning такое зачем "
    "почему как что объясни объясните опишите чем отличается разница между означает".split()
)

HEADERS = {
    "en": "**From our notes** ([{n}] {label}):",
    "ru": "**Из наших конспектов** ([{n}] {label}):",
}


def language_of(text: str, setting: str = "auto") -> Literal["en", "ru"]:
    """The answer language: the setting if fixed, else the question's script."""
    if setting in ("en", "ru"):
        return "en" if setting == "en" else "ru"
    return "ru" if _CYRILLIC_RE.search(text) else "en"


def _stems(text: str) -> set[str]:
    words = (w.lower() for w in _WORD_RE.findall(text))
    return {w[:5] for w in words if len(w) >= 2 and w not in STOP_WORDS and w not in _GENERIC}


def heading_answers(question: str, heading: str) -> bool:
    """Whether a section heading names what the question asks about (most of its content words)."""
    title = heading.split(">")[-1]
    asked, named = _stems(question), _stems(title)
    if not asked or not named:
        return False
    return len(asked & named) / len(asked) >= 0.6


def trim(text: str, max_chars: int = MAX_LEAD_CHARS) -> str:
    """The first paragraphs of a section, cut at a sentence boundary."""
    text = re.sub(r"^#+\s.*$", "", text, flags=re.MULTILINE).strip()
    text = re.sub(r"^(?:Interview question|Вопрос):.*$", "", text, flags=re.MULTILINE).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind(". "), cut.rfind(".\n"), cut.rfind("? "), cut.rfind("! "))
    return (cut[: end + 1] if end > max_chars // 3 else cut.rsplit(" ", 1)[0] + " …").strip()


def choose_lead(
    question: str,
    hits: list[Citation],
    *,
    language: Literal["en", "ru"],
    bank_match: BankMatch | None,
    lookup: BankLookup | None,
    exclude_question_ids: Collection[str] = (),
) -> tuple[Lead | None, list[Citation]]:
    """The notes lead (or None) and the hits reordered so the lead's source is citation [1]."""
    match = bank_match(question) if bank_match is not None else None
    if match is not None and not match[2] and not corroborated(question, match[0], hits):
        match = None
    if match is not None and lookup is not None:
        qid, confidence, _ = match
        bank_q = lookup(qid) if qid not in exclude_question_ids else None
        if bank_q is not None:
            source = next(
                (h for h in hits if h.question_id == qid and h.language == language),
                next((h for h in hits if h.question_id == qid), None),
            )
            if source is None:
                source = Citation(
                    label=f"{bank_q.topic} § Q: {bank_q.text_in(language)[:60]}",
                    topic=bank_q.topic,
                    heading=f"Q: {bank_q.text_in(language)}",
                    source=f"notes/{bank_q.topic}.md",
                    score=confidence,
                    text=bank_q.reference_in(language),
                    kind="question",
                    question_id=qid,
                    language=language,
                )
            ordered = [source, *[h for h in hits if h is not source]]
            text = trim(bank_q.reference_in(language))
            return (
                Lead(
                    text=text,
                    origin="notes",
                    source=1,
                    label=source.label,
                    question_id=qid,
                    confidence=confidence,
                ),
                ordered,
            )
    for hit in hits[:2]:
        if (
            hit.kind == "section"
            and hit.language == language
            and heading_answers(question, hit.heading)
        ):
            ordered = [hit, *[h for h in hits if h is not hit]]
            return (
                Lead(text=trim(hit.text), origin="notes", source=1, label=hit.label),
                ordered,
            )
    return None, hits


def corroborated(question: str, question_id: str, hits: list[Citation]) -> bool:
    """An unconfident bank guess still leads when the retriever's best hit is that very question's
    chunk (two independent rankings agree) and the question asks no computation of its own: one with
    numbers in it ("20 hypotheses at 0.05", a given matrix) is not answered by a general reference
    answer. Measured on the grading set: see ``bench/results/lead.json``."""
    return bool(hits) and hits[0].question_id == question_id and not _NUMBER_RE.search(question)


def _content(sentence: str) -> list[str]:
    words = (w.lower() for w in _WORD_RE.findall(sentence))
    return [w for w in words if w not in STOP_WORDS]


def drop_repeats(own: str, lead: str, share: float = 0.8) -> str:
    """The model's text without the sentences that repeat the lead (a small model asked to add to
    our notes often copies them first). A sentence repeats the lead when it has at least five
    content words and most of them are words of one lead sentence; a short restatement stays."""
    if not lead.strip():
        return own
    lead_sets = [set(_content(s)) for s in re.split(r"(?<=[.!?])\s+|\n+", lead)]
    lead_sets = [s for s in lead_sets if len(s) >= 3]
    kept: list[str] = []
    for part in re.split(r"(?<=[.!?])(\s+)", own):
        words = _content(part)
        if len(words) >= 5 and any(
            sum(w in ls for w in words) >= share * len(words) for ls in lead_sets
        ):
            continue
        kept.append(part)
    return re.sub(r"[ \t]+\n", "\n", "".join(kept)).strip()


def lead_text(lead: Lead, language: Literal["en", "ru"]) -> str:
    """The lead as it opens the answer: marked as ours and cited."""
    if lead.origin == "tools":
        return lead.text
    header = HEADERS[language].format(n=lead.source or 1, label=lead.label)
    return f"{header}\n\n{lead.text}"


def relevant_evidence(
    hits: list[Citation], lead: Lead | None, exclude_question_ids: Collection[str] = ()
) -> list[Citation]:
    """The hits the model may see: the lead's source first, then only what concerns the same topic;
    no other question chunk when a bank question leads (not even the leading question's own other
    chunk: it repeats the lead), never an excluded one."""
    kept: list[Citation] = []
    topic = hits[0].topic if hits else ""
    for i, hit in enumerate(hits):
        if hit.question_id and hit.question_id in exclude_question_ids:
            continue
        if i > 0 and hit.topic != topic:
            continue
        if i > 0 and lead is not None and lead.question_id and hit.kind == "question":
            # another bank question's chunk is off the point; another chunk of the leading
            # question repeats the lead the model already reads in full
            continue
        kept.append(hit)
    return kept[:3]


__all__ = [
    "BankLookup",
    "BankMatch",
    "choose_lead",
    "corroborated",
    "drop_repeats",
    "heading_answers",
    "language_of",
    "lead_text",
    "relevant_evidence",
    "trim",
]
