"""The retrieval eval harness itself (scoring, file loading); the targets are in test_search.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mltutor.evals.retrieval_eval import EvalQuery, eval_files, evaluate, load_queries


@dataclass
class FakeHit:
    topic: str


def test_scoring_overall_and_per_language() -> None:
    answers = {"q1": ["a", "b"], "q2": ["b", "a", "c"], "q3": ["c", "c", "c"], "q4": ["d"]}
    queries = [
        EvalQuery(query="q1", lang="en", topic="a"),  # hit@1
        EvalQuery(query="q2", lang="en", topic="a"),  # hit@3 only
        EvalQuery(query="q3", lang="ru", topic="a"),  # miss
        EvalQuery(query="q4", lang="ru", topic="d"),  # hit@1
    ]
    report = evaluate(lambda q, k: [FakeHit(t) for t in answers[q][:k]], queries)
    assert report.overall.n == 4
    assert report.overall.hit1 == 0.5 and report.overall.hit3 == 0.75
    assert report.per_lang["en"].hit1 == 0.5 and report.per_lang["en"].hit3 == 1.0
    assert report.per_lang["ru"].hit1 == 0.5 and report.per_lang["ru"].hit3 == 0.5
    assert [m.query for m in report.misses] == ["q2", "q3"]
    assert not report.meets_targets()
    assert "hit@1=0.500" in report.summary()


def test_load_queries(tmp_path: Path) -> None:
    good = tmp_path / "retrieval_queries_x.jsonl"
    good.write_text('{"query": "q", "lang": "en", "topic": "t"}\n\n', encoding="utf-8")
    assert load_queries([good]) == [EvalQuery(query="q", lang="en", topic="t")]
    assert eval_files(tmp_path) == [good]
    bad = tmp_path / "retrieval_queries_y.jsonl"
    bad.write_text('{"query": "q"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"retrieval_queries_y\.jsonl:1"):
        load_queries([bad])


def test_bundled_eval_set_shape() -> None:
    queries = load_queries()
    if not queries:
        pytest.skip("eval queries not written yet")
    langs = [q.lang for q in queries]
    assert set(langs) <= {"en", "ru"}
    from mltutor.knowledge.notes import load_notes

    slugs = {n.slug for n in load_notes()}
    unknown = {q.topic for q in queries} - slugs
    assert not unknown, f"eval topics without a note: {unknown}"
