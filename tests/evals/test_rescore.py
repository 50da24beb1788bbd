"""Re-grading stored answers: same answers, seconds and tokens; fresh grades; comparisons warn when
two runs were scored by different grader versions."""

from __future__ import annotations

from pathlib import Path

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import Citation
from mltutor.evals import launch
from mltutor.evals.ablate import parse_grid, run_grid, summarize_grid
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.reports import compare
from mltutor.evals.rescore import rescore, rescore_path
from mltutor.evals.rundir import RunDir
from mltutor.settings import Settings
from tests.evals.conftest import bank_sample, write_qa_suite
from tests.evals.fakes import KeyedChatModel, LexicalGrader, RecordingRetriever


def test_rescore_regrades_the_stored_answers(tmp_path: Path, settings: Settings) -> None:
    questions = bank_sample(3)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    broken = questions[2].question

    def answer(prompt: str) -> str | Exception:
        if broken in prompt:
            return ProviderError("the server answered 500", "server")
        q = next(q for q in questions if q.question in prompt)
        return f"{q.key_points[1]} [1]."

    notes = [
        Citation(label="n", topic=q.topic, heading="h", source="s", text=q.key_points[0])
        for q in questions
    ]
    first = LexicalGrader({q.id: q.key_points for q in questions})  # all key points: partial credit
    injected = Injected(
        model=KeyedChatModel(answer), retriever=RecordingRetriever(notes), grader=first
    )
    src = tmp_path / "run"
    launch.start(
        suite,
        RunConfig(suite=suite.source, solver="tutor", verify=False),
        settings,
        tmp_path,
        injected=injected,
        run_dir=src,
    )
    before = RunDir.open(src).latest()
    assert (
        before[questions[0].id].metrics["score"] < 10 and before[questions[2].id].status == "error"
    )
    assert before[questions[0].id].details["hits"]  # the notes an answer cites are kept

    second = LexicalGrader({q.id: q.key_points[1:2] for q in questions})  # one point now
    target = tmp_path / "again"
    n = rescore(src, target, second, settings.tools, {"mode": "deterministic", "fingerprint": "v2"})
    assert n == 3
    after = RunDir.open(target).latest()
    for q in questions[:2]:
        old, new = before[q.id], after[q.id]
        assert new.answer == old.answer
        assert new.metrics["seconds"] == old.metrics["seconds"]
        assert old.metrics["first_content_seconds"] is not None
        assert new.metrics["first_content_seconds"] == old.metrics["first_content_seconds"]
        assert new.metrics["prompt_tokens"] == old.metrics["prompt_tokens"]
        assert new.metrics["score"] == 10.0 > old.metrics["score"]  # type: ignore[operator]
        assert new.metrics["cited"] == old.metrics["cited"]
    assert after[questions[2].id].status == "error"  # errors stay errors
    manifest = RunDir.open(target).manifest()
    assert manifest.grader["fingerprint"] == "v2" and manifest.grader["rescored_from"] == str(src)
    assert manifest.case_ids == RunDir.open(src).manifest().case_ids


def test_different_grader_versions_are_flagged_and_an_ablation_is_rescored_whole(
    tmp_path: Path, settings: Settings
) -> None:
    questions = bank_sample(2)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    table = {q.question: q.key_points[0] + "." for q in questions}
    model = KeyedChatModel(lambda p: next(a for q, a in table.items() if q in p))
    injected = Injected(
        model=model,
        retriever=RecordingRetriever([]),
        grader=LexicalGrader({q.id: q.key_points for q in questions}),
    )
    path, _ = run_grid(
        suite,
        parse_grid("1", "on", raw=True),
        RunConfig(suite=suite.source, solver="tutor"),
        settings,
        tmp_path,
        injected=injected,
    )
    for cell, fingerprint in (("raw", "old"), ("bo1-verify", "new")):  # as if the grader changed
        manifest_path = path / cell / "manifest.json"
        manifest = RunDir.open(path / cell).manifest()
        manifest.grader["fingerprint"] = fingerprint
        manifest_path.write_text(manifest.model_dump_json(), encoding="utf-8")
    assert compare(path / "bo1-verify", path / "raw").same_grader is False
    assert any("different grader versions" in n for n in summarize_grid(path).notes)

    regrader = LexicalGrader({q.id: q.key_points for q in questions})
    target = rescore_path(
        path, tmp_path / "out", settings, grader=regrader, info={"fingerprint": "one"}
    )
    assert compare(target / "bo1-verify", target / "raw").same_grader is True
    assert not any("different grader versions" in n for n in summarize_grid(target).notes)
    assert regrader.calls == 4  # two cells x two answers, graded again
