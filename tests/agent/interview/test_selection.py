"""Question choice: due reviews first, then the weakest topics, then new; filters; never twice."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from fsrs import Card, Rating

from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.scheduling import day_end, make_scheduler, new_card, review
from mltutor.agent.interview.selection import select_questions
from mltutor.knowledge.questions import Question
from tests.agent.interview.conftest import DAY0


def q(qid: str, difficulty: str = "easy") -> Question:
    topic = qid.rsplit("-", 1)[0]
    return Question(
        id=qid,
        topic=topic,
        difficulty=difficulty,  # type: ignore[arg-type]
        question=f"question {qid}?",
        reference_answer=f"answer {qid}.",
        key_points=["a", "b"],
    )


BANK = [
    q("alpha-1"),
    q("alpha-2", "medium"),
    q("alpha-3", "hard"),
    q("beta-1"),
    q("beta-2", "hard"),
    q("beta-3", "medium"),
    q("gamma-1"),
    q("gamma-2"),
    q("delta-1", "medium"),
    q("delta-2"),
]


def card_due(days: float, qid: str = "x") -> Card:
    """A card reviewed before DAY0 that is due ``days`` after DAY0."""
    card = review(make_scheduler(), new_card(qid, DAY0), Rating.Good, DAY0 - timedelta(days=5))
    card.due = DAY0 + timedelta(days=days)
    return card


def select(n: int, **kw: object) -> list[str]:
    defaults: dict[str, object] = {
        "cards": {},
        "mastery": {},
        "horizon": day_end(DAY0),
        "rng": random.Random(7),
    }
    defaults.update(kw)
    picks = select_questions(BANK, n=n, **defaults)  # type: ignore[arg-type]
    return [p.question.id for p in picks]


def test_due_reviews_come_first_most_overdue_first() -> None:
    cards = {
        "gamma-1": card_due(-3),  # three days overdue
        "alpha-2": card_due(0.4),  # due this evening: still today
        "beta-1": card_due(-1),
        "delta-1": card_due(2),  # not due
    }
    picks = select_questions(
        BANK, n=4, cards=cards, mastery={}, horizon=day_end(DAY0), rng=random.Random(1)
    )
    assert [p.question.id for p in picks[:3]] == ["gamma-1", "beta-1", "alpha-2"]
    assert [p.reason for p in picks[:3]] == ["due", "due", "due"]
    assert picks[3].reason != "due" and picks[3].question.id != "delta-1"


def test_weakest_topics_then_new_questions_never_twice() -> None:
    cards = {"beta-1": card_due(5), "delta-2": card_due(3), "gamma-1": card_due(4)}
    mastery = {"beta": 0.2, "delta": 0.5, "gamma": 0.9}  # gamma is strong: not weak
    ids = select(10, cards=cards, mastery=mastery)
    # weak topics' unseen questions, weakest first, taking turns, easy before medium before hard
    assert ids[:3] == ["beta-3", "delta-1", "beta-2"]
    # then new questions of the other topics, every question once, then the seen ones
    assert set(ids[3:7]) == {"alpha-1", "alpha-2", "alpha-3", "gamma-2"}
    assert ids.index("alpha-1") < ids.index("alpha-2") < ids.index("alpha-3")
    assert ids[7:] == ["delta-2", "gamma-1", "beta-1"]  # practice: due soonest first
    assert len(ids) == len(set(ids)) == 10


def test_new_questions_take_turns_between_topics() -> None:
    ids = select(4)
    assert len({i.rsplit("-", 1)[0] for i in ids}) == 4  # four questions, four topics


def test_filters_topic_and_difficulty() -> None:
    assert select(5, topics=["alpha"]) == ["alpha-1", "alpha-2", "alpha-3"]
    assert set(select(5, difficulty="hard")) == {"alpha-3", "beta-2"}
    assert select(5, topics=["beta", "alpha"], difficulty="medium", rng=random.Random(3)) in (
        ["alpha-2", "beta-3"],
        ["beta-3", "alpha-2"],
    )
    # a due card outside the filter is not asked
    assert "gamma-1" not in select(3, topics=["alpha"], cards={"gamma-1": card_due(-1)})


def test_bad_filters_are_clear_errors() -> None:
    with pytest.raises(InterviewError, match=r"no topic 'nope'.*mltutor topics"):
        select(3, topics=["nope"])
    with pytest.raises(InterviewError, match="difficulty must be one of"):
        select(3, difficulty="impossible")
    with pytest.raises(InterviewError, match="no hard questions in gamma"):
        select(3, topics=["gamma"], difficulty="hard")
    with pytest.raises(InterviewError, match="at least one question"):
        select(0)
