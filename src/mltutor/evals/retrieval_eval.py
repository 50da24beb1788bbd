"""Retrieval eval: hit@1 / hit@3 over labelled queries, at topic and at section level, per language.

A query is a topic hit@k when one of the first k hits comes from the labelled topic. Queries that also
carry ``sections`` are scored at section level: a hit counts when it is from the labelled topic and
either one component of its heading path is one of the labels (``Bootstrap in practice``, its Russian
``Бутстрап: …`` twin, a ``###`` example) or its bank question id is (``statistics-6``). So "что такое
бутстрап" must land on the bootstrap material of the statistics note, not merely on statistics.

The queries live in ``evals/data/retrieval_queries_*.jsonl`` (lines ``{"query", "lang", "topic"}``,
optionally ``"sections"`` and ``"split"``). Section-labelled queries are split into ``tune`` (used to
choose retrieval constants such as the language boost) and ``report`` (only ever reported). The same
function serves the tests that guard the targets and ``bench/bench_retrieval.py``.

Run: ``python -m mltutor.evals.retrieval_eval [--json] [--misses] [--language-hint] [FILE...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA_DIR = Path(__file__).resolve().parent / "data"
PATTERN = "retrieval_queries_*.jsonl"
TARGET_HIT1 = 0.85
TARGET_HIT3 = 0.95
HEADING_SEP = " > "

Split = Literal["tune", "report"]
Level = Literal["topic", "section"]


class EvalQuery(BaseModel):
    """One labelled query."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    query: str
    """What a learner would type."""
    lang: str
    """``en`` or ``ru``: the language of the query."""
    topic: str
    """The note slug that answers it."""
    sections: list[str] = Field(default_factory=list)
    """Headings (any level of the hit's heading path) or bank question ids that answer it; empty:
    the query is scored at topic level only."""
    split: Split | None = None
    """``tune`` (may be used to choose constants) or ``report`` (reported only)."""


class _HasTopic(Protocol):
    @property
    def topic(self) -> str: ...


# search(query, k) or, with ``language_hint``, search(query, k, lang)
Search = Callable[..., Sequence[_HasTopic]]


class Score(BaseModel):
    """hit@1 and hit@3 over a group of queries."""

    n: int
    hit1: float
    hit3: float


class GroupScore(Score):
    """The score of one (level, language, split) group."""

    level: Level
    lang: str
    split: str  # "tune", "report", or "all" for unsplit queries


class Miss(BaseModel):
    """A query whose top hit was not its topic or (section level) not one of its sections."""

    query: str
    lang: str
    topic: str
    got: list[str]
    level: Level = "topic"


class EvalReport(BaseModel):
    """The eval outcome: topic level overall and per language, section-level groups, the misses."""

    overall: Score
    per_lang: dict[str, Score]
    section_per_lang: dict[str, Score] = Field(default_factory=dict)
    groups: list[GroupScore] = Field(default_factory=list)
    misses: list[Miss]
    mean_ms: float

    def meets_targets(self) -> bool:
        return self.overall.hit1 >= TARGET_HIT1 and self.overall.hit3 >= TARGET_HIT3

    def group(self, level: Level, lang: str, split: str) -> Score | None:
        """The score of one group, or ``None`` if it has no queries."""
        for g in self.groups:
            if (g.level, g.lang, g.split) == (level, lang, split):
                return g
        return None

    def summary(self) -> str:
        lines = [f"overall  n={self.overall.n}  hit@1={self.overall.hit1:.3f}  "
                 f"hit@3={self.overall.hit3:.3f}  ({self.mean_ms:.1f} ms/query)"]  # fmt: skip
        for lang, s in sorted(self.per_lang.items()):
            lines.append(f"{lang:<8} n={s.n}  hit@1={s.hit1:.3f}  hit@3={s.hit3:.3f}")
        if self.groups:
            lines.append("section-labelled queries (level lang split):")
            for g in sorted(self.groups, key=lambda g: (g.level, g.lang, g.split)):
                lines.append(
                    f"  {g.level:<8} {g.lang:<3} {g.split:<7} n={g.n:<3} "
                    f"hit@1={g.hit1:.3f}  hit@3={g.hit3:.3f}"
                )
        return "\n".join(lines)


def eval_files(data_dir: Path = DATA_DIR) -> list[Path]:
    """The query files in ``data_dir``, sorted."""
    return sorted(data_dir.glob(PATTERN))


def load_queries(paths: Iterable[Path] | None = None) -> list[EvalQuery]:
    """Queries from the given files (default: all bundled ones); a bad line names its file and line."""
    out: list[EvalQuery] = []
    for path in eval_files() if paths is None else paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(EvalQuery.model_validate_json(line))
            except ValidationError as exc:
                raise ValueError(f"{path}:{lineno}: {exc.errors()[0]['msg']}") from exc
    return out


def section_hit(hit: _HasTopic, query: EvalQuery) -> bool:
    """True if ``hit`` is one of the query's labelled sections (heading component or question id)."""
    if hit.topic != query.topic or not query.sections:
        return False
    labels = {s.casefold() for s in query.sections}
    question_id = str(getattr(hit, "question_id", "") or "")
    if question_id and question_id.casefold() in labels:
        return True
    heading = str(getattr(hit, "heading", "") or "")
    return any(part.strip().casefold() in labels for part in heading.split(HEADING_SEP))


def _score(rows: list[tuple[bool, bool]]) -> Score:
    n = len(rows)
    return Score(
        n=n,
        hit1=sum(h1 for h1, _ in rows) / n if n else 0.0,
        hit3=sum(h3 for _, h3 in rows) / n if n else 0.0,
    )


def _label(hit: _HasTopic) -> str:
    heading = str(getattr(hit, "heading", "") or "")
    return f"{hit.topic} § {heading.split(HEADING_SEP)[-1]}" if heading else hit.topic


def evaluate(
    search: Search, queries: Sequence[EvalQuery], *, language_hint: bool = False
) -> EvalReport:
    """Run every query through ``search(query, k)`` and score topics and, where labelled, sections.

    With ``language_hint`` the query's language is passed as a third argument (the tutor knows the
    language of the question it retrieves for).
    """
    rows: dict[str, list[tuple[bool, bool]]] = {}
    section_rows: dict[str, list[tuple[bool, bool]]] = {}
    grouped: dict[tuple[Level, str, str], list[tuple[bool, bool]]] = {}
    misses: list[Miss] = []
    started = time.perf_counter()
    for q in queries:
        hits = list(search(q.query, 3, q.lang) if language_hint else search(q.query, 3))
        topics = [h.topic for h in hits]
        h1, h3 = topics[:1] == [q.topic], q.topic in topics[:3]
        rows.setdefault(q.lang, []).append((h1, h3))
        if not h1:
            misses.append(Miss(query=q.query, lang=q.lang, topic=q.topic, got=topics))
        if not q.sections:
            continue
        split = q.split or "all"
        grouped.setdefault(("topic", q.lang, split), []).append((h1, h3))
        found = [section_hit(h, q) for h in hits]
        s1, s3 = any(found[:1]), any(found[:3])
        section_rows.setdefault(q.lang, []).append((s1, s3))
        grouped.setdefault(("section", q.lang, split), []).append((s1, s3))
        if not s1:
            got = [_label(h) for h in hits]
            misses.append(Miss(query=q.query, lang=q.lang, topic=q.topic, got=got, level="section"))
    elapsed = time.perf_counter() - started
    everything = [r for group in rows.values() for r in group]
    return EvalReport(
        overall=_score(everything),
        per_lang={lang: _score(group) for lang, group in rows.items()},
        section_per_lang={lang: _score(group) for lang, group in section_rows.items()},
        groups=[
            GroupScore(level=level, lang=lang, split=split, **_score(group).model_dump())
            for (level, lang, split), group in grouped.items()
        ],
        misses=misses,
        mean_ms=1000 * elapsed / len(queries) if queries else 0.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate the installed knowledge base (in a temporary data dir unless ``--data-dir``)."""
    import tempfile

    from mltutor.knowledge.base import open_knowledge_base

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("files", nargs="*", type=Path, help="query files (default: the bundled ones)")
    p.add_argument("--data-dir", type=Path, help="use this data dir (default: a temporary one)")
    p.add_argument("--notes-dir", type=Path, help="notes to index (default: the bundled notes)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--misses", action="store_true", help="list the queries missed at rank 1")
    p.add_argument(
        "--language-hint",
        action="store_true",
        help="pass each query's language to the search (prefer chunks in that language)",
    )
    args = p.parse_args(argv)
    queries = load_queries(args.files or None)
    if not queries:
        print("no eval queries found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        kb = open_knowledge_base(
            data_dir=args.data_dir or Path(tmp),
            chroma_url=None,
            progress=lambda m: print(m, file=sys.stderr),
            notes_dir=args.notes_dir,
        )
        kb.ensure_index()
        if args.language_hint:
            report = evaluate(
                lambda q, k, lang: kb.search(q, k=k, language=lang), queries, language_hint=True
            )
        else:
            report = evaluate(lambda q, k: kb.search(q, k=k), queries)
        kb.close()
    if args.json:
        print(json.dumps(report.model_dump(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        if args.misses:
            for m in report.misses:
                print(f"  MISS {m.level} [{m.lang}] {m.query!r}: want {m.topic}, got {m.got}")
    return 0 if report.meets_targets() else 1


if __name__ == "__main__":
    sys.exit(main())
