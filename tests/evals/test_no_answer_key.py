"""No answer key in the context: a bank question under evaluation never sees its own chunk.

The retriever below holds the question's own chunk (its reference answer) as the best hit for the
question, the way the real index does; the tutor solver must ask for it to be excluded, and the
model's prompts must not contain the reference answer. A control run with the exclusion removed
shows that the check would catch a leak.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.agent.events import Citation
from mltutor.evals import launch, solvers
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.rundir import RunDir
from mltutor.settings import Settings
from tests.evals.conftest import bank_sample, write_qa_suite
from tests.evals.fakes import KeyedChatModel, LexicalGrader, RecordingRetriever


def _chunks(questions: list) -> list[Citation]:
    out = []
    for q in questions:
        out.append(
            Citation(
                label=f"{q.topic} § question {q.id}",
                topic=q.topic,
                heading="Interview questions",
                source=f"{q.topic}.md",
                score=0.9,
                text=f"{q.question}\n{q.reference_answer}",
                kind="question",
                question_id=q.id,
            )
        )
        out.append(
            Citation(
                label=f"{q.topic} § overview",
                topic=q.topic,
                heading="Overview",
                source=f"{q.topic}.md",
                score=0.5,
                text=f"General notes on {q.topic}.",
            )
        )
    return out


def _run(
    tmp_path: Path, settings: Settings, solver: str
) -> tuple[list, KeyedChatModel, RecordingRetriever, Path]:
    questions = bank_sample(3)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    model = KeyedChatModel(lambda prompt: "The short answer is in the notes [1].")
    retriever = RecordingRetriever(_chunks(questions))
    injected = Injected(model=model, retriever=retriever, grader=LexicalGrader())
    run_dir = tmp_path / f"run-{solver}"
    config = RunConfig(suite=suite.source, solver=solver, verify=False)
    outcome = launch.start(suite, config, settings, tmp_path, injected=injected, run_dir=run_dir)
    assert outcome.errors == 0, RunDir.open(run_dir).records()
    return questions, model, retriever, run_dir


def _leaks(questions: list, model: KeyedChatModel) -> list[str]:
    """Questions whose own reference answer appears in a prompt asking that question (another
    question's chunk may legitimately be retrieved as evidence)."""
    leaked = []
    for prompt in model.prompts:
        sent = "\n".join(str(m["content"]) for m in prompt)
        asked = sent.rsplit("Question:", 1)[-1]  # the tutor's prompt ends with the question
        for q in questions:
            if q.question in asked and q.reference_answer[:80] in sent:
                leaked.append(q.id)
    return leaked


def test_tutor_solver_excludes_the_question_own_chunk(tmp_path: Path, settings: Settings) -> None:
    questions, model, retriever, run_dir = _run(tmp_path, settings, "tutor")
    asked = {q.question: q.id for q in questions}
    assert retriever.calls, "the tutor must retrieve"
    for query, _, exclude in retriever.calls:
        qid = next(i for text, i in asked.items() if text in query)
        assert exclude == (qid,)
    assert model.prompts and _leaks(questions, model) == []
    for record in RunDir.open(run_dir).records():
        retrieved = record.details["solver"]["retrieved_question_ids"]
        assert record.case_id not in retrieved


def test_control_without_exclusion_the_key_would_leak(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = solvers._question_of
    monkeypatch.setattr(solvers, "_question_of", lambda case: (real(case)[0], ()))
    questions, model, _, _ = _run(tmp_path, settings, "tutor")
    assert _leaks(questions, model)  # the check above is able to fail


def test_raw_solver_retrieves_nothing(tmp_path: Path, settings: Settings) -> None:
    questions, model, retriever, _ = _run(tmp_path, settings, "raw")
    assert retriever.calls == [] and len(model.prompts) == len(questions)
    assert _leaks(questions, model) == []
