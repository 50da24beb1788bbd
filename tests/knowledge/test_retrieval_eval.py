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


@dataclass
class FakeSectionHit:
    topic: str
    heading: str
    question_id: str = ""


def test_section_level_scoring() -> None:
    boot = ["Bootstrap in practice", "Бутстрап", "statistics-6"]
    answers = {
        "q1": [FakeSectionHit("statistics", "Bootstrap in practice")],  # section hit@1
        "q2": [  # right topic, wrong section first; the Russian twin second
            FakeSectionHit("statistics", "Intuition"),
            FakeSectionHit("statistics", "Бутстрап"),
        ],
        "q3": [FakeSectionHit("probability", "Intuition")],  # wrong topic
        "q4": [FakeSectionHit("statistics", "Q: Describe the bootstrap…", "statistics-6")],
        "q5": [FakeSectionHit("statistics", "Worked examples > Bootstrap CI of a median")],
        "q6": [FakeSectionHit("probability", "Bootstrap in practice")],  # heading, wrong topic
    }
    queries = [
        EvalQuery(query="q1", lang="ru", topic="statistics", sections=boot, split="tune"),
        EvalQuery(query="q2", lang="ru", topic="statistics", sections=boot, split="tune"),
        EvalQuery(query="q3", lang="ru", topic="statistics", sections=boot, split="report"),
        EvalQuery(query="q4", lang="en", topic="statistics", sections=boot, split="report"),
        EvalQuery(query="q5", lang="en", topic="statistics", sections=["bootstrap ci of a median"]),
        EvalQuery(query="q6", lang="en", topic="statistics", sections=boot, split="report"),
        EvalQuery(query="q1", lang="en", topic="statistics"),  # topic level only
    ]
    report = evaluate(lambda q, k: answers[q][:k], queries)
    assert report.overall.n == 7
    assert report.section_per_lang["ru"].n == 3
    assert (
        report.section_per_lang["ru"].hit1 == 1 / 3 and report.section_per_lang["ru"].hit3 == 2 / 3
    )
    assert report.section_per_lang["en"].n == 3  # q4, q5, q6; not the unlabelled one
    assert report.section_per_lang["en"].hit1 == 2 / 3
    tune = report.group("section", "ru", "tune")
    assert tune is not None and (tune.n, tune.hit1, tune.hit3) == (2, 0.5, 1.0)
    topic_ru = report.group("topic", "ru", "report")
    assert topic_ru is not None and (topic_ru.n, topic_ru.hit1, topic_ru.hit3) == (1, 0.0, 0.0)
    topic_en = report.group("topic", "en", "report")  # q4 right, q6 wrong topic
    assert topic_en is not None and (topic_en.n, topic_en.hit1) == (2, 0.5)
    assert report.group("section", "en", "all") is not None  # q5 has no split
    section_misses = {m.query for m in report.misses if m.level == "section"}
    assert section_misses == {"q2", "q3", "q6"}
    assert "section" in report.summary()


def test_language_hint_passes_the_query_language() -> None:
    seen: list[tuple[str, str]] = []

    def search(q: str, k: int, lang: str) -> list[FakeHit]:
        seen.append((q, lang))
        return [FakeHit("a")]

    queries = [
        EvalQuery(query="x", lang="ru", topic="a"),
        EvalQuery(query="y", lang="en", topic="a"),
    ]
    evaluate(search, queries, language_hint=True)
    assert seen == [("x", "ru"), ("y", "en")]


def test_bundled_section_labels_resolve() -> None:
    """Every section label names a heading (at any level) or a question of its topic's note."""
    from mltutor.knowledge.chunking import PATH_SEP, chunk_notes
    from mltutor.knowledge.notes import load_notes

    names: dict[str, set[str]] = {}
    for c in chunk_notes(load_notes()):
        known = names.setdefault(c.topic, set())
        known.update(part.casefold() for part in c.heading.split(PATH_SEP))
        if c.question_id:
            known.add(c.question_id.casefold())
    labelled = [q for q in load_queries() if q.sections]
    ru = [q for q in labelled if q.lang == "ru"]
    assert len(ru) >= 40
    assert {q.split for q in labelled} == {"tune", "report"}
    for lang in ("ru", "en"):
        splits = [q.split for q in labelled if q.lang == lang]
        assert abs(splits.count("tune") - splits.count("report")) <= 1, lang
    for q in labelled:
        unknown = [s for s in q.sections if s.casefold() not in names[q.topic]]
        assert not unknown, f"{q.query!r}: no such heading or question in {q.topic}: {unknown}"
