"""The runner in-process: durable records, resume never re-runs a finished case, errors are errors."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from mltutor.agent.errors import ProviderError
from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.reports import summarize
from mltutor.evals.rundir import RunDir
from mltutor.evals.runner import Progress
from mltutor.settings import Settings
from tests.evals.conftest import bank_sample, write_qa_suite
from tests.evals.fakes import KeyedChatModel, LexicalGrader


def reference_answers(questions: list) -> dict[str, str]:
    """A good answer per question: its key points, stated."""
    return {q.question: ". ".join(q.key_points) + "." for q in questions}


def answer_from(table: dict[str, str]) -> callable:  # type: ignore[valid-type]
    def answer(prompt: str) -> str:
        return next(a for q, a in table.items() if q in prompt)

    return answer


def grader_for(questions: list) -> LexicalGrader:
    return LexicalGrader({q.id: q.key_points for q in questions})


def ok_counts(run_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in RunDir.open(run_dir).records():
        if r.status == "ok":
            counts[r.case_id] = counts.get(r.case_id, 0) + 1
    return counts


def test_stop_then_resume_runs_each_case_once(tmp_path: Path, settings: Settings) -> None:
    questions = bank_sample(6)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    model = KeyedChatModel(answer_from(reference_answers(questions)))
    injected = Injected(model=model, grader=grader_for(questions))
    stop = threading.Event()

    def stop_after_two(p: Progress) -> None:
        if p.done >= 2:
            stop.set()

    run_dir = tmp_path / "run"
    config = RunConfig(suite=suite.source, solver="raw")
    first = launch.start(
        suite,
        config,
        settings,
        tmp_path,
        injected=injected,
        run_dir=run_dir,
        on_progress=stop_after_two,
        stop=stop,
    )
    assert first.interrupted and first.ran == 2 and first.remaining == 4
    assert sum(ok_counts(run_dir).values()) == 2
    asked_before = len(model.prompts)
    second = launch.resume(run_dir, settings, injected=injected)
    assert not second.interrupted and second.ran == 4 and second.remaining == 0
    counts = ok_counts(run_dir)
    assert counts == {q.id: 1 for q in questions}
    assert len(model.prompts) - asked_before == 4  # the two finished cases were not asked again
    # a third resume has nothing to do
    third = launch.resume(run_dir, settings, injected=injected)
    assert third.ran == 0 and len(model.prompts) - asked_before == 4
    summary = summarize(run_dir)
    assert summary.scored == 6 and summary.errors == 0 and summary.pending == 0
    score = next(m for m in summary.metrics if m.name == "score").estimate
    assert score.mean is not None and score.mean > 8  # the answers state every key point


def test_errors_and_timeouts_are_recorded_not_scored_and_retried_on_resume(
    tmp_path: Path, settings: Settings
) -> None:
    questions = bank_sample(4)
    table = reference_answers(questions)
    broken, slow = questions[1].question, questions[2].question
    failing = {"on": True}

    def answer(prompt: str) -> str | Exception:
        if broken in prompt and failing["on"]:
            return ProviderError(
                "the model server at http://x answered 503", "server", retryable=True
            )
        if slow in prompt and failing["on"]:
            time.sleep(2.0)
        return answer_from(table)(prompt)

    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    injected = Injected(model=KeyedChatModel(answer, delay=0.01), grader=grader_for(questions))
    run_dir = tmp_path / "run"
    config = RunConfig(suite=suite.source, solver="raw", case_timeout_s=0.5, concurrency=2)
    outcome = launch.start(suite, config, settings, tmp_path, injected=injected, run_dir=run_dir)
    assert outcome.ran == 4 and outcome.errors == 2 and outcome.remaining == 2
    latest = RunDir.open(run_dir).latest()
    assert latest[questions[1].id].error is not None
    assert (
        latest[questions[1].id].error.kind == "provider" and latest[questions[1].id].metrics == {}
    )
    assert (
        latest[questions[2].id].error is not None
        and latest[questions[2].id].error.kind == "timeout"
    )
    summary = summarize(run_dir)
    assert summary.scored == 2 and summary.errors == 2
    assert summary.error_kinds == {"provider": 1, "timeout": 1}
    score = next(m for m in summary.metrics if m.name == "score").estimate
    assert score.n == 2 and score.mean is not None and score.mean > 8  # not dragged down by zeros
    failing["on"] = False
    again = launch.resume(run_dir, settings, injected=injected)
    assert again.ran == 2 and again.errors == 0 and again.remaining == 0
    assert summarize(run_dir).scored == 4
    lines = (run_dir / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6  # append-only: the two error lines are kept, superseded


def test_manifest_and_case_record_contents(tmp_path: Path, settings: Settings) -> None:
    questions = bank_sample(2)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    model = KeyedChatModel(answer_from(reference_answers(questions)))
    run_dir = tmp_path / "run"
    config = RunConfig(suite=suite.source, solver="raw")
    launch.start(
        suite,
        config,
        settings,
        tmp_path,
        injected=Injected(model=model, grader=grader_for(questions)),
        run_dir=run_dir,
    )
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["suite"]["hash"] == suite.hash and manifest["suite"]["kind"] == "qa"
    assert manifest["case_ids"] == [q.id for q in questions]
    assert manifest["model"]["name"] == "keyed-fake"
    assert manifest["mltutor_version"] and manifest["machine"]["cpus"]
    assert "api_key" not in manifest["settings"] and "best_of" in manifest["settings"]
    assert manifest["config"]["solver"] == "raw" and manifest["seed"] == 0
    record = RunDir.open(run_dir).records()[0]
    assert record.status == "ok" and record.answer == ". ".join(questions[0].key_points) + "."
    m = record.metrics
    assert m["prompt_tokens"] and m["completion_tokens"] and m["words"] and m["seconds"] is not None
    assert record.details["tokens_estimated"] is True  # the fake model reports no usage
    assert record.details["tokens_source"] == "estimate"
    # the raw baseline sent no notes: one system and one user message, the question only
    prompt = model.prompts[0]
    assert [x["role"] for x in prompt] == ["system", "user"]
    assert "Notes:" not in prompt[1]["content"]


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_log_heals(
    tmp_path: Path, settings: Settings
) -> None:
    questions = bank_sample(3)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    injected = Injected(
        model=KeyedChatModel(answer_from(reference_answers(questions))),
        grader=grader_for(questions),
    )
    run_dir = tmp_path / "run"
    stop = threading.Event()
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="raw"),
        settings,
        tmp_path,
        injected=injected,
        run_dir=run_dir,
        stop=stop,
        on_progress=lambda p: stop.set() if p.done >= 1 else None,
    )
    with (run_dir / "cases.jsonl").open("ab") as f:
        f.write(
            b'{"case_id": "' + questions[1].id.encode() + b'", "kind": "qa", "sta'
        )  # killed mid-write
    run = RunDir.open(run_dir)
    assert len(run.records()) == 1 and run.skipped_lines == 1
    launch.resume(run_dir, settings, injected=injected)
    assert ok_counts(run_dir) == {q.id: 1 for q in questions}
    assert summarize(run_dir).unreadable_lines == 1


def test_judge_flag_builds_the_grader_with_the_judge_model(
    tmp_path: Path, settings: Settings, monkeypatch: object
) -> None:
    import mltutor.agent.grading as grading

    built: list[object] = []
    questions = bank_sample(1)

    def fake_create_grader(
        settings: Settings, *, judge: object = None, **kw: object
    ) -> LexicalGrader:
        built.append(judge)
        return LexicalGrader({q.id: q.key_points for q in questions})

    monkeypatch.setattr(grading, "create_grader", fake_create_grader)  # type: ignore[attr-defined]
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    model = KeyedChatModel(answer_from(reference_answers(questions)))
    judge = KeyedChatModel(lambda p: "{}")
    run_dir = tmp_path / "run"
    config = RunConfig(suite=suite.source, solver="raw", judge=True)
    launch.start(
        suite,
        config,
        settings,
        tmp_path,
        injected=Injected(model=model, judge=judge),
        run_dir=run_dir,
    )
    assert built == [judge]
    manifest = RunDir.open(run_dir).manifest()
    assert manifest.grader["mode"] == "judge" and manifest.judge is not None
    assert manifest.judge.name == "keyed-fake" and manifest.config.judge
    # without --judge the grader gets no model: deterministic and reproducible
    built.clear()
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="raw"),
        settings,
        tmp_path,
        injected=Injected(model=model, judge=judge),
        run_dir=tmp_path / "run2",
    )
    assert (
        built == [None]
        and RunDir.open(tmp_path / "run2").manifest().grader["mode"] == "deterministic"
    )
