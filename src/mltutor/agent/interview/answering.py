"""Grading one answer and choosing what follows it: the slow part of an interview turn.

:meth:`InterviewSession.answer <mltutor.agent.interview.session.InterviewSession.answer>` calls
:class:`AnswerGrader` without holding the session's lock (grading takes seconds and a front end
runs it in a worker), then commits the :class:`Graded` result under the lock. Nothing here changes
the open question or writes to the learner database, so an answer whose grading is cancelled, or
fails, leaves no trace: that is why grading lives apart from the state machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mltutor.agent.errors import Cancelled, GradingError
from mltutor.agent.grading import Grade, Grader, Rubric
from mltutor.agent.interview import followups as fu
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.recording import OpenQuestion

ModelProvider = Callable[[], Any]
"""Returns a chat model for generating follow-ups, or None when none is available."""


@dataclass
class Graded:
    """An answer's grade and the follow-up to ask next, not yet committed to the session."""

    grade: Grade
    """The grader's verdict on the answer."""
    next: fu.FollowUp | None
    """The follow-up to ask next; None closes the question."""
    weak: list[int]
    """For a main answer: the key points it missed, weakest first (empty for a follow-up)."""
    budget: int = 0
    """For a main answer: how many follow-ups the question may get."""


def penalised(score: float, hints: int) -> float:
    """The score after the hint penalty (:data:`~.followups.HINT_COST` per hint, never below 0)."""
    return round(max(0.0, score - fu.HINT_COST * hints), 2)


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set (the answer is then not recorded)."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("grading stopped; the answer was not recorded")


class AnswerGrader:
    """Grades main answers and follow-up answers and picks the next follow-up (see module docs)."""

    def __init__(
        self, grader: Grader, lang: str, model: ModelProvider | None, max_follow_ups: int
    ) -> None:
        self._grader, self._lang, self._model = grader, lang, model
        self._max_follow_ups = max_follow_ups

    def main(self, item: OpenQuestion, text: str) -> Graded:
        """Grade the answer to the bank question; plan its follow-ups and choose the first."""
        grade = self._grade(item.text, text, item.rubric)
        weak = fu.weak_points(grade.to_json())
        score = penalised(grade.score, len(item.hints))
        budget = fu.plan_follow_ups(score, weak, self._max_follow_ups)
        nxt = self._choose(item, weak[0]) if budget else None
        return Graded(grade=grade, next=nxt, weak=weak, budget=budget)

    def follow_up(self, item: OpenQuestion, pending: fu.FollowUp, text: str) -> Graded:
        """Grade the answer to the pending follow-up; choose another if the budget and the
        answer allow it."""
        grade = self._grade(
            pending.text,
            text,
            fu.follow_up_rubric(self._grader, item.rubric, pending, self._lang),
        )
        nxt = None
        remaining = [i for i in item.weak if i != pending.target_index]
        more = item.budget > len(item.result.follow_ups) and grade.score >= fu.SECOND_NEEDS
        if more and remaining:
            nxt = self._choose(item, remaining[0])
        return Graded(grade=grade, next=nxt, weak=[])

    def _grade(self, question: str, answer: str, rubric: Rubric) -> Grade:
        try:
            return self._grader.grade(question, answer, rubric=rubric)
        except GradingError as exc:
            raise InterviewError(f"the answer could not be graded: {exc.message}") from exc

    def _choose(self, item: OpenQuestion, target: int) -> fu.FollowUp | None:
        used = {f.text for f in item.result.follow_ups}
        model = None
        if self._model is not None:
            try:
                model = self._model()
            except Exception:  # no model now: the bank's follow-ups will do
                model = None
        return fu.choose_follow_up(
            question=item.text,
            bank=item.pick.question.follow_ups_in(self._lang),
            used=used,
            target=item.rubric.key_points[target],
            target_index=target,
            lang=self._lang,
            guard=item.guard,
            embed=getattr(self._grader, "embed", None),
            model=model,
        )
