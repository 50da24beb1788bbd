"""A scripted mock interview for UI tests: the :class:`~mltutor.agent.service.Interview` protocol,
no grader, no database.

A question's score is 10 × the share of its key points whose cue word appears in the answer, so a
test states exactly what is covered; grading sleeps ``grade_delay`` (in small steps, honouring
``cancel``) so a test can stop it. The first question gets one follow-up when its answer misses a
point. Times come from a fixed clock, so snapshots are stable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mltutor.agent.errors import Cancelled
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.records import (
    DueItem,
    Feedback,
    FollowUpResult,
    InterviewSummary,
    KeyPointFeedback,
    ProgressReport,
    Prompt,
    QuestionResult,
    ScorePoint,
    TopicProgress,
    TopicResult,
    WeakPoint,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class FakeQuestion:
    """A question with key points keyed by a cue word."""

    id: str
    topic: str
    title: str
    difficulty: str
    text: str
    points: dict[str, str]
    """cue word -> key point (covered when the cue word is in the answer)."""
    reference: str
    follow_up: str = ""


DEMO_QUESTIONS = [
    FakeQuestion(
        "regularization-1",
        "regularization",
        "Regularization",
        "easy",
        "Why does L1 regularisation give exactly zero weights while L2 does not?",
        {
            "corners": "the L1 ball has corners on the axes",
            "shrinks": "L2 shrinks weights proportionally and rarely makes them exactly zero",
        },
        "The L1 constraint region is a diamond whose corners lie on the axes; the optimum often "
        "lands on a corner, where some weights are exactly zero. L2 shrinks proportionally.",
        follow_up="What happens to lasso when two features are almost identical?",
    ),
    FakeQuestion(
        "statistics-1",
        "statistics",
        "Statistics",
        "easy",
        "State the Central Limit Theorem.",
        {"mean": "the sample mean is approximately normal", "variance": "it needs finite variance"},
        "For iid data with finite variance the sample mean is approximately N(μ, σ²/n).",
    ),
    FakeQuestion(
        "calculus-1",
        "calculus",
        "Calculus",
        "medium",
        "What is the derivative of the sigmoid?",
        {"sigma": "σ'(x) = σ(x)(1 − σ(x))"},
        "σ'(x) = σ(x)(1 − σ(x)).",
    ),
    FakeQuestion(
        "information-theory-1",
        "information-theory",
        "Information theory",
        "medium",
        "What is the KL divergence and is it symmetric?",
        {
            "expectation": "KL is an expectation of the log ratio",
            "symmetric": "it is not symmetric",
        },
        "KL(p‖q) = E_p[log p/q] ≥ 0, not symmetric.",
    ),
    FakeQuestion(
        "optimization-1",
        "optimization",
        "Optimization",
        "hard",
        "Why does Adam use bias correction?",
        {"zero": "the moment estimates start at zero", "early": "they are biased early on"},
        "m and v start at 0, so early estimates are biased towards 0; dividing by 1 − β^t fixes it.",
    ),
]


@dataclass
class _State:
    index: int = 0
    follow_up: bool = False
    hints: int = 0
    results: list[QuestionResult] = field(default_factory=list)


class FakeInterview:
    """The interview protocol, scripted (see the module docs). Attributes record what happened."""

    def __init__(
        self,
        questions: list[FakeQuestion] | None = None,
        *,
        grade_delay: float = 0.05,
        interview_id: str = "fake01",
    ) -> None:
        self.questions = questions or DEMO_QUESTIONS
        self.grade_delay = grade_delay
        self.id = interview_id
        self.answers: list[str] = []
        """Every answer graded (not the cancelled ones)."""
        self.cancelled = 0
        self.grade_started = threading.Event()
        """Set when a grading starts (a test can then stop it)."""
        self.graded_at: list[float] = []
        """``time.perf_counter()`` when each grade was returned."""
        self.status = "open"
        self._s = _State()
        self._lock = threading.Lock()

    # -- protocol ------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.status != "open"

    @property
    def current(self) -> Prompt | None:
        with self._lock:
            return self._prompt()

    def _prompt(self) -> Prompt | None:
        if self.finished or self._s.index >= len(self.questions):
            return None
        q = self.questions[self._s.index]
        follow = self._s.follow_up
        return Prompt(
            interview_id=self.id,
            number=self._s.index + 1,
            total=len(self.questions),
            kind="follow_up" if follow else "question",
            text=q.follow_up if follow else q.text,
            question_id=q.id,
            topic=q.topic,
            topic_title=q.title,
            difficulty=q.difficulty,
            follow_up=1 if follow else 0,
            hints_left=0 if follow else max(0, len(q.points) - 1 - self._s.hints),
            review=self._s.index == 0,
        )

    def answer(self, text: str, *, cancel: threading.Event | None = None) -> Feedback:
        if not text.strip():
            raise InterviewError("the answer is empty")
        self.grade_started.set()
        deadline = time.monotonic() + self.grade_delay
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                self.cancelled += 1
                raise Cancelled("grading stopped; the answer was not recorded")
            time.sleep(0.005)
        if cancel is not None and cancel.is_set():
            self.cancelled += 1
            raise Cancelled("grading stopped; the answer was not recorded")
        with self._lock:
            self.answers.append(text)
            fb = self._grade(text)
        self.graded_at.append(time.perf_counter())
        return fb

    def _grade(self, text: str) -> Feedback:
        q = self.questions[self._s.index]
        words = set(text.lower().split())
        verdicts = [
            KeyPointFeedback(
                point=p,
                verdict="covered" if cue in words else "missing",
                evidence=text[:40] if cue in words else "",
            )
            for cue, p in q.points.items()
        ]
        covered = sum(v.verdict == "covered" for v in verdicts)
        score = round(max(0.0, 10.0 * covered / len(verdicts) - 1.5 * self._s.hints), 1)
        band = "good" if score >= 7 else "partial" if score >= 4 else "wrong"
        if self._s.follow_up:
            result = self._s.results[-1]
            result.follow_ups[-1] = result.follow_ups[-1].model_copy(
                update={"answer": text, "outcome": "answered", "score": score, "band": band}
            )
            return self._close("Question closed: here is how it went.", follow_up=True)
        self._s.results.append(
            QuestionResult(
                number=self._s.index + 1,
                question_id=q.id,
                topic=q.topic,
                difficulty=q.difficulty,
                question=q.text,
                answer=text,
                outcome="answered",
                score=score,
                band=band,
                hints=self._s.hints,
                key_points=verdicts,
                next_review=T0 + timedelta(days=1 if score < 5 else 3),
                review=self._s.index == 0,
                rating="Again" if score < 5 else "Good",
            )
        )
        if q.follow_up and covered < len(verdicts):
            self._s.follow_up = True
            self._s.results[-1].follow_ups.append(FollowUpResult(text=q.follow_up))
            return Feedback(
                question_id=q.id,
                score=score,
                band=band,
                closed=False,
                message="A follow-up:",
                next=self._prompt(),
            )
        return self._close("Question closed: here is how it went.")

    def _close(self, message: str, *, follow_up: bool = False) -> Feedback:
        q = self.questions[self._s.index]
        r = self._s.results[-1]
        just = r.follow_ups[-1] if follow_up else r
        r.reference = q.reference
        self._s.index += 1
        self._s.follow_up = False
        self._s.hints = 0
        if self._s.index >= len(self.questions):
            self.status = "finished"
        return Feedback(
            question_id=q.id,
            kind="follow_up" if follow_up else "question",
            outcome=just.outcome,
            score=just.score,
            band=just.band,
            closed=True,
            message=message,
            key_points=list(r.key_points),
            reference=q.reference,
            follow_ups=list(r.follow_ups),
            next_review=r.next_review,
            hints_used=r.hints,
            hint_penalty=1.5 * r.hints,
            next=self._prompt(),
        )

    def hint(self) -> str:
        with self._lock:
            prompt = self._prompt()
            if prompt is None or prompt.kind != "question" or prompt.hints_left <= 0:
                raise InterviewError("no more hints for this question")
            self._s.hints += 1
            return "Hint: think about the shape of the constraint region."

    def skip(self) -> Feedback:
        with self._lock:
            q = self.questions[self._s.index]
            if not self._s.follow_up:
                self._s.results.append(
                    QuestionResult(
                        number=self._s.index + 1,
                        question_id=q.id,
                        topic=q.topic,
                        difficulty=q.difficulty,
                        question=q.text,
                        outcome="skipped",
                    )
                )
            fb = self._close("Skipped.")
            return fb.model_copy(update={"reference": ""}) if fb.outcome == "skipped" else fb

    def show_answer(self) -> Feedback:
        with self._lock:
            q = self.questions[self._s.index]
            if not self._s.follow_up:
                self._s.results.append(
                    QuestionResult(
                        number=self._s.index + 1,
                        question_id=q.id,
                        topic=q.topic,
                        difficulty=q.difficulty,
                        question=q.text,
                        outcome="revealed",
                        score=0.0,
                        band="wrong",
                        key_points=[
                            KeyPointFeedback(point=p, verdict="missing") for p in q.points.values()
                        ],
                        next_review=T0 + timedelta(days=1),
                    )
                )
            return self._close("Scored 0: here is the reference answer.")

    def quit(self) -> InterviewSummary:
        with self._lock:
            if self.status == "open":
                self.status = "quit"
        return self.summary()

    def summary(self) -> InterviewSummary:
        results = [r.model_copy(deep=True) for r in self._s.results]
        graded = [r.score for r in results if r.score is not None]
        topics = [
            TopicResult(
                topic=r.topic,
                title=r.topic.replace("-", " ").title(),
                questions=1,
                graded=int(r.score is not None),
                mean_score=r.score,
                mastery=None if r.score is None else r.score / 10,
            )
            for r in results
        ]
        weak = [
            WeakPoint(
                question_id=r.question_id,
                topic=r.topic,
                point=k.point,
                verdict="missing",
                score=r.score,
            )
            for r in results
            for k in r.key_points
            if k.verdict == "missing"
        ]
        return InterviewSummary(
            interview_id=self.id,
            status=self.status if self.status != "open" else "open",
            started_at=T0,
            finished_at=T0 + timedelta(minutes=14) if self.finished else None,
            seconds=840.0 if self.finished else 0.0,
            questions=results,
            topics=topics,
            mean_score=round(sum(graded) / len(graded), 2) if graded else None,
            weakest_points=weak[:5],
            next_reviews=[
                DueItem(
                    question_id=r.question_id, topic=r.topic, question=r.question, due=r.next_review
                )
                for r in results
                if r.next_review is not None
            ],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": [r.model_dump(mode="json") for r in self._s.results],
            "summary": self.summary().model_dump(mode="json"),
        }

    def export_markdown(self) -> str:
        lines = [f"# Mock interview {self.id}", ""]
        for r in self._s.results:
            lines.append(f"- {r.question}: {r.score}")
        return "\n".join(lines) + "\n"


def demo_progress() -> ProgressReport:
    """A fixed progress report: four topics practised, a few due, a score history."""
    scores = {
        "regularization": [3.0, 4.5, 6.0, 7.5],
        "statistics": [8.0, 9.0],
        "calculus": [2.0, 5.0, 4.0],
        "information-theory": [6.5],
    }
    history: list[ScorePoint] = []
    t = T0
    for topic, values in scores.items():
        for s in values:
            t += timedelta(hours=20)
            history.append(ScorePoint(at=t, score=s, question_id=f"{topic}-1", topic=topic))
    history.sort(key=lambda p: p.at)
    topics = [
        TopicProgress(
            slug=topic,
            title=topic.replace("-", " ").title(),
            questions=6,
            practised=min(3, len(values)),
            attempts=len(values),
            mean_score=sum(values) / len(values),
            mastery=round(values[-1] / 12, 2),
            due=1 if values[-1] < 5 else 0,
            scores=values,
        )
        for topic, values in scores.items()
    ]
    due = [
        DueItem(
            question_id="calculus-1",
            topic="calculus",
            question="What is the derivative of the sigmoid?",
            due=T0 + timedelta(days=4),
            state="learning",
            last_score=4.0,
        ),
    ]
    week = [
        *due,
        DueItem(
            question_id="regularization-1",
            topic="regularization",
            question="Why does L1 give exactly zero weights?",
            due=T0 + timedelta(days=6),
            state="review",
            last_score=7.5,
        ),
    ]
    weak = [
        WeakPoint(
            question_id="calculus-1",
            topic="calculus",
            point="σ'(x) = σ(x)(1 − σ(x))",
            verdict="contradicted",
            score=4.0,
        ),
        WeakPoint(
            question_id="regularization-1",
            topic="regularization",
            point="L2 shrinks weights proportionally",
            verdict="missing",
            score=7.5,
        ),
    ]
    return ProgressReport(
        generated_at=T0 + timedelta(days=4),
        attempts=len(history),
        interviews=3,
        topics=topics,
        due_today=due,
        due_week=week,
        weakest_points=weak,
        history=history,
    )
