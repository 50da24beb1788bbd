"""Derivation, retrieval and grading suites through the runner, with their own scores."""

from __future__ import annotations

import json
from pathlib import Path

from mltutor.agent.events import Citation
from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.reports import summarize
from mltutor.evals.rundir import RunDir
from mltutor.evals.solvers import named_step
from mltutor.settings import Settings
from tests.evals.fakes import KeyedChatModel, LexicalGrader


def _suite(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


DERIVATIONS = [
    {"kind": "derivation", "id": "ok", "steps": ["d/dx x^3 = 3x^2"], "topic": "calculus"},
    {
        "kind": "derivation",
        "id": "bad2",
        "steps": ["d/dx (x^2 sin(x))", "= 2x sin(x)"],
        "first_wrong_step": 2,
        "topic": "calculus",
    },
    {
        "kind": "derivation",
        "id": "bad1",
        "steps": ["d/dx sin(3x^2) = cos(3x^2)"],
        "first_wrong_step": 1,
        "topic": "calculus",
    },
]


def _metric(run_dir: Path, case: str, key: str) -> float | None:
    return RunDir.open(run_dir).latest()[case].metrics.get(key)


def test_named_step() -> None:
    assert named_step("The first wrong step is line 3, because ...") == 3
    assert named_step("2") == 2
    assert named_step("0") is None and named_step("All lines are correct.") is None
    assert named_step("Ошибка в строке 4") == 4


def test_derivations_with_checker_raw_and_tutor(tmp_path: Path, settings: Settings) -> None:
    suite = load_suite(str(_suite(tmp_path / "d.jsonl", DERIVATIONS)))
    out = launch.start(
        suite,
        RunConfig(suite=suite.source, solver="checker"),
        settings,
        tmp_path,
        run_dir=tmp_path / "checker",
    )
    assert out.remaining == 0
    s = summarize(tmp_path / "checker")
    assert next(m for m in s.metrics if m.name == "first wrong step").estimate.mean == 1.0

    # a raw model that always blames line 1: right for bad1 only; verdicts right for both bad ones
    model = KeyedChatModel(lambda prompt: "1")
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="raw"),
        settings,
        tmp_path,
        injected=Injected(model=model),
        run_dir=tmp_path / "raw",
    )
    assert [_metric(tmp_path / "raw", c, "correct") for c in ("ok", "bad2", "bad1")] == [
        0.0,
        0.0,
        1.0,
    ]
    assert [_metric(tmp_path / "raw", c, "verdict_correct") for c in ("ok", "bad2", "bad1")] == [
        0.0,
        1.0,
        1.0,
    ]
    assert "first line that is mathematically wrong" in model.prompts[0][0]["content"]

    # the tutor in check mode: the checker tool finds the step whatever the model writes
    tutor_model = KeyedChatModel(lambda prompt: "Let me look at the steps [1].")
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="tutor", verify=False),
        settings,
        tmp_path,
        injected=Injected(model=tutor_model, retriever=lambda q, k, **kw: []),
        run_dir=tmp_path / "tutor",
    )
    latest = RunDir.open(tmp_path / "tutor").latest()
    assert all(r.status == "ok" for r in latest.values()), latest
    assert [latest[c].metrics["correct"] for c in ("ok", "bad2", "bad1")] == [1.0, 1.0, 1.0]
    assert all("check_derivation" in latest[c].details["solver"]["tool_calls"] for c in latest)


def test_retrieval_suite_scores_hits_and_reciprocal_rank(
    tmp_path: Path, settings: Settings
) -> None:
    rows = [
        {"kind": "retrieval", "id": "first", "query": "sigmoid derivative", "topic": "calculus"},
        {"kind": "retrieval", "id": "second", "query": "p-value meaning", "topic": "statistics"},
        {
            "kind": "retrieval",
            "id": "miss",
            "query": "eigen decomposition",
            "topic": "linear-algebra",
            "language": "ru",
        },
    ]
    ranked = {
        "sigmoid derivative": ["calculus", "probability"],
        "p-value meaning": ["probability", "statistics", "calculus"],
        "eigen decomposition": ["calculus", "statistics", "probability", "regularization"],
    }

    def search(query: str, k: int, **kw: object) -> list[Citation]:
        return [Citation(label=t, topic=t, heading=t, source=t) for t in ranked[query][:k]]

    suite = load_suite(str(_suite(tmp_path / "r.jsonl", rows)))
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="retriever"),
        settings,
        tmp_path,
        injected=Injected(retriever=search),
        run_dir=tmp_path / "run",
    )
    run = tmp_path / "run"
    assert [_metric(run, c, "hit1") for c in ("first", "second", "miss")] == [1.0, 0.0, 0.0]
    assert [_metric(run, c, "hit3") for c in ("first", "second", "miss")] == [1.0, 1.0, 0.0]
    assert [_metric(run, c, "rr") for c in ("first", "second", "miss")] == [1.0, 0.5, 0.0]
    s = summarize(run)
    assert next(m for m in s.metrics if m.name == "MRR").estimate.mean == 0.5
    assert {g.group for g in s.groups["language"]} == {"en", "ru"}


def test_grading_suite_measures_the_graders_ordering(tmp_path: Path, settings: Settings) -> None:
    rows = [
        {
            "kind": "grading",
            "id": "g1",
            "question": "Why do we need a learning rate?",
            "topic": "optimization",
            "answers": [
                {
                    "band": "good",
                    "text": "it scales each step along the negative gradient; too large diverges",
                },
                {"band": "partial", "text": "it scales each step along the negative gradient"},
                {"band": "wrong", "text": "it is the number of epochs"},
            ],
        },
        {
            "kind": "grading",
            "id": "g2",
            "question": "What is a prior?",
            "topic": "probability",
            "answers": [
                {"band": "good", "text": "nothing relevant"},
                {"band": "wrong", "text": "belief before seeing data, updated by the likelihood"},
            ],
        },
    ]
    points = ["scales each step along the negative gradient", "too large diverges"]
    grader = LexicalGrader()
    grader.key_points = {"": points}  # both questions graded on the learning-rate points
    suite = load_suite(str(_suite(tmp_path / "g.jsonl", rows)))
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="grader"),
        settings,
        tmp_path,
        injected=Injected(grader=grader),
        run_dir=tmp_path / "run",
    )
    run = tmp_path / "run"
    assert _metric(run, "g1", "ordering") == 1.0 and _metric(run, "g1", "pairs") == 3.0
    assert (
        _metric(run, "g2", "ordering") == 0.0
    )  # good scored 0, wrong scored 0: not strictly ordered
    s = summarize(run)
    ordering = next(m for m in s.metrics if m.name == "ordering").estimate
    assert ordering.mean == 3 / 4  # pooled over the 4 ordered pairs


def test_a_question_the_grader_has_no_rubric_for_is_an_error(
    tmp_path: Path, settings: Settings
) -> None:
    from mltutor.agent.errors import NoRubricError

    class NoRubric(LexicalGrader):
        def grade(self, question: str, answer: str, **kw: object) -> object:
            if "astrology" in question:
                raise NoRubricError("no rubric: nothing in the question bank or the notes matches")
            return super().grade(question, answer, **kw)  # type: ignore[arg-type]

    rows = [
        {"kind": "qa", "id": "odd", "question": "What is astrology?"},
        {
            "kind": "qa",
            "id": "fine",
            "question": "Why a learning rate?",
            "key_points": ["it scales each step"],
        },
    ]
    suite = load_suite(str(_suite(tmp_path / "q.jsonl", rows)))
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="raw"),
        settings,
        tmp_path,
        injected=Injected(
            model=KeyedChatModel(lambda p: "It scales each step."), grader=NoRubric()
        ),
        run_dir=tmp_path / "run",
    )
    latest = RunDir.open(tmp_path / "run").latest()
    assert latest["odd"].status == "error" and latest["odd"].error is not None
    assert (
        latest["odd"].error.kind == "no_rubric"
        and "nothing in the question bank" in latest["odd"].error.message
    )
    assert latest["fine"].status == "ok" and latest["fine"].metrics["score"] == 10.0
