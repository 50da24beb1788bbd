"""The interview session with the real (deterministic) grader: hints, follow-ups, skip, show answer,
quit mid-interview, cancelled grading, the summary, the Markdown export and the JSON transcript."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from mltutor.agent.errors import Cancelled
from mltutor.agent.grading import Grader
from mltutor.agent.interview import start_interview
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.followups import HINT_COST
from mltutor.agent.interview.leakage import LeakGuard
from mltutor.agent.interview.learner import LearnerStore, open_learner
from mltutor.agent.interview.session import InterviewSession
from tests.agent.interview.conftest import Clock

REG = "regularization-1"


def interview(
    grader: Grader,
    store: LearnerStore,
    clock: Clock,
    topic: str = "regularization",
    n: int = 3,
    **kw: object,
) -> InterviewSession:
    return start_interview(
        grader,
        store,
        topics=[topic],
        n=n,
        clock=clock,
        rng=random.Random(0),
        **kw,  # type: ignore[arg-type]
    )


def first_sentence(text: str) -> str:
    return text.split(". ")[0] + "."


def test_the_first_question_is_the_easiest_new_one_and_nothing_secret_is_shown(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock)
    prompt = s.current
    assert prompt is not None and prompt.kind == "question" and prompt.number == 1
    q = grader.questions[prompt.question_id]
    assert q.topic == "regularization" and q.difficulty == "easy"
    assert prompt.text == q.question and prompt.total == 3
    dumped = prompt.model_dump_json()
    assert q.reference_answer not in dumped
    assert not any(p in dumped for p in q.key_points)
    assert s.open_question_ids == {q.id}


def test_a_hint_nudges_without_the_key_point_and_costs_points(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=1)
    prompt = s.current
    assert prompt is not None
    q = grader.questions[prompt.question_id]
    guard = LeakGuard(q.question, q.key_points, q.reference_answer)
    hint = s.hint()
    assert hint.startswith("Hint:") and not guard.leaks(hint)
    assert s.current is not None and s.current.hints == [hint]
    answer = q.reference_answer
    plain = grader.grade(q.question, answer, question_id=q.id).score
    fb = s.answer(answer)
    assert fb.hints_used == 1 and fb.hint_penalty == HINT_COST
    assert fb.score == pytest.approx(max(0.0, plain - HINT_COST), abs=0.01)
    stored = store.attempts()[0]
    assert stored.hints == 1 and stored.score == fb.score


def test_a_partial_answer_gets_a_follow_up_and_the_rubric_only_at_the_close(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=2)
    prompt = s.current
    assert prompt is not None
    q = grader.questions[prompt.question_id]
    clock.advance(seconds=95)
    fb = s.answer(first_sentence(q.reference_answer))
    assert not fb.closed and fb.score is not None and fb.score < 7
    # open: a score, nothing of the rubric
    assert fb.key_points == [] and fb.reference == "" and fb.formulas == []
    follow = fb.next
    assert follow is not None and follow.kind == "follow_up" and follow.question_id == q.id
    guard = LeakGuard(q.question, q.key_points, q.reference_answer)
    assert not guard.leaks(follow.text)
    # no model: a bank follow-up about the missed point, or a probe of its own words
    assert follow.text in q.follow_ups or follow.text.startswith("Can you say more about")
    assert s.open_question_ids == {q.id}
    # answering the follow-up closes the question (or asks a second one): then the rubric shows
    fb2 = s.answer("I am not sure; the features share the weight somehow.")
    while not fb2.closed:
        fb2 = s.answer("No idea.")
    assert fb2.reference == q.reference_answer
    assert [k.point for k in fb2.key_points] == q.key_points
    assert fb2.follow_ups and fb2.follow_ups[0].text == follow.text
    assert fb2.next is not None and fb2.next.number == 2 and fb2.next.kind == "question"
    kinds = [a.kind for a in store.attempts()]
    assert kinds[0] == "question" and set(kinds[1:]) == {"follow_up"}
    main = store.attempts()[0]
    assert main.duration_s == pytest.approx(95.0) and main.rating is not None
    assert q.id in store.cards()


def test_skip_leaves_the_card_alone_and_show_answer_scores_zero(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=2)
    first = s.current
    assert first is not None
    skipped = s.skip()
    assert skipped.closed and skipped.outcome == "skipped" and skipped.score is None
    assert skipped.reference == ""  # not revealed: it stays a new question for next time
    assert first.question_id not in store.cards()
    second = s.current
    assert second is not None
    revealed = s.show_answer()
    q2 = grader.questions[second.question_id]
    assert revealed.score == 0.0 and revealed.reference == q2.reference_answer
    assert store.cards()[q2.id][1].due > clock.now  # reviewed as Again: back tomorrow
    assert [a.outcome for a in store.attempts()] == ["skipped", "revealed"]
    assert store.attempts()[1].rating == 1  # Again
    assert s.finished and s.current is None


def test_quit_mid_interview_loses_nothing(grader: Grader, tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "learner"
    store, _ = open_learner(data)
    s = interview(grader, store, clock, n=3)
    q1 = s.current
    assert q1 is not None
    fb = s.answer(grader.questions[q1.question_id].reference_answer)
    while not fb.closed:
        fb = s.answer("not sure")
    q2 = s.current
    assert q2 is not None
    clock.advance(minutes=3)
    fb2 = s.answer(first_sentence(grader.questions[q2.question_id].reference_answer))
    summary = s.quit()  # a follow-up may be pending: the answer given stands
    assert summary.status == "quit" and s.finished and s.current is None
    assert [r.outcome for r in summary.questions][:2] == ["answered", "answered"]
    store.close()
    # a new process sees everything
    again, _ = open_learner(data)
    attempts = [a for a in again.attempts() if a.kind == "question"]
    assert [a.question_id for a in attempts] == [q1.question_id, q2.question_id]
    assert attempts[1].score == fb2.score
    assert set(again.cards()) == {q1.question_id, q2.question_id}
    [row] = again.interviews()
    assert row["status"] == "quit" and row["finished_at"] is not None
    saved = again.transcript(row["id"])
    assert saved is not None
    assert [q["id"] for q in saved["questions"]] == [q1.question_id, q2.question_id]
    assert saved["summary"]["status"] == "quit"
    again.close()


def test_cancelled_grading_records_nothing(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=1)
    before = s.current
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        s.answer("L1 adds |w| to the loss.", cancel=cancel)
    assert store.attempts() == [] and store.cards() == {}
    assert s.current == before
    with pytest.raises(InterviewError, match="empty"):
        s.answer("   ")
    assert store.attempts() == []


def test_summary_export_and_json_transcript(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=2, max_follow_ups=0)
    for _ in range(2):
        prompt = s.current
        assert prompt is not None
        clock.advance(minutes=2)
        fb = s.answer(first_sentence(grader.questions[prompt.question_id].reference_answer))
        assert fb.closed  # no follow-ups asked when they are off
    summary = s.summary()
    assert summary.status == "finished" and len(summary.questions) == 2
    assert summary.seconds == pytest.approx(240.0)
    assert summary.topics[0].topic == "regularization" and summary.topics[0].questions == 2
    assert summary.mean_score == pytest.approx(
        sum(r.score or 0 for r in summary.questions) / 2, abs=0.01
    )
    assert summary.weakest_points and all(w.verdict != "covered" for w in summary.weakest_points)  # type: ignore[comparison-overlap]
    assert [d.question_id for d in summary.next_reviews] == sorted(
        [r.question_id for r in summary.questions],
        key=lambda qid: store.cards()[qid][1].due,
    )
    md = s.export_markdown()
    assert md.startswith("# Mock interview ")
    for r in summary.questions:
        assert f"## {r.number}. {r.question}" in md
        assert grader.questions[r.question_id].reference_answer.strip().split("\n")[0] in md
    assert "## Weakest key points" in md and "| # | question |" in md
    data = s.to_json()
    assert set(data) == {"questions", "summary"}
    q0 = data["questions"][0]
    assert {"id", "topic", "difficulty", "question", "answer", "grade", "follow_ups"} <= set(q0)
    assert set(q0["grade"]) >= {
        "score",
        "band",
        "question_id",
        "rubric_source",
        "key_points",
        "math",
        "grader",
    }
    assert data["summary"]["status"] == "finished"


def test_a_point_shown_in_a_follow_up_is_not_a_weak_point(
    grader: Grader, store: LearnerStore, clock: Clock
) -> None:
    s = interview(grader, store, clock, n=1, max_follow_ups=1)
    prompt = s.current
    assert prompt is not None
    q = grader.questions[prompt.question_id]
    fb = s.answer(first_sentence(q.reference_answer))
    assert not fb.closed
    closed = s.answer(q.reference_answer)  # the follow-up answered with everything
    assert closed.closed and len(closed.follow_ups) == 1
    target = closed.follow_ups[0].target
    assert closed.follow_ups[0].grade is not None
    assert closed.follow_ups[0].grade["key_points"][0]["verdict"] == "covered"
    recovered = [k.point for k in closed.key_points if k.recovered]
    assert recovered == [target]
    assert target not in [w.point for w in s.summary().weakest_points]
    stored = store.attempts(kind="question")[0]
    assert [k["point"] for k in stored.key_points if k.get("recovered")] == [target]
    assert "↻ shown in a follow-up: " + target in s.export_markdown()


def test_a_bank_follow_up_is_graded_on_what_it_asks(grader: Grader) -> None:
    from mltutor.agent.interview.followups import FollowUp, follow_up_rubric

    q = grader.questions["regularization-1"]
    rubric = grader.rubric_for(q.question, question_id=q.id, language="en")
    other = grader.questions["statistics-1"]  # a follow-up that asks another bank question
    asked = follow_up_rubric(
        grader, rubric, FollowUp(other.question, "bank", q.key_points[1], 1), "en"
    )
    assert asked.question_id == other.id and asked.key_points == other.key_points
    probe = follow_up_rubric(
        grader, rubric, FollowUp("Say more?", "probe", q.key_points[1], 1), "en"
    )
    assert probe.key_points == [q.key_points[1]] and probe.question_id == q.id
    assert q.key_points[1] not in probe.facts and q.key_points[0] in probe.facts


def test_grading_runs_in_the_stop_flags_cancel_scope(
    grader: Grader, store: LearnerStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a judge or follow-up request made while grading is cut when the user stops (the provider's
    # requests honour the innermost cancel scope: tests/agent/llm/test_cancel.py)
    from mltutor.agent.llm.cancel import current_cancel

    seen: list[object] = []
    real = grader.grade

    def grade(*args: object, **kwargs: object) -> object:
        seen.append(current_cancel())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(grader, "grade", grade)
    s = interview(grader, store, clock, n=1)
    cancel = threading.Event()
    s.answer("L1 adds |w| to the loss.", cancel=cancel)
    assert seen and all(flag is cancel for flag in seen)
    assert current_cancel() is None  # the scope does not outlive the call
