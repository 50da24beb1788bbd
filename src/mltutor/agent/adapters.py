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


def bank_match(grader: Grader, question: str) -> tuple[str, float] | None:
    """The bank question ``question`` asks, when the grader's matcher is confident of it."""
    from mltutor.agent.grading.rubric import MATCH_THRESHOLD

    ranked = grader.matcher.ranked(question)
    if ranked and ranked[0][1] >= MATCH_THRESHOLD:
        return ranked[0][0].id, ranked[0][1]
    return None


__all__ = ["bank_match", "notes_retriever"]
