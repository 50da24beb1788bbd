"""Where the key points come from: the matching bank question, else the best-matching note sections.

Bank matching compares the question with every bank question in English and Russian: the mean of
the embedder's cosine and the lexical overlap of stems. On the grading set's ``tune`` split every
bank question, however reworded, scores >= 0.71 against its own bank entry and every question not
in the bank <= 0.65 against its nearest one, hence the threshold 0.68 between them. The bank
questions' vectors are cached on disk (keyed by the texts and the embedder), so a ``mltutor
grade`` process embeds only the question it is asked.

A question below the threshold gets a rubric from the notes: the best sections (and the nearest
bank questions' key points) found by the knowledge base, the sentences closest to the question as
key points, the sections as the reference.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mltutor.agent.grading.coverage import Embed
from mltutor.agent.grading.records import Language, Rubric
from mltutor.agent.grading.text import analyse, overlap, split_sentences
from mltutor.knowledge.notes import Note
from mltutor.knowledge.questions import Question, has_cyrillic

MATCH_THRESHOLD = 0.68
"""Bank match confidence (mean of cosine and stem overlap) above which the bank question is used."""
NOTES_MIN = 0.25
"""Below this relevance (mean of cosine and the share of the question's stems found) of the best
note section, the notes do not cover the question: no rubric."""
NOTE_POINTS_MIN, NOTE_POINTS_MAX = 3, 6
"""How many key points a rubric built from the notes has."""
SECTION_KINDS = ("section", "summary", "question")
"""Chunk kinds a notes rubric is built from."""

Search = Callable[..., list[Any]]
"""``search(query, k=..., kinds=..., language=...)`` returning knowledge-base hits."""


def language_of(text: str) -> Language:
    """``ru`` when most letters are Cyrillic, else ``en``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    cyr = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    return "ru" if cyr >= 0.3 * len(letters) else "en"


class BankMatcher:
    """Finds the bank question a question asks, in either language."""

    def __init__(
        self,
        questions: list[Question],
        embed: Embed,
        cache_dir: Path | None = None,
        embed_id: str | None = None,
    ) -> None:
        self.questions = questions
        self.embed = embed
        self._texts: list[str] = []
        self._owners: list[int] = []
        for i, q in enumerate(questions):
            self._texts.append(q.question)
            self._owners.append(i)
            if q.question_ru:
                self._texts.append(q.question_ru)
                self._owners.append(i)
        self._tokens = [analyse(t).tokens for t in self._texts]
        self._cache_dir = cache_dir
        self._embed_id = embed_id  # which embedder made cached vectors; None: never cache
        self._vectors: npt.NDArray[np.float32] | None = None

    def _cache_path(self, embedder: str) -> Path | None:
        if self._cache_dir is None:
            return None
        digest = hashlib.sha256("\0".join([embedder, *self._texts]).encode()).hexdigest()[:24]
        return Path(self._cache_dir) / "grading" / f"bank-{digest}.npy"

    def vectors(self) -> npt.NDArray[np.float32]:
        """The bank questions' vectors: from the cache file when it matches, else embedded."""
        if self._vectors is not None:
            return self._vectors
        path = self._cache_path(self._embed_id) if self._embed_id else None
        if path is not None and path.is_file():
            try:
                loaded = np.load(path, allow_pickle=False)
                if loaded.shape[0] == len(self._texts):
                    self._vectors = loaded.astype(np.float32)
                    return self._vectors
            except (OSError, ValueError):
                pass  # unreadable cache: embed again and rewrite it
        self._vectors = self.embed(self._texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, self._vectors, allow_pickle=False)
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache dir costs time, not correctness
        return self._vectors

    def ranked(
        self, question: str, vector: npt.NDArray[np.float32] | None = None
    ) -> list[tuple[Question, float]]:
        """Bank questions by match confidence, best first (one entry per question)."""
        if not self._texts:
            return []
        qv = self.embed([question])[0] if vector is None else vector
        cos = self.vectors() @ qv
        tokens = analyse(question).tokens
        best: dict[int, float] = {}
        for j, owner in enumerate(self._owners):
            score = 0.5 * float(cos[j]) + 0.5 * overlap(tokens, self._tokens[j])
            best[owner] = max(best.get(owner, -1.0), score)
        order = sorted(best.items(), key=lambda kv: -kv[1])
        return [(self.questions[i], s) for i, s in order]


# -- notes --------------------------------------------------------------------------------------

_MISCONCEPTION_EN = re.compile(r'^[-*]\s+["“](.+?)["”]\s*(.*)$', re.S)
_MISCONCEPTION_RU = re.compile(r"^[-*]\s+«(.+?)»\.?\s*[—–-]?\s*(.*)$", re.S)
_MISCONCEPTION_HEADINGS = ("common misconceptions", "типичные ошибки")


def _sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) of the ``##`` sections of a note body."""
    out: list[tuple[str, str]] = []
    heading, lines = "", list[str]()
    for line in body.splitlines():
        if line.startswith("## "):
            if heading or lines:
                out.append((heading, "\n".join(lines)))
            heading, lines = line[3:].strip(), []
        else:
            lines.append(line)
    out.append((heading, "\n".join(lines)))
    return out


def _bullets(text: str) -> list[str]:
    items: list[str] = []
    for line in text.splitlines():
        if re.match(r"^[-*]\s+", line):
            items.append(line.strip())
        elif items and line.startswith((" ", "\t")) and line.strip():
            items[-1] += " " + line.strip()
    return items


def misconceptions(note: Note, language: str) -> list[tuple[str, str]]:
    """(false belief, correction) pairs of the note's misconception sections in ``language``."""
    out: list[tuple[str, str]] = []
    for heading, text in _sections(note.body):
        if not heading.lower().startswith(_MISCONCEPTION_HEADINGS):
            continue
        if (language == "ru") != has_cyrillic(heading):
            continue
        for item in _bullets(text):
            m = _MISCONCEPTION_RU.match(item) or _MISCONCEPTION_EN.match(item)
            if m and m.group(1).strip() and m.group(2).strip():
                out.append((m.group(1).strip(), m.group(2).strip()))
    return out


def key_formulas(note: Note) -> list[str]:
    """The ``plain:`` lines of the note's Key formulas section (for matching formulas)."""
    for heading, text in _sections(note.body):
        if heading.lower().startswith("key formulas"):
            return [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.strip().lower().startswith("plain:")
            ]
    return []


def bank_rubric(
    question: str, q: Question, language: Language, score: float, note: Note | None
) -> Rubric:
    """The rubric of a matched bank question, in ``language`` where the bank has it."""
    facts = key_formulas(note) if note is not None else []
    return Rubric(
        question=question,
        question_id=q.id,
        topic=q.topic,
        source="bank",
        key_points=q.key_points_in(language),
        reference=q.reference_in(language),
        language=language if (language == "en" or q.has_russian) else "en",
        match_score=round(max(0.0, min(1.0, score)), 4),
        facts=facts,
        misconceptions=misconceptions(note, language) if note is not None else [],
    )


_SKIP_LINE = re.compile(r"^\s*(?:#|```|plain:|\$\$|\|)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")


def _table_rows(text: str) -> list[str]:
    """Markdown table rows as statements: ``tanh: Derivative 1 − tanh^2; Max of derivative 1 at 0``."""
    out: list[str] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.strip().startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if _TABLE_RULE.match(line):
            continue
        if header is None:
            header = cells
            continue
        pairs = [f"{h} {c}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
        if cells and cells[0] and pairs:
            out.append(f"{cells[0]}: " + "; ".join(pairs))
    return out


@dataclass(frozen=True)
class NotesEvidence:
    """What the notes offer for a question not in the bank."""

    topic: str | None
    """Topic of the best section."""
    reference: str
    """The best sections' text (capped)."""
    candidates: list[str]
    """Statements that could be key points, best first."""
    relevance: float
    """How well the best section matches the question, in [0, 1]."""
    tried: list[str]
    """What was searched, in words."""
    sections: list[str]
    """The best sections' texts (for a model drafting key points)."""


def _untabled(text: str) -> str:
    """The text with each Markdown table written as one statement per row."""
    rows = _table_rows(text)
    kept = [ln for ln in text.splitlines() if not ln.strip().startswith("|")]
    return "\n".join(kept + [f"- {r}." for r in rows])


def _statements(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if not _SKIP_LINE.match(ln)]
    out = _table_rows(text)
    for s in split_sentences("\n".join(lines)):
        s = s.strip().lstrip("-*• ").strip()
        if s.count("`") >= 2 or re.search(r"\b(?:sklearn|scipy|numpy|torch|pandas)\b", s):
            continue  # library calls are how to code it, not what an answer must state
        if 25 <= len(s) <= 300 and len(analyse(s).tokens) >= 3:
            out.append(s)
    return out


def notes_evidence(
    question: str,
    language: Language,
    search: Search,
    embed: Embed,
    bank: dict[str, Question],
    *,
    reference_chars: int = 2500,
) -> NotesEvidence:
    """Sections and candidate key points for ``question`` from the knowledge base."""
    tried = [f"the knowledge base's sections and bank questions for {question[:80]!r}"]
    found = search(question, k=8, kinds=SECTION_KINDS, language=language)
    # the misconception sections state false beliefs: they are checked separately, never key points
    hits = [
        h
        for h in found
        if not any(m in h.heading.lower() for m in _MISCONCEPTION_HEADINGS)
        and (h.language == language or h.kind == "question")
    ] or [h for h in found if not any(m in h.heading.lower() for m in _MISCONCEPTION_HEADINGS)]
    if not hits:
        return NotesEvidence(None, "", [], 0.0, tried, [])
    qv = embed([question])[0]
    tokens = analyse(question).tokens
    texts = [h.text for h in hits]
    hv = embed([t[:1500] for t in texts])
    relevance = [
        0.5 * float(hv[i] @ qv)
        + 0.5 * (len(set(tokens) & set(analyse(t).tokens)) / max(1, len(set(tokens))))
        for i, t in enumerate(texts)
    ]
    order = sorted(range(len(hits)), key=lambda i: -relevance[i])
    best = order[0]
    candidates: list[str] = []
    sections: list[str] = []
    for i in order[:2]:
        h = hits[i]
        if h.kind == "question" and h.question_id in bank:
            q = bank[h.question_id]
            candidates += q.key_points_in(language)
            sections.append(q.reference_in(language))  # the nearest bank question's answer
        else:
            sections.append(_untabled(h.text))
            candidates += _statements(h.text)
    reference = "\n\n".join(sections)[:reference_chars]
    return NotesEvidence(hits[best].topic, reference, candidates, relevance[best], tried, sections)


def pick_key_points(
    question: str, candidates: list[str], embed: Embed, *, n_max: int = NOTE_POINTS_MAX
) -> list[str]:
    """The candidates closest to the question, without near-duplicates, 3 to 6 of them."""
    unique = list(dict.fromkeys(candidates))
    if not unique:
        return []
    vectors = embed([question, *unique])
    qv, cv = vectors[0], vectors[1:]
    tokens = analyse(question).tokens
    scored = sorted(
        range(len(unique)),
        key=lambda i: -(float(cv[i] @ qv) + 0.5 * overlap(tokens, analyse(unique[i]).tokens)),
    )
    chosen: list[int] = []
    for i in scored:
        if any(float(cv[i] @ cv[j]) > 0.85 for j in chosen):
            continue
        chosen.append(i)
        if len(chosen) >= n_max:
            break
    return [unique[i] for i in chosen]


def notes_rubric(
    question: str,
    language: Language,
    evidence: NotesEvidence,
    key_points: Sequence[str],
    note: Note | None,
) -> Rubric:
    """The rubric built from the notes' evidence and the chosen key points."""
    return Rubric(
        question=question,
        question_id=None,
        topic=evidence.topic,
        source="notes",
        key_points=list(key_points),
        reference=evidence.reference,
        language=language,
        match_score=round(max(0.0, min(1.0, evidence.relevance)), 4),
        facts=key_formulas(note) if note is not None else [],
        misconceptions=misconceptions(note, language) if note is not None else [],
        tried=evidence.tried,
    )


__all__ = [
    "MATCH_THRESHOLD",
    "NOTES_MIN",
    "BankMatcher",
    "NotesEvidence",
    "bank_rubric",
    "key_formulas",
    "language_of",
    "misconceptions",
    "notes_evidence",
    "notes_rubric",
    "pick_key_points",
]
