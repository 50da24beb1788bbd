"""Starting an interview from the learner model, and the progress report (what the service calls)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import tzinfo

from mltutor.agent.grading import Grader
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.followups import MAX_FOLLOW_UPS
from mltutor.agent.interview.learner import LearnerStore
from mltutor.agent.interview.progress import build_report, topic_mastery
from mltutor.agent.interview.records import ProgressReport
from mltutor.agent.interview.scheduling import Clock, day_end, utc_now
from mltutor.agent.interview.selection import select_questions
from mltutor.agent.interview.session import InterviewSession, ModelProvider
from mltutor.knowledge.notes import Note

DEFAULT_QUESTIONS = 5
"""Questions in an interview unless told otherwise."""
MAX_QUESTIONS = 50
"""The most one interview asks."""


def start_interview(
    grader: Grader,
    learner: LearnerStore,
    *,
    topics: Iterable[str] = (),
    difficulty: str | None = None,
    n: int = DEFAULT_QUESTIONS,
    lang: str = "en",
    clock: Clock = utc_now,
    tz: tzinfo | None = None,
    rng: random.Random | None = None,
    model: ModelProvider | None = None,
    max_follow_ups: int = MAX_FOLLOW_UPS,
) -> InterviewSession:
    """Pick the questions (due reviews, weakest topics, new: see ``selection``) and open the first.

    Raises :class:`~mltutor.agent.interview.errors.InterviewError` for an unknown topic or
    difficulty, or filters that leave no question.
    """
    if not 1 <= n <= MAX_QUESTIONS:
        raise InterviewError(
            f"an interview has at least one question and at most {MAX_QUESTIONS} (got -n {n})"
        )
    now = clock()
    wanted = list(topics)
    cards = learner.cards()
    mastery = topic_mastery(cards, learner.last_graded(), now)
    picks = select_questions(
        list(grader.questions.values()),
        n=n,
        cards={qid: card for qid, (_, card) in cards.items()},
        mastery=mastery,
        horizon=day_end(now, tz),
        topics=wanted,
        difficulty=difficulty,
        rng=rng,
    )
    return InterviewSession(
        grader=grader,
        learner=learner,
        picks=picks,
        lang=lang,
        clock=clock,
        tz=tz,
        model=model,
        max_follow_ups=max_follow_ups,
        filters={"topics": wanted, "difficulty": difficulty, "n": n},
    )


def progress_report(
    learner: LearnerStore,
    notes: list[Note],
    *,
    clock: Clock = utc_now,
    tz: tzinfo | None = None,
    exclude: Iterable[str] = (),
) -> ProgressReport:
    """Mastery, attempts, due reviews, weakest key points and the score history."""
    return build_report(learner, notes, clock(), tz=tz, exclude=exclude)


def mastery_by_topic(learner: LearnerStore, *, clock: Clock = utc_now) -> dict[str, float]:
    """topic -> mastery now, for the topics practised (for the topics list)."""
    return topic_mastery(learner.cards(), learner.last_graded(), clock())
