"""No leakage while a question is open: the tutor chat never retrieves (or leads with) the open
question's own chunk, the progress report leaves its key points out, hints and follow-ups never
repeat a key point or the reference verbatim. Chat answers never count as interview answers."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from mltutor.agent.events import Citation
from mltutor.agent.facade import Tutor
from mltutor.agent.grading import Grader
from mltutor.agent.interview.followups import FollowUp, choose_follow_up, clean_follow_up, hint_for
from mltutor.agent.interview.leakage import LeakGuard
from mltutor.knowledge.bank import load_questions
from mltutor.settings import Settings
from tests.agent.fakes import ScriptedChatModel
from tests.agent.interview.conftest import Clock


class RecordingRetriever:
    """The open question's chunk and a note section, minus what is excluded; records each call."""

    def __init__(self, grader: Grader, question_id: str) -> None:
        q = grader.questions[question_id]
        self.question_id = question_id
        self.hits = [
            Citation(
                label=f"{q.topic} § Q: {q.question[:40]}",
                topic=q.topic,
                heading="Q",
                source=f"notes/{q.topic}.md",
                score=1.0,
                text=f"Interview question: {q.question}\n\n{q.reference_answer}",
                kind="question",
                question_id=q.id,
            ),
            Citation(
                label=f"{q.topic} § Intuition",
                topic=q.topic,
                heading="Intuition",
                source=f"notes/{q.topic}.md",
                score=0.8,
                text="L1 penalises |w|; L2 penalises w². Weight decay is L2 for SGD.",
            ),
        ]
        self.excluded: list[tuple[str, ...]] = []

    def __call__(
        self, query: str, k: int, *, exclude_question_ids: Collection[str] = ()
    ) -> list[Citation]:
        self.excluded.append(tuple(exclude_question_ids))
        return [h for h in self.hits if h.question_id not in set(exclude_question_ids)][:k]


def make_tutor(tmp_path: Path, grader: Grader, retriever: Any, clock: Clock) -> Tutor:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    model = ScriptedChatModel(["L1 can set small weights to zero [1]."] * 6)
    tutor = Tutor(
        settings,
        model_factory=lambda progress: model,
        retriever_factory=lambda progress: retriever,
        grader_factory=lambda s: grader,
    )
    tutor.interviews().clock = clock
    return tutor


def test_the_chat_never_retrieves_or_leads_with_the_open_question(
    grader: Grader, tmp_path: Path, clock: Clock
) -> None:
    holder: list[RecordingRetriever] = []
    tutor = make_tutor(tmp_path, grader, lambda q, k, **kw: holder[0](q, k, **kw), clock)
    try:
        session = tutor.start_interview(["regularization"], n=1, use_model=False)
        assert session.current is not None
        qid = session.current.question_id
        retriever = RecordingRetriever(grader, qid)
        holder.append(retriever)
        reference = grader.questions[qid].reference_answer
        first = reference.split(". ")[0]

        def ask() -> tuple[str, list[Any]]:
            events = list(tutor.ask(grader.questions[qid].question))
            final = [e for e in events if e.type == "final"]
            assert final, [e for e in events if e.type == "error"]
            return final[-1].answer, final[-1].citations

        answer, citations = ask()
        assert retriever.excluded and all(qid in ex for ex in retriever.excluded)
        assert all(c.question_id != qid for c in citations)
        assert first not in answer  # no notes-first lead from the open question
        # control: once the question is closed, the same question gets its chunk and its lead
        session.quit()
        retriever.excluded.clear()
        answer, citations = ask()
        assert retriever.excluded and all(qid not in ex for ex in retriever.excluded)
        assert any(c.question_id == qid for c in citations) or first in answer
        # chat answers are not interview answers: the learner model has none
        assert tutor.interviews().learner().attempts() == []
    finally:
        tutor.close()


def test_progress_leaves_the_open_questions_key_points_out(
    grader: Grader, tmp_path: Path, clock: Clock
) -> None:
    tutor = make_tutor(tmp_path, grader, RecordingRetriever(grader, "regularization-1"), clock)
    try:
        session = tutor.start_interview(["regularization"], n=2, use_model=False)
        prompt = session.current
        assert prompt is not None
        q = grader.questions[prompt.question_id]
        fb = session.answer(q.reference_answer.split(". ")[0] + ".")
        assert not fb.closed  # a follow-up is pending: the question is still open
        assert tutor.open_interview_questions() == {q.id}
        report = tutor.progress()
        assert report.attempts == 1
        assert all(w.question_id != q.id for w in report.weakest_points)
        assert not any(p in report.model_dump_json() for p in q.key_points)
        session.quit()
        assert tutor.open_interview_questions() == set()
        assert any(w.question_id == q.id for w in tutor.progress().weakest_points)
        mastery = {t.slug: t.mastery for t in tutor.topics()}
        assert mastery["regularization"] is not None and mastery["calculus"] is None
    finally:
        tutor.close()


def test_the_guard_catches_verbatim_key_points_and_runs() -> None:
    guard = LeakGuard(
        "Why does L1 give sparse weights?",
        ["the L1 ball has corners on the axes", "L2 shrinks weights proportionally"],
        "Because the L1 ball has corners on the axes, the optimum often lands on one.",
    )
    assert guard.leaks("Hint: the L1 ball has corners on the axes!")
    assert guard.leaks("Note that L2 shrinks weights proportionally.")
    assert guard.leaks("the optimum often lands on one of them")  # a five-word run
    assert not guard.leaks("Why does L1 give sparse weights? Think about the geometry.")
    assert not guard.leaks("Hint: think about 'corners' and 'axes'.")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_hint_in_the_bank_repeats_its_key_point(lang: str) -> None:
    leaked = []
    for q in load_questions():
        points = q.key_points_in(lang)
        guard = LeakGuard(q.text_in(lang), points, q.reference_in(lang))
        for point in points:
            hint = hint_for(point, q.text_in(lang), lang)  # without the guard's fallback
            if guard.leaks(hint):
                leaked.append((q.id, point, hint))
    assert leaked == []


def test_follow_ups_shown_never_leak() -> None:
    shown = 0
    for q in load_questions():
        guard = LeakGuard(q.question, q.key_points, q.reference_answer)
        pick = choose_follow_up(
            question=q.question,
            bank=q.follow_ups,
            used=set(),
            target=q.key_points[0],
            target_index=0,
            lang="en",
            guard=guard,
        )
        if pick is not None:
            shown += 1
            assert not guard.leaks(pick.text)
    assert shown > 100  # nearly every question has a bank follow-up that is safe to ask


class OneReply:
    """A model that answers every request with one text."""

    name = "one-reply"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def complete(self, messages: list[dict[str, Any]], **kw: Any) -> Any:
        from mltutor.agent.llm import Completion

        self.calls += 1
        return Completion(content=self.text)


def test_follow_ups_are_chosen_bank_first_when_on_target() -> None:
    q = load_questions("regularization")[0]
    guard = LeakGuard(q.question, q.key_points, q.reference_answer)
    model = OneReply("What does the shape of the constraint region change here?")

    def embed(similarity: float) -> Any:
        # the target first, then the bank follow-ups: the first one at ``similarity``
        return lambda texts: (
            [[1.0, 0.0]]
            + [
                [similarity, (1 - similarity**2) ** 0.5] if i == 0 else [0.0, 1.0]
                for i in range(len(texts) - 1)
            ]
        )

    def choose(similarity: float, with_model: bool) -> FollowUp | None:
        return choose_follow_up(
            question=q.question,
            bank=q.follow_ups,
            used=set(),
            target=q.key_points[1],
            target_index=1,
            lang="en",
            guard=guard,
            embed=embed(similarity),
            model=model if with_model else None,
        )

    on = choose(0.6, with_model=True)
    assert on is not None and on.source == "bank" and on.text == q.follow_ups[0]
    assert model.calls == 0  # an on-target bank follow-up needs no model
    off = choose(0.1, with_model=True)
    assert off is not None and off.source == "generated" and model.calls == 1
    loose = choose(0.3, with_model=False)
    assert loose is not None and loose.source == "bank"
    probe = choose(0.1, with_model=False)
    assert probe is not None and probe.source == "probe" and "say more about" in probe.text


def test_a_generated_follow_up_that_gives_the_point_away_is_not_asked() -> None:
    q = load_questions("regularization")[0]
    point = q.key_points[1]
    guard = LeakGuard(q.question, q.key_points, q.reference_answer)
    off_target = lambda texts: [[1.0] + [0.0] * 3] + [[0.0, 1.0, 0, 0]] * (len(texts) - 1)  # noqa: E731
    leaky = OneReply(f"Follow-up: is it true that {point}?")
    pick = choose_follow_up(
        question=q.question,
        bank=q.follow_ups,
        used=set(),
        target=point,
        target_index=1,
        lang="en",
        guard=guard,
        embed=off_target,
        model=leaky,
    )
    assert leaky.calls == 1  # the bank's follow-up was off target, so the model was asked ...
    assert pick is not None and pick.source == "probe"  # ... and its leaky question refused
    assert not guard.leaks(pick.text) and pick.target == point
    good = OneReply("Follow-up: what does the shape of the constraint region change here?")
    pick = choose_follow_up(
        question=q.question,
        bank=q.follow_ups,
        used=set(),
        target=point,
        target_index=1,
        lang="en",
        guard=guard,
        embed=off_target,
        model=good,
    )
    assert pick == FollowUp(
        "what does the shape of the constraint region change here?", "generated", point, 1
    )
    assert clean_follow_up("Что меняет форма области ограничений?", "en", guard) is None
    assert clean_follow_up("This is not a question.", "en", guard) is None
