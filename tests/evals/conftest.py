"""Shared fixtures: tiny suites made from real bank questions, settings in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mltutor.knowledge.bank import load_questions
from mltutor.knowledge.questions import Question
from mltutor.settings import Settings


def bank_sample(n: int, *, per_topic: int = 1) -> list[Question]:
    """The first ``per_topic`` questions of the first ``n // per_topic`` topics (English)."""
    out: list[Question] = []
    counts: dict[str, int] = {}
    for q in load_questions():
        if counts.get(q.topic, 0) < per_topic:
            counts[q.topic] = counts.get(q.topic, 0) + 1
            out.append(q)
        if len(out) == n:
            break
    return out


def write_qa_suite(path: Path, questions: list[Question]) -> Path:
    lines = [
        json.dumps(
            {
                "kind": "qa",
                "id": q.id,
                "question": q.question,
                "topic": q.topic,
                "difficulty": q.difficulty,
                "bank_id": q.id,
            }
        )
        for q in questions
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
