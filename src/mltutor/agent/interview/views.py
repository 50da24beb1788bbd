"""What the candidate is shown: the :class:`Prompt` and :class:`Feedback` records built from an open
question's state, and the interviewer's fixed lines.

Kept apart from :mod:`mltutor.agent.interview.session`, which decides what happens (grading,
follow-ups, recording, closing): these functions only read that state and never change it, so what
a front end sees can be checked without running the state machine. The rubric's key points and
reference answer only appear in a :class:`Feedback` whose question is closed (``reveal`` in the
session decides when).
"""

from __future__ import annotations

from mltutor.agent.grading import Grade
from mltutor.agent.interview.followups import HINT_COST
from mltutor.agent.interview.recording import OpenQuestion, band_after_penalty
from mltutor.agent.interview.records import Feedback, FollowUpResult, Prompt, QuestionResult

LINES: dict[str, tuple[str, str]] = {
    "follow_up": ("A follow-up:", "Уточняющий вопрос:"),
    "closed": ("Question closed: here is how it went.", "Вопрос закрыт: разбор ответа."),
    "skipped": ("Skipped (not graded).", "Пропущено (без оценки)."),
    "follow_up_skipped": ("Follow-up skipped.", "Уточнение пропущено."),
    "revealed": ("Scored 0: here is the reference answer.", "0 баллов: эталонный ответ."),
}
"""The interviewer's lines, (English, Russian). No numbers: front ends show the score from the
feedback's fields."""


def say(what: str, lang: str) -> str:
    """The interviewer's line ``what`` (a key of :data:`LINES`) in ``lang``."""
    en, ru = LINES[what]
    return ru if lang == "ru" else en


def hints_left(item: OpenQuestion) -> int:
    """Hints still available: one per key point but the last (a hint for every key point would
    be the answer)."""
    return max(0, len(item.rubric.key_points) - 1 - len(item.hints))


def prompt_of(item: OpenQuestion, *, interview_id: str, total: int, topic_title: str) -> Prompt:
    """What is being asked now: the question, or the follow-up pending on it."""
    q = item.pick.question
    pending = item.pending
    return Prompt(
        interview_id=interview_id,
        number=item.number,
        total=total,
        kind="follow_up" if pending else "question",
        text=pending.text if pending else item.text,
        question_id=q.id,
        topic=q.topic,
        topic_title=topic_title,
        difficulty=q.difficulty,
        follow_up=len(item.result.follow_ups) if pending else 0,
        hints=[] if pending else list(item.hints),
        hints_left=0 if pending else hints_left(item),
        review=item.pick.reason == "due",
    )


def follow_up_feedback(
    item: OpenQuestion, grade: Grade, *, first: bool, message: str, next_prompt: Prompt
) -> Feedback:
    """The feedback when a follow-up is asked next (the question stays open, nothing revealed);
    ``first``: the main answer was just graded (its score is the question's, after the hint
    penalty), otherwise a follow-up was (its own grade)."""
    return Feedback(
        question_id=item.pick.question.id,
        kind="question" if first else "follow_up",
        outcome="answered",
        score=item.result.score if first else grade.score,
        band=item.result.band if first else band_after_penalty(grade.band, grade.score),
        hints_used=len(item.hints) if first else 0,
        hint_penalty=round(HINT_COST * len(item.hints), 2) if first else 0.0,
        closed=False,
        message=message,
        notes=list(grade.grader.notes),
        next=next_prompt,
    )


def closed_feedback(
    r: QuestionResult,
    *,
    answered: FollowUpResult | None,
    message: str,
    next_prompt: Prompt | None,
) -> Feedback:
    """The feedback when a question closes: its key points, formulas and reference (if revealed);
    ``answered``: the follow-up just answered (the feedback's score is then its score)."""
    just = answered or r
    return Feedback(
        question_id=r.question_id,
        kind="follow_up" if answered is not None else "question",
        outcome=just.outcome,
        score=just.score,
        band=just.band,
        hints_used=0 if answered is not None else r.hints,
        hint_penalty=0.0 if answered is not None else round(HINT_COST * r.hints, 2),
        closed=True,
        message=message,
        key_points=list(r.key_points),
        formulas=list(r.formulas),
        reference=r.reference,
        follow_ups=list(r.follow_ups),
        next_review=r.next_review,
        notes=list((r.grade or {}).get("grader", {}).get("notes", [])),
        grade=r.grade,
        next=next_prompt,
    )
