"""Adapters between the knowledge base / grader and the tutor graph's small callable interfaces."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from mltutor.agent.events import Citation
from mltutor.agent.grading import Grader
from mltutor.agent.service import Progress
from mltutor.agent.tutor import Retriever


def notes_retriever(
    data_dir: Path, chroma_url: str | None, progress: Progress | None = None
) -> Retriever:
    """Open (building if needed) the knowledge base and adapt its hits to citations."""
    from mltutor.knowledge.base import open_knowledge_base

    report: Progress = progress or (lambda msg, frac: None)
    kb = open_knowledge_base(
        data_dir=data_dir, chroma_url=chroma_url, progress=lambda msg: report(msg, None)
    )
    kb.ensure_index()

    def search(query: str, k: int, *, exclude_question_ids: Collection[str] = ()) -> list[Citation]:
        return [
            Citation(
                label=h.citation,
                topic=h.topic,
                heading=h.heading,
                source=h.source,
                score=h.score,
                text=h.text,
                kind=h.kind or "section",
                question_id=h.question_id,
                language=h.language,
            )
            for h in kb.search(query, k=k, exclude_question_ids=exclude_question_ids)
        ]

    return search


GUESS_FLOOR = 0.45
"""Below the grader's threshold, the nearest bank question is still offered as a guess (for the
tutor to confirm against retrieval) when it scores at least this. A required lead over the runner-up
(0.1, 0.05, 0) changed nothing but recall on the tune splits (``bench/bench_lead.py``): retrieval's
agreement is what keeps false leads out, so there is none."""


def bank_match(grader: Grader, question: str) -> tuple[str, float, bool] | None:
    """The bank question ``question`` most likely asks: (id, score, confident). Confident is the
    grader's calibrated threshold; a clear but weaker front-runner comes back as a guess."""
    from mltutor.agent.grading.rubric import MATCH_THRESHOLD

    ranked = grader.matcher.ranked(question)
    if not ranked:
        return None
    best, score = ranked[0]
    if score >= MATCH_THRESHOLD:
        return best.id, score, True
    if score >= GUESS_FLOOR:
        return best.id, score, False
    return None


__all__ = ["bank_match", "notes_retriever"]
