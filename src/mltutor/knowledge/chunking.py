"""Splitting notes and user files into retrieval chunks, each with its heading path.

Headings are the chunk boundaries because note authors name them specifically (``## Sigmoid
derivative``), so a chunk is one idea and its heading doubles as the citation. Chunk ids are a hash
of (source, heading path, ordinal) — not of the text — so editing one section re-embeds only that
section and ids stay stable across rebuilds. Bump :data:`CHUNKER_VERSION` whenever the output of
this module changes: it is part of the index content hash, so every index is rebuilt.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mltutor.knowledge.notes import Note
from mltutor.knowledge.questions import Question, has_cyrillic

CHUNKER_VERSION = "6"
MAX_CHARS = 1200
PATH_SEP = " > "
OVERVIEW = "Overview"
USER_TOPIC = "user"
# Note sections about the note rather than the subject ("Study resources and interview weight": which
# videos to watch, how often a topic is asked) are not indexed: they name every classic question in
# one line, so they outranked the sections that answer it ("Why does L1 give sparse weights?").
META_SECTIONS = ("study resources",)
# A chunk is Russian when at least this share of its letters is Cyrillic. Russian sections keep their
# formulas (LaTeX, plain text) in Latin letters, so a majority rule would call some of them English;
# English sections mention at most a Russian term or two.
RU_LETTER_SHARE = 0.3

_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Plain-text headings: "4. Statistics (17 задач)", "2.1 Bootstrap"; short, no sentence punctuation.
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+(\S.{0,78})$")


@dataclass(frozen=True)
class Chunk:
    """One unit of retrieval: what is embedded, indexed for BM25 and shown as a hit."""

    id: str
    topic: str
    title: str
    heading: str  # heading path below the document title, e.g. "Key formulas > Sigmoid"
    source: str
    text: str
    kind: str  # "summary" | "section" | "question" | "user"
    language: str = "en"  # "en" | "ru", by the Cyrillic share of the text (see chunk_language)
    question_id: str = ""  # the bank question's id for question chunks, else ""

    @property
    def citation(self) -> str:
        """What the UI shows: ``calculus § Sigmoid`` or ``guide.md § Bootstrap``."""
        label = self.source.rsplit("/", 1)[-1] if self.topic == USER_TOPIC else self.topic
        return f"{label} § {self.heading.split(PATH_SEP)[-1]}"

    def search_text(self) -> str:
        """What is embedded and BM25-indexed: the heading path gives a section its context."""
        return f"{self.title}{PATH_SEP}{self.heading}\n{self.text}"


def chunk_id(source: str, heading_path: str, ordinal: int) -> str:
    """Stable id: the same section of the same file keeps its id whatever its text becomes."""
    key = f"{source}\x1f{heading_path}\x1f{ordinal}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


def chunk_language(text: str) -> str:
    """``"ru"`` when at least :data:`RU_LETTER_SHARE` of the letters are Cyrillic, else ``"en"``."""
    cyrillic = latin = 0
    for ch in text:
        if "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    letters = cyrillic + latin
    return "ru" if letters and cyrillic / letters >= RU_LETTER_SHARE else "en"


def split_long(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Pack paragraphs greedily into pieces <= ``max_chars``; split oversized ones by line/word."""
    pieces: list[str] = []
    for para in _paragraphs(text):
        pieces.extend(_hard_split(para, max_chars) if len(para) > max_chars else [para])
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + 2 + len(piece) <= max_chars:
            out[-1] = f"{out[-1]}\n\n{piece}"
        else:
            out.append(piece)
    return out


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block is never split at a blank line inside it."""
    paras: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                paras.append("\n".join(current).strip("\n"))
                current = []
        else:
            current.append(line)
    if current:
        paras.append("\n".join(current).strip("\n"))
    return [p for p in paras if p.strip()]


def _hard_split(text: str, max_chars: int) -> list[str]:
    out: list[str] = []
    current = ""
    for unit in _units(text, max_chars):
        if current and len(current) + 1 + len(unit) > max_chars:
            out.append(current)
            current = unit
        else:
            current = f"{current}\n{unit}" if current else unit
    if current:
        out.append(current)
    return out


def _units(text: str, max_chars: int) -> Iterable[str]:
    """Lines; a line longer than ``max_chars`` becomes its words regrouped into such pieces."""
    for line in text.split("\n"):
        if len(line) <= max_chars:
            yield line
            continue
        current = ""
        for word in line.split(" "):
            while len(word) > max_chars:  # a pathological token: cut it
                yield word[:max_chars]
                word = word[max_chars:]
            if current and len(current) + 1 + len(word) > max_chars:
                yield current
                current = word
            else:
                current = f"{current} {word}" if current else word
        if current:
            yield current


def markdown_sections(body: str, max_level: int) -> list[tuple[list[str], str]]:
    """(heading path, text) for each run of text under a heading of level <= ``max_level``.

    Deeper headings stay inside the text; ``# comment`` lines inside fenced code are not headings.
    """
    sections: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(current).strip()
        if text:
            sections.append(([h for _, h in stack], text))
        current.clear()

    for line in body.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _MD_HEADING.match(line)
        if m and len(m.group(1)) <= max_level:
            flush()
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, m.group(2).strip()))
        else:
            current.append(line)
    flush()
    return sections


def plain_text_sections(text: str) -> list[tuple[list[str], str]]:
    """Sections of a plain-text file, whose headings are numbered lines such as ``4. Statistics``.

    A numbered line counts as a heading only when it is short, stands alone (blank line or start of
    file before it) and does not end like a sentence; a top-level number must also exceed the previous
    one, so a numbered list ("1. Build the graph") inside section 20 stays text.
    """
    sections: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    last_top = 0

    def flush() -> None:
        body = "\n".join(current).strip()
        if body:
            sections.append(([h for _, h in stack], body))
        current.clear()

    for i, line in enumerate(lines):
        m = _NUMBERED_HEADING.match(line.strip())
        standalone = i == 0 or not lines[i - 1].strip()
        level = m.group(1).count(".") + 1 if m else 0
        top = int(m.group(1).split(".")[0]) if m else 0
        in_order = level > 1 or top > last_top
        if m and standalone and in_order and not line.rstrip().endswith((".", ",", ";", ":")):
            flush()
            if level == 1:
                last_top = top
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, line.strip()))
        else:
            current.append(line)
    flush()
    return sections


def build_chunks(
    sections: Sequence[tuple[list[str], str]],
    *,
    topic: str,
    title: str,
    source: str,
    kind: str,
    default_heading: str = OVERVIEW,
    question_ids: Sequence[str] | None = None,
) -> list[Chunk]:
    """Turn sections into chunks (long ones split), with ids unique within ``source``.

    ``question_ids``, if given, holds one bank question id per section (question chunks).
    """
    if question_ids is not None and len(question_ids) != len(sections):
        raise ValueError("question_ids must have one id per section")
    seen: Counter[str] = Counter()
    out: list[Chunk] = []
    for i, (path, text) in enumerate(sections):
        heading = PATH_SEP.join(path) if path else default_heading
        qid = question_ids[i] if question_ids is not None else ""
        for piece in split_long(text):
            ordinal = seen[heading]
            seen[heading] += 1
            out.append(
                Chunk(
                    id=chunk_id(source, heading, ordinal),
                    topic=topic,
                    title=title,
                    heading=heading,
                    source=source,
                    text=piece,
                    kind=kind,
                    language=chunk_language(piece),
                    question_id=qid,
                )
            )
    return out


def summary_sections(note: Note) -> list[tuple[list[str], str]]:
    """Two short "what this topic is called" chunks, one English and one Russian.

    They let a colloquial or Russian query ("матанализ", "производные") land on the topic even when
    the body never uses those words; split by language so each embedding stays in one language.
    """
    en_alias = [a for a in note.aliases if not has_cyrillic(a)]
    ru_alias = [a for a in note.aliases if has_cyrillic(a)]
    en = [f"{note.title}.", f"Also called: {', '.join(en_alias)}." if en_alias else ""]
    en.append(f"Covers: {', '.join(note.keywords_en)}." if note.keywords_en else "")
    ru = [
        f"{note.title_ru}." if note.title_ru else "",
        f"Также: {', '.join(ru_alias)}." if ru_alias else "",
    ]
    ru.append(f"Темы: {', '.join(note.keywords_ru)}." if note.keywords_ru else "")
    out = [([OVERVIEW], "\n".join(s for s in en if s))]
    ru_text = "\n".join(s for s in ru if s)
    if ru_text:
        out.append(([f"{OVERVIEW} (RU)"], ru_text))
    return out


def _label(text: str, limit: int = 60) -> str:
    """A citation label from a question: cut at a word boundary, not mid-word."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def question_text(note: Note, index: int) -> tuple[list[str], str]:
    """A question chunk: question, reference answer and key points, under its own heading."""
    q = note.questions[index]
    points = "\n".join(f"- {p}" for p in q.key_points)
    text = f"Interview question: {q.question}\n\n{q.reference_answer.strip()}"
    if points:
        text += f"\n\nKey points:\n{points}"
    return [f"Q: {_label(q.question)}"], text


def question_text_ru(q: Question) -> tuple[list[str], str] | None:
    """The Russian question chunk (``None`` when the question has no Russian version)."""
    if q.question_ru is None or q.reference_answer_ru is None:
        return None
    points = "\n".join(f"- {p}" for p in q.key_points_ru or [])
    text = f"Вопрос на собеседовании: {q.question_ru}\n\n{q.reference_answer_ru.strip()}"
    if points:
        text += f"\n\nКлючевые пункты:\n{points}"
    return [f"Вопрос: {_label(q.question_ru)}"], text


def question_sections(note: Note) -> tuple[list[tuple[list[str], str]], list[str]]:
    """Every question's English chunk and, when it exists, its Russian one, with their ids."""
    sections: list[tuple[list[str], str]] = []
    ids: list[str] = []
    for i, q in enumerate(note.questions):
        sections.append(question_text(note, i))
        ids.append(q.id)
        ru = question_text_ru(q)
        if ru is not None:
            sections.append(ru)
            ids.append(q.id)
    return sections, ids


def chunk_note(note: Note) -> list[Chunk]:
    """All chunks of one note: summaries, body sections (## / ###), question chunks (EN and RU)."""
    summaries = build_chunks(
        summary_sections(note),
        topic=note.slug,
        title=note.title,
        source=note.source,
        kind="summary",
    )
    body = build_chunks(
        [
            (path, text)
            for path, text in markdown_sections(note.body, max_level=3)
            if not (path and path[0].lower().startswith(META_SECTIONS))
        ],
        topic=note.slug,
        title=note.title,
        source=note.source,
        kind="section",
    )
    q_sections, q_ids = question_sections(note)
    questions = build_chunks(
        q_sections,
        topic=note.slug,
        title=note.title,
        source=note.source,
        kind="question",
        question_ids=q_ids,
    )
    return summaries + body + questions


def chunk_notes(notes: Iterable[Note]) -> list[Chunk]:
    """Chunks of all notes, in note order."""
    return [c for note in notes for c in chunk_note(note)]
