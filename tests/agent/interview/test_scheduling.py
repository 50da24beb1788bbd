"""FSRS scheduling with a fixed clock: score → rating, day-long learning steps, due for the whole day."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fsrs import Rating, State
from fsrs.scheduler import DEFAULT_PARAMETERS

from mltutor.agent.interview.scheduling import (
    card_id_of,
    day_end,
    has_wrong_core_formula,
    make_scheduler,
    new_card,
    rating_for,
    retrievability,
    review,
)
from tests.agent.interview.conftest import DAY0


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (0.0, Rating.Again),
        (4.99, Rating.Again),
        (5.0, Rating.Hard),
        (6.9, Rating.Hard),
        (7.0, Rating.Good),
        (8.99, Rating.Good),
        (9.0, Rating.Easy),
        (10.0, Rating.Easy),
    ],
)
def test_score_to_rating(score: float, rating: Rating) -> None:
    assert rating_for(score) == rating


def test_a_wrong_core_formula_forces_again() -> None:
    grade = {
        "score": 9.2,
        "key_points": [
            {"point": "L1: λΣ|w|", "verdict": "contradicted", "reason": "wrong formula: ..."},
            {"point": "sparse", "verdict": "covered"},
        ],
    }
    assert has_wrong_core_formula(grade)
    assert rating_for(9.2, wrong_core_formula=has_wrong_core_formula(grade)) == Rating.Again
    # a contradiction that is not a formula does not force it; the score decides
    grade["key_points"][0]["reason"] = "says L1 where the reference says L2"
    assert not has_wrong_core_formula(grade)


def _days(after: datetime, before: datetime) -> float:
    return (after - before).total_seconds() / 86400


def test_learning_steps_are_days_not_minutes() -> None:
    sched = make_scheduler()
    again = review(sched, new_card("q-1", DAY0), Rating.Again, DAY0)
    assert again.state == State.Learning and _days(again.due, DAY0) == pytest.approx(1.0)
    hard = review(sched, new_card("q-2", DAY0), Rating.Hard, DAY0)
    # py-fsrs: Hard on the first of one learning step waits 1.5 steps
    assert hard.state == State.Learning and _days(hard.due, DAY0) == pytest.approx(1.5)
    # FSRS: at 90 % desired retention the first interval is the initial stability, which for
    # Good and Easy are the default parameters w[2] and w[3] (py-fsrs DEFAULT_PARAMETERS)
    good = review(sched, new_card("q-3", DAY0), Rating.Good, DAY0)
    assert good.state == State.Review
    assert _days(good.due, DAY0) == round(DEFAULT_PARAMETERS[2])
    easy = review(sched, new_card("q-4", DAY0), Rating.Easy, DAY0)
    assert _days(easy.due, DAY0) == round(DEFAULT_PARAMETERS[3])
    # a lapse in review goes to relearning, back the next day
    later = good.due + timedelta(hours=2)
    lapsed = review(sched, good, Rating.Again, later)
    assert lapsed.state == State.Relearning and _days(lapsed.due, later) == pytest.approx(1.0)
    # ... and a good answer then graduates it again, further out than before
    back = review(sched, lapsed, Rating.Good, lapsed.due)
    assert back.state == State.Review and back.due > lapsed.due + timedelta(days=1)


def test_the_schedule_is_reproducible_and_grows_with_good_answers() -> None:
    def run() -> list[datetime]:
        sched, card, now, dues = make_scheduler(), new_card("q", DAY0), DAY0, []
        for _ in range(5):
            card = review(sched, card, Rating.Good, now)
            dues.append(card.due)
            now = card.due
        return dues

    first, second = run(), run()
    assert first == second  # no fuzz: a fixed clock gives a fixed schedule
    gaps = [_days(b, a) for a, b in itertools.pairwise(first)]
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps))


def test_due_counts_for_the_whole_local_day() -> None:
    evening = DAY0.replace(hour=18)
    assert day_end(DAY0, UTC) == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert evening <= day_end(DAY0, UTC)
    # in UTC+3 the local day of 09:00 UTC ends at 21:00 UTC: 22:00 UTC is tomorrow there
    plus3 = timezone(timedelta(hours=3))
    assert day_end(DAY0, plus3) == datetime(2026, 3, 2, 20, 59, 59, 999999, tzinfo=UTC)


def test_retrievability_decays_and_card_ids_are_stable() -> None:
    sched = make_scheduler()
    card = review(sched, new_card("q", DAY0), Rating.Good, DAY0)
    assert retrievability(sched, card, DAY0) == pytest.approx(1.0)
    week, month = DAY0 + timedelta(days=7), DAY0 + timedelta(days=30)
    assert 0 < retrievability(sched, card, month) < retrievability(sched, card, week) < 1
    assert card_id_of("calculus-1") == card_id_of("calculus-1") != card_id_of("calculus-2")
    assert card_id_of("calculus-1") > 0


def test_naive_datetimes_are_taken_as_utc() -> None:
    sched = make_scheduler()
    naive = DAY0.replace(tzinfo=None)
    card = review(sched, new_card("q", naive), Rating.Again, naive)
    assert card.due == DAY0 + timedelta(days=1)
