"""Mastery and the progress report, computed from the learner database.

**Mastery** of a topic, in [0, 1]: over the topic's questions answered in interviews, the mean of
``last score / 10 × R``, where R is FSRS's retrievability of the question's card now (the
probability of recalling it today). A topic answered well yesterday is near its scores; one not
practised for months decays towards zero as its cards' retrievability drops. Questions never asked
do not count (``practised`` says how much of the topic that is). None before any graded answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo

from fsrs import Card, Scheduler

from mltutor.agent.interview.learner import Attempt, LearnerStore
from mltutor.agent.interview.records import (
    DueItem,
    ProgressReport,
    ScorePoint,
    TopicProgress,
    WeakPoint,
)
from mltutor.agent.interview.scheduling import (
    as_utc,
    day_end,
    make_scheduler,
    retrievability,
    state_name,
)
from mltutor.knowledge.notes import Note

WEAK_POINTS_SHOWN = 10
"""How many weakest key points a report lists."""


def mastery_of(entries: Iterable[tuple[float, Card]], now: datetime, scheduler: Scheduler) -> float:
    """Mastery of (last score, card) pairs (see the module docs); 0 for none."""
    values = [max(0.0, min(1.0, s / 10.0)) * retrievability(scheduler, c, now) for s, c in entries]
    return sum(values) / len(values) if values else 0.0


def topic_mastery(
    cards: dict[str, tuple[str, Card]],
    last: dict[str, Attempt],
    now: datetime,
    scheduler: Scheduler | None = None,
) -> dict[str, float]:
    """topic -> mastery, for every topic with a graded answer."""
    sched = scheduler or make_scheduler()
    per_topic: dict[str, list[tuple[float, Card]]] = {}
    for qid, attempt in last.items():
        if qid in cards and attempt.score is not None:
            topic, card = cards[qid]
            per_topic.setdefault(topic, []).append((attempt.score, card))
    return {t: round(mastery_of(e, now, sched), 4) for t, e in per_topic.items()}


def weakest(
    last: dict[str, Attempt], *, exclude: Iterable[str] = (), limit: int = WEAK_POINTS_SHOWN
) -> list[WeakPoint]:
    """Key points missed or contradicted in the latest answer to each question, weakest first
    (contradicted before missing, lower-scored questions first); ``exclude`` keeps the open
    interview questions' key points out."""
    skip = set(exclude)
    out: list[WeakPoint] = []
    for qid, a in last.items():
        if qid in skip:
            continue
        for k in a.key_points:
            verdict = k.get("verdict")
            if verdict in ("missing", "contradicted") and not k.get("recovered"):
                out.append(
                    WeakPoint(
                        question_id=qid,
                        topic=a.topic,
                        point=str(k.get("point", "")),
                        verdict=verdict,
                        score=a.score,
                        at=a.answered_at,
                    )
                )
    out.sort(
        key=lambda w: (
            w.verdict != "contradicted",
            w.score if w.score is not None else 0.0,
            -(w.at.timestamp() if w.at else 0.0),
        )
    )
    return out[:limit]


def due_items(
    cards: dict[str, tuple[str, Card]],
    until: datetime,
    texts: dict[str, str],
    last: dict[str, Attempt],
) -> list[DueItem]:
    """Cards due by ``until``, soonest first."""
    items = [
        DueItem(
            question_id=qid,
            topic=topic,
            question=texts.get(qid, ""),
            due=as_utc(card.due),
            state=state_name(card),  # type: ignore[arg-type]
            last_score=last[qid].score if qid in last else None,
        )
        for qid, (topic, card) in cards.items()
        if card.due <= until
    ]
    return sorted(items, key=lambda d: (d.due, d.question_id))


def build_report(
    store: LearnerStore,
    notes: Sequence[Note],
    now: datetime,
    *,
    tz: tzinfo | None = None,
    exclude: Iterable[str] = (),
) -> ProgressReport:
    """The progress report at ``now``; ``exclude``: question ids whose key points must not show
    (the open interview questions)."""
    now = as_utc(now)
    cards = store.cards()
    attempts = store.attempts(kind="question")
    graded = [a for a in attempts if a.score is not None]
    last = store.last_graded()
    mastery = topic_mastery(cards, last, now)
    texts = {q.id: q.question for n in notes for q in n.questions}
    topics: list[TopicProgress] = []
    today = day_end(now, tz)
    for n in notes:
        mine = [a for a in graded if a.topic == n.slug]
        practised = {a.question_id for a in mine}
        lasts = [last[q].score for q in practised if q in last and last[q].score is not None]
        topics.append(
            TopicProgress(
                slug=n.slug,
                title=n.title,
                title_ru=n.title_ru,
                questions=len(n.questions),
                practised=len(practised),
                attempts=len(mine),
                mean_score=round(sum(lasts) / len(lasts), 2) if lasts else None,  # type: ignore[arg-type]
                mastery=mastery.get(n.slug),
                due=sum(1 for qid, (t, c) in cards.items() if t == n.slug and c.due <= today),
                scores=[float(a.score) for a in mine if a.score is not None],
            )
        )
    order = {n.slug: i for i, n in enumerate(notes)}
    topics.sort(
        key=lambda t: (t.mastery is None, t.mastery if t.mastery is not None else 0, order[t.slug])
    )
    return ProgressReport(
        generated_at=now,
        attempts=len(graded),
        interviews=len(store.interviews()),
        topics=topics,
        due_today=due_items(cards, today, texts, last),
        due_week=due_items(cards, day_end(now + timedelta(days=6), tz), texts, last),
        weakest_points=weakest(last, exclude=exclude),
        history=[
            ScorePoint(
                at=a.answered_at, score=float(a.score), question_id=a.question_id, topic=a.topic
            )
            for a in graded
            if a.score is not None
        ],
    )
