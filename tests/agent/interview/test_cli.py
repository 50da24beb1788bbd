"""`mltutor interview` end to end in scriptable mode (answers on stdin, each ended by `---`), with
a scripted model for follow-ups: five questions chosen by the learner model, graded, follow-ups
asked and graded, summary and export, attempts and FSRS cards stored, `mltutor progress --json`
and `mltutor topics --json` reflecting them, and the next (simulated) day's interview starting with
the due reviews."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mltutor.agent import facade
from mltutor.agent.grading import Grader
from mltutor.agent.interview.learner import open_learner
from mltutor.agent.interview.scheduling import day_end
from mltutor.agent.llm import Completion
from mltutor.cli import main
from mltutor.knowledge.questions import DIFFICULTIES
from tests.agent.fakes import ScriptedChatModel
from tests.agent.interview.conftest import Clock

GENERIC = "I would start from the definition and its assumptions, but I do not remember more."
FOLLOW_UPS = [
    "What changes in your answer when the sample is small?",
    "How would you check that assumption on real data?",
    "What goes wrong when the observations are not independent?",
    "How does that show up in an A/B test?",
    "Which of those quantities would you report to a product manager?",
    "What would make you distrust that estimate?",
] * 3


class Run:
    """Runs ``mltutor`` in-process with a scripted model, a fixed clock and a shared grader."""

    def __init__(self, tmp_path: Path, grader: Grader, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data = tmp_path / "data"
        self.clock = Clock(datetime.now(UTC).replace(microsecond=0))
        self.model = ScriptedChatModel(
            ["(the tutor is not asked here)"], [Completion(content=t) for t in FOLLOW_UPS]
        )
        monkeypatch.setenv("MLTUTOR_DATA_DIR", str(self.data))
        monkeypatch.setenv("MLTUTOR_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "no-config.toml"))
        self._monkeypatch = monkeypatch

        def create_service(settings: Any, **factories: Any) -> facade.Tutor:
            tutor = facade.Tutor(
                settings,
                model_factory=lambda progress: self.model,
                retriever_factory=lambda progress: lambda q, k, **kw: [],
                grader_factory=lambda s: grader,
            )
            host = tutor.interviews()
            host.clock, host.tz = self.clock, UTC
            return tutor

        monkeypatch.setattr(facade, "create_service", create_service)

    def __call__(
        self, argv: list[str], stdin: str, capsys: pytest.CaptureFixture[str]
    ) -> tuple[int, str, str]:
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(argv)
        out = capsys.readouterr()
        return code, out.out, out.err


def expected_order(grader: Grader, topic: str) -> list[str]:
    """New questions of one topic: easy before medium before hard, in bank order."""
    qs = [q for q in grader.questions.values() if q.topic == topic]
    return [q.id for q in sorted(qs, key=lambda q: DIFFICULTIES.index(q.difficulty))]


def test_five_questions_then_the_next_day_starts_with_the_due_reviews(
    grader: Grader,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(tmp_path, grader, monkeypatch)
    order = expected_order(grader, "statistics")[:5]
    second = grader.questions[order[1]]
    partial = ". ".join(second.reference_answer.split(". ")[:2]) + "."
    blocks = ["show answer", partial, *[GENERIC] * 12]
    export = tmp_path / "interview.md"
    code, out, err = run(
        ["interview", "--topic", "statistics", "-n", "5", "--json", "--export", str(export)],
        "\n---\n".join(blocks) + "\n---\n",
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    questions = data["questions"]
    # chosen by the learner model (nothing known yet: new questions, easiest first), never twice
    assert [q["id"] for q in questions] == order
    assert questions[0]["outcome"] == "revealed" and questions[0]["score"] == 0.0
    for q in questions[1:]:
        assert q["outcome"] == "answered" and q["grade"]["question_id"] == q["id"]
        assert 0 <= q["grade"]["score"] <= 10 and q["grade"]["key_points"]
    assert questions[1]["answer"] == partial
    # follow-ups were asked after the partial answer and graded the same way
    asked = questions[1]["follow_ups"]
    assert asked and all(f["grade"] is not None and f["outcome"] == "answered" for f in asked)
    assert all(f["source"] in ("bank", "generated", "probe") for f in asked)
    summary = data["summary"]
    assert summary["status"] == "finished" and len(summary["topics"]) == 1
    assert summary["next_reviews"] and summary["weakest_points"]
    assert "Interview" in err and "score" in err  # the text went to stderr with --json
    assert export.read_text(encoding="utf-8").startswith("# Mock interview")
    # stored: every attempt and an FSRS card per question
    store, _ = open_learner(run.data)
    graded = store.attempts(kind="question")
    assert [a.question_id for a in graded] == order
    assert len(store.attempts(kind="follow_up")) == sum(len(q["follow_ups"]) for q in questions)
    cards = store.cards()
    assert set(cards) == set(order)
    store.close()
    # progress reflects it
    code, out, _ = run(["progress", "--json"], "", capsys)
    report = json.loads(out)
    assert report["attempts"] == 5 and report["interviews"] == 1
    stats = next(t for t in report["topics"] if t["slug"] == "statistics")
    assert stats["practised"] == 5 and stats["attempts"] == 5 and stats["mastery"] is not None
    week = {d["question_id"] for d in report["due_week"]}
    assert order[0] in week  # shown the answer: Again, back tomorrow
    code, out, _ = run(["progress"], "", capsys)
    assert code == 0 and "5 graded answer(s) in 1 interview(s)" in out
    assert "statistics" in out and "score history" in out and "running mean" in out
    assert "Weakest key points:" in out
    code, out, _ = run(["topics", "--json"], "", capsys)
    topics = {t["slug"]: t for t in json.loads(out)}
    assert topics["statistics"]["mastery"] is not None and topics["calculus"]["mastery"] is None
    # the next day: the due reviews come first, most overdue first
    run.clock.advance(days=1)
    horizon = day_end(run.clock(), UTC)
    due = sorted((card.due, qid) for qid, (_, card) in cards.items() if card.due <= horizon)
    assert due and due[0][1] == order[0]
    code, out, err = run(["interview", "-n", "5", "--json"], "quit\n---\n", capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"]["status"] == "quit"
    code, out, err = run(
        ["interview", "-n", str(len(due) + 1), "--json", "--follow-ups", "0"],
        "\n---\n".join([GENERIC] * (len(due) + 1)),
        capsys,
    )
    data = json.loads(out)
    ids = [q["id"] for q in data["questions"]]
    assert ids[: len(due)] == [qid for _, qid in due]
    assert all(q["review"] for q in data["questions"][: len(due)])
    assert not data["questions"][len(due)]["review"]
    assert ids[len(due)] not in cards  # then a new question


def test_stdin_running_out_stops_and_saves(
    grader: Grader,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(tmp_path, grader, monkeypatch)
    code, out, err = run(
        ["interview", "--topic", "calculus", "-n", "3", "--no-model"], "skip\n---\n", capsys
    )
    assert code == 0, err
    assert "no more answers" in out and "quit" in out
    store, _ = open_learner(run.data)
    assert [a.outcome for a in store.attempts()] == ["skipped"]
    assert store.interviews()[0]["status"] == "quit"
    store.close()


def test_bad_options_are_clear_errors(
    grader: Grader,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(tmp_path, grader, monkeypatch)
    code, _, err = run(["interview", "--topic", "astrology"], "", capsys)
    assert code == 2 and "no topic 'astrology'" in err and "mltutor topics" in err
    code, _, err = run(
        ["interview", "--topic", "vc-pac", "--difficulty", "hard", "-n", "0"], "", capsys
    )
    assert code == 2 and "at least one question" in err


def test_the_day_changes_at_local_midnight(grader: Grader) -> None:
    # a card due at 18:00 tomorrow is due in tomorrow morning's session, not today's
    morning = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert morning.replace(hour=18) <= day_end(morning, UTC)
    assert morning.replace(hour=18) > day_end(morning - timedelta(days=1), UTC)
