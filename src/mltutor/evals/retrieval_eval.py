"""Retrieval eval: hit@1 / hit@3 of topic search over labelled queries, overall and per language.

A query is a hit@k when one of the first k hits comes from the labelled topic. The queries live in
``evals/data/retrieval_queries_*.jsonl`` (lines ``{"query", "lang", "topic"}``); the same function is
used by the test that guards the targets and by ``bench/bench_retrieval.py``.

Run: ``python -m mltutor.evals.retrieval_eval [--json] [--misses] [FILE...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ValidationError

DATA_DIR = Path(__file__).resolve().parent / "data"
PATTERN = "retrieval_queries_*.jsonl"
TARGET_HIT1 = 0.85
TARGET_HIT3 = 0.95


class EvalQuery(BaseModel):
    """One labelled query."""

    query: str
    lang: str
    topic: str


class _HasTopic(Protocol):
    @property
    def topic(self) -> str: ...


Search = Callable[[str, int], Sequence[_HasTopic]]


class Score(BaseModel):
    """hit@1 and hit@3 over a group of queries."""

    n: int
    hit1: float
    hit3: float


class Miss(BaseModel):
    """A query whose top hit was not its topic (for error analysis)."""

    query: str
    lang: str
    topic: str
    got: list[str]


class EvalReport(BaseModel):
    """The eval outcome: overall, per language, the misses and the mean query time."""

    overall: Score
    per_lang: dict[str, Score]
    misses: list[Miss]
    mean_ms: float

    def meets_targets(self) -> bool:
        return self.overall.hit1 >= TARGET_HIT1 and self.overall.hit3 >= TARGET_HIT3

    def summary(self) -> str:
        lines = [f"overall  n={self.overall.n}  hit@1={self.overall.hit1:.3f}  "
                 f"hit@3={self.overall.hit3:.3f}  ({self.mean_ms:.1f} ms/query)"]  # fmt: skip
        for lang, s in sorted(self.per_lang.items()):
            lines.append(f"{lang:<8} n={s.n}  hit@1={s.hit1:.3f}  hit@3={s.hit3:.3f}")
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


def _score(rows: list[tuple[bool, bool]]) -> Score:
    n = len(rows)
    return Score(
        n=n,
        hit1=sum(h1 for h1, _ in rows) / n if n else 0.0,
        hit3=sum(h3 for _, h3 in rows) / n if n else 0.0,
    )


def evaluate(search: Search, queries: Sequence[EvalQuery]) -> EvalReport:
    """Run every query through ``search(query, k)`` and score the topics of the hits."""
    rows: dict[str, list[tuple[bool, bool]]] = {}
    misses: list[Miss] = []
    started = time.perf_counter()
    for q in queries:
        topics = [h.topic for h in search(q.query, 3)]
        h1, h3 = topics[:1] == [q.topic], q.topic in topics[:3]
        rows.setdefault(q.lang, []).append((h1, h3))
        if not h1:
            misses.append(Miss(query=q.query, lang=q.lang, topic=q.topic, got=topics))
    elapsed = time.perf_counter() - started
    everything = [r for group in rows.values() for r in group]
    return EvalReport(
        overall=_score(everything),
        per_lang={lang: _score(group) for lang, group in rows.items()},
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
        report = evaluate(lambda q, k: kb.search(q, k=k), queries)
        kb.close()
    if args.json:
        print(json.dumps(report.model_dump(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        if args.misses:
            for m in report.misses:
                print(f"  MISS [{m.lang}] {m.query!r}: want {m.topic}, got {m.got}")
    return 0 if report.meets_targets() else 1


if __name__ == "__main__":
    sys.exit(main())
