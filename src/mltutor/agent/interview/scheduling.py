"""Spaced repetition with FSRS (the maintained ``fsrs`` package, py-fsrs 6): score → rating, reviews.

**Score → rating** (:func:`rating_for`), the 0-10 interview score after the hint penalty:

==========  ========  ==================================================================
score       rating    why
==========  ========  ==================================================================
< 5         Again     fewer than half the key points: the answer would fail an interview
5 - 6.99    Hard      passable but with gaps
7 - 8.99    Good      a good answer (the grader's "good" band starts at 7)
>= 9        Easy      complete
==========  ========  ==================================================================

A **wrong core formula** forces Again whatever the score: a formula the grader counted against a
key point (a key point contradicted by a wrong formula) is the mistake an interviewer remembers.
``show answer`` scores 0 (Again); a skip is not graded and leaves the card alone.

**Learning steps.** py-fsrs defaults to 1 and 10 *minutes*, made for flash-card sessions that
repeat a card within minutes. Interviews are practised in sessions days apart and a question is
never asked twice in one interview, so minute steps would only push every new card into the next
session anyway, as "learning" for ever. Here a new or forgotten question has one step of one day
(:data:`LEARNING_STEPS`, :data:`RELEARNING_STEPS`): Again brings it back tomorrow, Hard in a day
and a half, Good or Easy graduate it to FSRS's own intervals (with the default parameters: about
2 days after a first Good, 8 after a first Easy, growing from there). A card counts as due for the
whole local day it falls on (:func:`day_end`), so "tomorrow at 18:00" is asked in tomorrow
morning's session.

Fuzzing is off: with a few questions a day the load balancing it buys does not matter, and a fixed
clock then gives a fixed schedule (the tests rely on it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from fsrs import Card, Rating, Scheduler, State

Clock = Callable[[], datetime]
"""Returns the current time as a timezone-aware UTC datetime (injectable for tests)."""

LEARNING_STEPS = (timedelta(days=1),)
"""A new question answered badly comes back the next day (see the module docs)."""
RELEARNING_STEPS = (timedelta(days=1),)
"""A forgotten question (Again in review) comes back the next day."""
DESIRED_RETENTION = 0.9
"""FSRS's default target: intervals are set so recall at the due date is 90 % likely."""

AGAIN_BELOW = 5.0
"""Scores below this are Again."""
HARD_BELOW = 7.0
"""Scores in [AGAIN_BELOW, HARD_BELOW) are Hard."""
GOOD_BELOW = 9.0
"""Scores in [HARD_BELOW, GOOD_BELOW) are Good; from here on Easy."""

STATE_NAMES: dict[State, str] = {
    State.Learning: "learning",
    State.Review: "review",
    State.Relearning: "relearning",
}


def utc_now() -> datetime:
    """The default clock: now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day_end(now: datetime, tz: tzinfo | None = None) -> datetime:
    """The end of the local day ``now`` falls on, in UTC (``tz`` None: the system's zone)."""
    local = as_utc(now).astimezone(tz)
    end = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return as_utc(end) - timedelta(microseconds=1)


def make_scheduler() -> Scheduler:
    """The scheduler every interview uses (default FSRS-6 parameters, day-long steps, no fuzz)."""
    return Scheduler(
        desired_retention=DESIRED_RETENTION,
        learning_steps=LEARNING_STEPS,
        relearning_steps=RELEARNING_STEPS,
        enable_fuzzing=False,
    )


def rating_for(score: float, *, wrong_core_formula: bool = False) -> Rating:
    """The FSRS rating of an interview score (see the table in the module docs)."""
    if wrong_core_formula or score < AGAIN_BELOW:
        return Rating.Again
    if score < HARD_BELOW:
        return Rating.Hard
    if score < GOOD_BELOW:
        return Rating.Good
    return Rating.Easy


def has_wrong_core_formula(grade: dict[str, Any]) -> bool:
    """Whether a key point of the grade (``to_json`` shape) is contradicted by a wrong formula."""
    return any(
        k.get("verdict") == "contradicted" and str(k.get("reason", "")).startswith("wrong formula")
        for k in grade.get("key_points", [])
    )


def new_card(question_id: str, now: datetime) -> Card:
    """A fresh card for ``question_id``, due at ``now`` (its id is stable per question)."""
    return Card(card_id=card_id_of(question_id), due=as_utc(now))


def card_id_of(question_id: str) -> int:
    """A stable positive integer id for a question's card (FSRS wants an int)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(question_id.encode()).digest()[:6], "big")


def review(
    scheduler: Scheduler, card: Card, rating: Rating, now: datetime, duration_s: float | None = None
) -> Card:
    """The card after a review with ``rating`` at ``now``."""
    ms = None if duration_s is None else max(0, round(duration_s * 1000))
    updated, _log = scheduler.review_card(card, rating, as_utc(now), ms)
    return updated


def retrievability(scheduler: Scheduler, card: Card, now: datetime) -> float:
    """FSRS's probability that the learner recalls the card's question at ``now``, in [0, 1]."""
    return float(scheduler.get_card_retrievability(card, as_utc(now)))


def state_name(card: Card) -> str:
    """learning, review or relearning."""
    return STATE_NAMES.get(card.state, "learning")


__all__ = [
    "LEARNING_STEPS",
    "RELEARNING_STEPS",
    "Card",
    "Clock",
    "Rating",
    "Scheduler",
    "as_utc",
    "day_end",
    "has_wrong_core_formula",
    "make_scheduler",
    "new_card",
    "rating_for",
    "retrievability",
    "review",
    "state_name",
    "utc_now",
]
