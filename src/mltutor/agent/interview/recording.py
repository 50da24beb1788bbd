"""Writing an interview's answers to the learner model: attempts, FSRS reviews, cards, topic mastery.

:class:`Recorder` keeps the learner's cards and last answers in memory (loaded once per interview)
so that choosing, scheduling and the mastery after each answer cost no extra queries; each graded
question is one transaction in the learner database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mltutor.agent.grading import Grade, Rubric
from mltutor.agent.interview.followups import FollowUp
from mltutor.agent.interview.leakage import LeakGuard
from mltutor.agent.interview.learner import Attempt, LearnerStore
from mltutor.agent.interview.progress import topic_mastery
from mltutor.agent.interview.records import FollowUpResult, Outcome, QuestionResult
from mltutor.agent.interview.scheduling import (
    Card,
    has_wrong_core_formula,
    make_scheduler,
    new_card,
    rating_for,
    review,
)
from mltutor.agent.interview.selection import Pick


@dataclass
class OpenQuestion:
    """The running state of one bank question of an interview."""

    pick: Pick
    """The question and why it was chosen."""
    number: int
    """1-based position."""
    text: str
    """The question as asked."""
    rubric: Rubric
    """What it is graded against (never shown while it is open)."""
    guard: LeakGuard
    """Its secrets, for checking what is shown."""
    shown_at: datetime
    """When it was put on screen."""
    result: QuestionResult
    """What the summary will say about it, filled as it goes."""
    hints: list[str] = field(default_factory=list)
    """Hints given."""
    weak: list[int] = field(default_factory=list)
    """Key point indices the main answer missed, weakest first."""
    budget: int = 0
    """Follow-ups it may get."""
    pending: FollowUp | None = None
    """The follow-up being asked, if any."""
    pending_since: datetime | None = None
    """When that follow-up was shown."""
    attempt_id: int | None = None
    """The stored attempt of the main answer."""
    closed: bool = False
    """Whether it is closed (rubric and reference revealed)."""


def band_after_penalty(grader_band: str, score: float) -> str:
    """The band after the hint penalty (a "wrong" from a false statement stays wrong)."""
    if grader_band == "wrong":
        return "wrong"
    return "good" if score >= 7.0 else "partial" if score >= 4.0 else "wrong"


class Recorder:
    """Records one interview's answers (see the module docs)."""

    def __init__(
        self, learner: LearnerStore, interview_id: str, lang: str, clock: Callable[[], datetime]
    ) -> None:
        self._learner, self._id, self._lang, self._clock = learner, interview_id, lang, clock
        self.scheduler = make_scheduler()
        """The FSRS scheduler (see :mod:`mltutor.agent.interview.scheduling`)."""
        self.cards: dict[str, tuple[str, Card]] = learner.cards()
        """question id -> (topic, card), kept current."""
        self.last: dict[str, Attempt] = learner.last_graded()
        """question id -> its latest graded answer, kept current."""

    def mastery(self, now: datetime | None = None) -> dict[str, float]:
        """topic -> mastery now."""
        return topic_mastery(self.cards, self.last, now or self._clock(), self.scheduler)

    def graded(
        self,
        item: OpenQuestion,
        text: str,
        score: float,
        grade: Grade | None,
        outcome: Literal["answered", "revealed"],
    ) -> None:
        """A graded question: attempt, FSRS review and card, topic mastery, in one transaction."""
        q = item.pick.question
        now = self._clock()
        data = grade.to_json() if grade is not None else {"score": 0.0, "key_points": []}
        rating = rating_for(score, wrong_core_formula=has_wrong_core_formula(data))
        duration = max(0.0, (now - item.shown_at).total_seconds())
        card = self.cards.get(q.id, (q.topic, new_card(q.id, now)))[1]
        card = review(self.scheduler, card, rating, now, duration)
        band = "wrong" if grade is None else band_after_penalty(grade.band, score)
        r = item.result
        r.answer, r.outcome, r.score, r.band, r.seconds = text, outcome, score, band, duration
        r.grade = data if grade is not None else None
        r.rating, r.next_review = rating.name, card.due
        attempt = self._attempt(item, text, score, outcome, band=band, rating=int(rating))
        cards = {**self.cards, q.id: (q.topic, card)}
        last = {**self.last, q.id: attempt}
        mastery = topic_mastery(cards, last, now, self.scheduler).get(q.topic, 0.0)
        item.attempt_id = self._learner.record(attempt, card=card, mastery=(q.topic, mastery))
        self.cards, self.last = cards, last

    def skipped(self, item: OpenQuestion) -> None:
        """A skipped question: stored for the history, not graded, its card left alone."""
        item.result.outcome = "skipped"
        self._learner.record(self._attempt(item, "", None, "skipped"))

    def follow_up(
        self, item: OpenQuestion, text: str, grade: Grade | None, outcome: Outcome
    ) -> FollowUpResult:
        """The pending follow-up's answer (graded, skipped or revealed); the card is unchanged."""
        assert item.pending is not None
        now = self._clock()
        result = item.result.follow_ups[-1]
        result.answer, result.outcome = text, outcome
        result.score = (
            grade.score if grade is not None else (0.0 if outcome == "revealed" else None)
        )
        result.band = grade.band if grade is not None else None
        result.grade = grade.to_json() if grade is not None else None
        q = item.pick.question
        target = item.pending.target_index
        shown = (
            grade is not None
            and grade.rubric.key_points == [item.pending.target]  # graded on the missed point
            and any(k.verdict == "covered" for k in grade.key_points)
        )
        if shown and target < len(item.result.key_points):  # the follow-up showed the point
            item.result.key_points[target].recovered = True
            points = [k.model_dump() for k in item.result.key_points]
            if item.attempt_id is not None:
                self._learner.update_key_points(item.attempt_id, points)
            if q.id in self.last:
                self.last[q.id] = self.last[q.id].model_copy(update={"key_points": points})
        since = item.pending_since or now
        self._learner.record(
            Attempt(
                interview_id=self._id,
                question_id=q.id,
                topic=q.topic,
                difficulty=q.difficulty,
                kind="follow_up",
                parent_id=item.attempt_id,
                prompt=item.pending.text,
                answer=text,
                score=result.score,
                band=result.band,
                outcome=outcome,
                key_points=(result.grade or {}).get("key_points", []),
                grade=result.grade,
                duration_s=max(0.0, (now - since).total_seconds()),
                answered_at=now,
                lang=self._lang,
            )
        )
        item.pending = None
        return result

    def _attempt(
        self,
        item: OpenQuestion,
        text: str,
        score: float | None,
        outcome: str,
        *,
        band: str | None = None,
        rating: int | None = None,
    ) -> Attempt:
        q = item.pick.question
        now = self._clock()
        return Attempt(
            interview_id=self._id,
            question_id=q.id,
            topic=q.topic,
            difficulty=q.difficulty,
            kind="question",
            prompt=item.text,
            answer=text,
            score=score,
            band=band,
            outcome=outcome,
            hints=len(item.hints),
            key_points=[k.model_dump() for k in item.result.key_points],
            grade=item.result.grade,
            duration_s=max(0.0, (now - item.shown_at).total_seconds()),
            answered_at=now,
            lang=self._lang,
            rating=rating,
        )
