"""The interviewer's typed records: what a front end shows (prompts, feedback, summaries, progress).

Plain pydantic models with no heavy imports, so the TUI and the fake service use them freely. A
record shown while a question is open (:class:`Prompt`, an open :class:`Feedback`) never carries that
question's key points or reference answer; they arrive with the feedback that closes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["question", "follow_up"]
Outcome = Literal["answered", "skipped", "revealed", "unanswered"]
Status = Literal["open", "finished", "quit"]
CardState = Literal["learning", "review", "relearning"]


class _Record(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")


class Prompt(_Record):
    """What the candidate is asked now: a bank question or a follow-up to it."""

    interview_id: str
    """The interview this prompt belongs to."""
    number: int
    """1-based number of the bank question in the interview."""
    total: int
    """How many bank questions the interview has."""
    kind: Kind = "question"
    """``question``: a bank question; ``follow_up``: a probe after its answer."""
    text: str
    """The question as asked, in the interview's language."""
    question_id: str
    """The bank question (for a follow-up: the question it follows)."""
    topic: str
    """Topic slug."""
    topic_title: str = ""
    """Topic title in the interview's language."""
    difficulty: str = "medium"
    """easy, medium or hard."""
    follow_up: int = 0
    """1 or 2 for a follow-up, 0 for the bank question itself."""
    hints: list[str] = Field(default_factory=list)
    """The hints given so far for this question (nudges, never a key point verbatim)."""
    hints_left: int = 0
    """How many more hints ``hint`` can give."""
    review: bool = False
    """True when the question is a due review (asked before, scheduled for today)."""


class KeyPointFeedback(_Record):
    """One key point of the rubric and what the answer did with it (shown once the question closes)."""

    point: str
    """The key point as written in the rubric."""
    verdict: Literal["covered", "missing", "contradicted"]
    """covered: said; missing: not said; contradicted: the answer says the opposite."""
    evidence: str = ""
    """The candidate's words that cover or contradict it."""
    reason: str = ""
    """Why it is contradicted (a swapped term, a wrong formula...)."""
    recovered: bool = False
    """Not covered by the answer but shown in a follow-up (not counted as a weak point)."""


class FormulaFeedback(_Record):
    """A formula of the answer and what checking it found."""

    claim: str
    """The formula as written."""
    status: Literal["ok", "wrong", "unverifiable"]
    """ok: it holds; wrong: it does not; unverifiable: it could not be decided."""
    expected: str | None = None
    """For a wrong formula: the correct one, where known."""


class FollowUpResult(_Record):
    """A follow-up that was asked, with its answer and grade."""

    text: str
    """The follow-up question."""
    source: Literal["bank", "generated", "probe"] = "bank"
    """bank: one of the question's ``follow_ups``; generated: written by the model; probe: asks
    to say more about the missed point's own words."""
    target: str = ""
    """The weak key point it probes (revealed once the question closes)."""
    answer: str = ""
    """The candidate's answer."""
    outcome: Outcome = "unanswered"
    """answered, skipped, revealed (``show answer``) or unanswered (the interview ended first)."""
    score: float | None = None
    """0-10, or None when not graded."""
    band: str | None = None
    """good, partial or wrong."""
    grade: dict[str, Any] | None = None
    """The grade in the shape of ``mltutor grade --json``."""


class Feedback(_Record):
    """What the interviewer says after an answer, a skip or ``show answer``.

    While the question stays open (a follow-up comes next) only the score and band are given;
    ``key_points``, ``formulas`` and ``reference`` are filled once it closes.
    """

    question_id: str
    """The bank question."""
    kind: Kind = "question"
    """What was answered: the question or a follow-up."""
    outcome: Outcome = "answered"
    """answered, skipped or revealed."""
    score: float | None = None
    """0-10 after the hint penalty; None for a skip."""
    band: str | None = None
    """good, partial or wrong; None for a skip."""
    hints_used: int = 0
    """Hints taken before answering."""
    hint_penalty: float = 0.0
    """Points taken off for them."""
    closed: bool = False
    """True when the question is closed: the rubric and the reference are revealed."""
    message: str = ""
    """One line from the interviewer."""
    key_points: list[KeyPointFeedback] = Field(default_factory=list)
    """Per key point of the main answer (only when closed)."""
    formulas: list[FormulaFeedback] = Field(default_factory=list)
    """The main answer's formulas, wrong ones with the correct form (only when closed)."""
    reference: str = ""
    """The reference answer (only when closed)."""
    follow_ups: list[FollowUpResult] = Field(default_factory=list)
    """The follow-ups of this question with their grades (only when closed)."""
    next_review: datetime | None = None
    """When the question is due again (only when closed and graded)."""
    notes: list[str] = Field(default_factory=list)
    """What the grader wants the user to know (the answer was cut, the judge was skipped...)."""
    grade: dict[str, Any] | None = None
    """The grade of what was just answered (``mltutor grade --json`` shape), once closed."""
    next: Prompt | None = None
    """What is asked next (a follow-up or the next question); None when the interview is over."""


class QuestionResult(_Record):
    """One bank question of an interview, as the summary and the transcript show it."""

    number: int
    """1-based position in the interview."""
    question_id: str
    """Bank id."""
    topic: str
    """Topic slug."""
    difficulty: str
    """easy, medium or hard."""
    question: str
    """The question as asked."""
    answer: str = ""
    """The candidate's answer (empty when skipped or not reached)."""
    outcome: Outcome = "unanswered"
    """answered, skipped, revealed or unanswered."""
    score: float | None = None
    """0-10 after the hint penalty (None when not graded)."""
    band: str | None = None
    """good, partial or wrong."""
    hints: int = 0
    """Hints taken."""
    seconds: float = 0.0
    """Time from the question being shown to the answer."""
    review: bool = False
    """Whether it was a due review."""
    rating: str | None = None
    """The FSRS rating it produced (Again, Hard, Good, Easy)."""
    next_review: datetime | None = None
    """When it is due again."""
    key_points: list[KeyPointFeedback] = Field(default_factory=list)
    """Per key point verdicts of the answer."""
    formulas: list[FormulaFeedback] = Field(default_factory=list)
    """Formulas checked."""
    follow_ups: list[FollowUpResult] = Field(default_factory=list)
    """Follow-ups asked."""
    grade: dict[str, Any] | None = None
    """The grade (``mltutor grade --json`` shape)."""
    reference: str = ""
    """The reference answer, once the question is closed (empty for a skipped question)."""


class TopicResult(_Record):
    """A topic's share of one interview."""

    topic: str
    """Topic slug."""
    title: str = ""
    """Topic title."""
    questions: int = 0
    """Questions of this topic asked."""
    graded: int = 0
    """Of those, how many were graded."""
    mean_score: float | None = None
    """Mean score of the graded ones."""
    mastery: float | None = None
    """The learner's mastery of the topic after the interview, in [0, 1]."""


class WeakPoint(_Record):
    """A key point the learner missed or got wrong the last time the question was answered."""

    question_id: str
    """The bank question."""
    topic: str
    """Its topic."""
    point: str
    """The key point."""
    verdict: Literal["missing", "contradicted"]
    """What the last answer did with it."""
    score: float | None = None
    """The question's last score."""
    at: datetime | None = None
    """When that answer was given."""


class DueItem(_Record):
    """A question scheduled for review."""

    question_id: str
    """The bank question."""
    topic: str
    """Its topic."""
    question: str = ""
    """The question text (English)."""
    due: datetime
    """When it is due (UTC)."""
    state: CardState = "learning"
    """The FSRS card state."""
    last_score: float | None = None
    """The last score."""


class InterviewSummary(_Record):
    """The end of an interview: per question and per topic, time, weak points, next reviews."""

    interview_id: str
    """Interview id."""
    status: Status = "open"
    """open, finished (every question done) or quit."""
    lang: str = "en"
    """Interview language."""
    started_at: datetime
    """When it started (UTC)."""
    finished_at: datetime | None = None
    """When it ended (UTC)."""
    seconds: float = 0.0
    """Total time."""
    questions: list[QuestionResult] = Field(default_factory=list)
    """Every question asked, in order."""
    topics: list[TopicResult] = Field(default_factory=list)
    """Per topic."""
    mean_score: float | None = None
    """Mean score of the graded questions."""
    weakest_points: list[WeakPoint] = Field(default_factory=list)
    """The key points missed or contradicted in this interview, weakest first."""
    next_reviews: list[DueItem] = Field(default_factory=list)
    """When the questions of this interview come back, soonest first."""


class ScorePoint(_Record):
    """One graded answer in the score history."""

    at: datetime
    """When (UTC)."""
    score: float
    """0-10."""
    question_id: str
    """The bank question."""
    topic: str
    """Its topic."""


class TopicProgress(_Record):
    """One topic in ``mltutor progress``."""

    slug: str
    """Topic slug."""
    title: str = ""
    """English title."""
    title_ru: str = ""
    """Russian title."""
    questions: int = 0
    """Questions in the bank."""
    practised: int = 0
    """Distinct questions answered at least once."""
    attempts: int = 0
    """Graded interview answers."""
    mean_score: float | None = None
    """Mean of each practised question's last score."""
    mastery: float | None = None
    """Mastery in [0, 1] (see :mod:`mltutor.agent.interview.progress`); None before any attempt."""
    due: int = 0
    """Questions due today."""
    scores: list[float] = Field(default_factory=list)
    """Scores in time order (for a sparkline)."""


class ProgressReport(_Record):
    """Everything ``mltutor progress`` and the progress screen show."""

    generated_at: datetime
    """When the report was made (UTC)."""
    attempts: int = 0
    """Graded interview answers in total."""
    interviews: int = 0
    """Interviews started."""
    topics: list[TopicProgress] = Field(default_factory=list)
    """Every topic, practised ones first (weakest first), then the rest in bank order."""
    due_today: list[DueItem] = Field(default_factory=list)
    """Due by the end of today, soonest first."""
    due_week: list[DueItem] = Field(default_factory=list)
    """Due within seven days (today included)."""
    weakest_points: list[WeakPoint] = Field(default_factory=list)
    """Key points missed or contradicted in the latest answer to each question, weakest first."""
    history: list[ScorePoint] = Field(default_factory=list)
    """Every graded answer, oldest first."""
