"""Which questions an interview asks, driven by the learner model.

In this order, within the topic and difficulty filters, never the same question twice:

1. **due reviews**: questions whose FSRS card is due by the end of today, most overdue first;
2. **weakest topics**: questions not yet asked from the topics whose mastery is below
   :data:`WEAK_MASTERY`, weakest topic first, taking turns between those topics;
3. **new questions**: the rest of the questions not yet asked, taking turns between topics (in a
   shuffled topic order, so interviews vary) and, within a topic, easy before medium before hard;
4. **practice**: when everything was asked and nothing is due, the questions due soonest.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fsrs import Card

from mltutor.agent.interview.errors import InterviewError
from mltutor.knowledge.questions import DIFFICULTIES, Question

Reason = Literal["due", "weak_topic", "new", "practice"]

WEAK_MASTERY = 0.7
"""Topics below this mastery count as weak."""


@dataclass(frozen=True)
class Pick:
    """A question chosen for an interview and why."""

    question: Question
    """The bank question."""
    reason: Reason
    """due, weak_topic, new or practice."""
    due: datetime | None = None
    """For a due review: when it was due."""


def filter_bank(
    bank: Sequence[Question],
    *,
    topics: Iterable[str] = (),
    difficulty: str | None = None,
) -> list[Question]:
    """The questions the filters allow; an unknown topic or difficulty is an :class:`InterviewError`."""
    wanted = [t for t in dict.fromkeys(topics) if t]
    known = {q.topic for q in bank}
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise InterviewError(
            f"no topic {', '.join(repr(t) for t in unknown)}; `mltutor topics` lists them"
        )
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise InterviewError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
    out = [
        q
        for q in bank
        if (not wanted or q.topic in wanted) and (difficulty is None or q.difficulty == difficulty)
    ]
    if not out:
        what = f"{difficulty} questions" if difficulty else "questions"
        where = f" in {', '.join(wanted)}" if wanted else ""
        raise InterviewError(f"the bank has no {what}{where}; try another topic or difficulty")
    return out


def _round_robin(groups: list[list[Question]]) -> list[Question]:
    out: list[Question] = []
    queues = [list(g) for g in groups if g]
    while queues:
        for queue in queues:
            out.append(queue.pop(0))
        queues = [q for q in queues if q]
    return out


def _by_difficulty(questions: Iterable[Question]) -> list[Question]:
    rank = {d: i for i, d in enumerate(DIFFICULTIES)}
    indexed = list(enumerate(questions))
    return [q for _, q in sorted(indexed, key=lambda iq: (rank.get(iq[1].difficulty, 1), iq[0]))]


def select_questions(
    bank: Sequence[Question],
    *,
    n: int,
    cards: dict[str, Card],
    mastery: dict[str, float],
    horizon: datetime,
    topics: Iterable[str] = (),
    difficulty: str | None = None,
    rng: random.Random | None = None,
) -> list[Pick]:
    """Up to ``n`` questions in the order described in the module docs.

    ``cards``: question id -> FSRS card of every question asked before; ``mastery``: topic ->
    mastery in [0, 1] of the topics practised; ``horizon``: a card due by then is due now.
    """
    if n < 1:
        raise InterviewError("an interview needs at least one question (-n 1 or more)")
    pool = filter_bank(bank, topics=topics, difficulty=difficulty)
    order = {q.id: i for i, q in enumerate(pool)}
    picks: list[Pick] = []
    taken: set[str] = set()

    def take(q: Question, reason: Reason, due: datetime | None = None) -> None:
        if q.id not in taken and len(picks) < n:
            taken.add(q.id)
            picks.append(Pick(q, reason, due))

    due = [q for q in pool if q.id in cards and cards[q.id].due <= horizon]
    for q in sorted(due, key=lambda q: (cards[q.id].due, order[q.id])):
        take(q, "due", cards[q.id].due)
    unseen = [q for q in pool if q.id not in cards]
    by_topic: dict[str, list[Question]] = {}
    for q in unseen:
        by_topic.setdefault(q.topic, []).append(q)
    weak = sorted(
        (t for t in by_topic if t in mastery and mastery[t] < WEAK_MASTERY),
        key=lambda t: (mastery[t], t),
    )
    for q in _round_robin([_by_difficulty(by_topic[t]) for t in weak]):
        take(q, "weak_topic")
    rest = [t for t in by_topic if t not in weak]
    (rng or random.Random()).shuffle(rest)
    for q in _round_robin([_by_difficulty(by_topic[t]) for t in rest]):
        take(q, "new")
    seen = [q for q in pool if q.id in cards]
    for q in sorted(seen, key=lambda q: (cards[q.id].due, order[q.id])):
        take(q, "practice")
    return picks
