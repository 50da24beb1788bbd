"""The interview state machine: ask, then answer / hint / skip / show answer / quit, follow-ups, summary.

One bank question is open at a time. Its answer is graded by the shared grader; zero to two
follow-ups may come next (:mod:`mltutor.agent.interview.followups`), graded the same way; then the
question closes and only then are its key points, the formulas checked and the reference answer
shown. While it is open nothing shown contains them verbatim (hints and follow-ups go through a
:class:`~mltutor.agent.interview.leakage.LeakGuard`).

Every graded answer is written to the learner database at once (attempt, FSRS card, review, topic
mastery) and the interview's transcript is saved after every step, so quitting, or a crash, loses
nothing. :meth:`InterviewSession.answer` grades without holding the session (a front end runs it in
a worker) and changes nothing if ``cancel`` is set by the time grading ends.

This module decides what happens and commits it; grading an answer and choosing the next
follow-up (slow, run off the lock) is :mod:`mltutor.agent.interview.answering`, and the records a
front end is shown (prompts, feedback, the interviewer's lines) are built from the resulting state
in :mod:`mltutor.agent.interview.views`.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from datetime import datetime, tzinfo
from typing import Any

from mltutor.agent.grading import Grade, Grader
from mltutor.agent.interview import followups as fu
from mltutor.agent.interview.answering import (
    AnswerGrader,
    Graded,
    ModelProvider,
    check_cancel,
    penalised,
)
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.leakage import LeakGuard
from mltutor.agent.interview.learner import LearnerStore
from mltutor.agent.interview.recording import OpenQuestion, Recorder
from mltutor.agent.interview.records import (
    Feedback,
    FollowUpResult,
    FormulaFeedback,
    InterviewSummary,
    KeyPointFeedback,
    Prompt,
    QuestionResult,
    Status,
)
from mltutor.agent.interview.report import markdown, summarize, transcript_json
from mltutor.agent.interview.scheduling import Clock, utc_now
from mltutor.agent.interview.selection import Pick
from mltutor.agent.interview.views import (
    closed_feedback,
    follow_up_feedback,
    hints_left,
    prompt_of,
    say,
)
from mltutor.agent.llm.cancel import cancel_scope
from mltutor.knowledge.text import scrub_surrogates


class InterviewSession:
    """One mock interview over a fixed list of picked questions (see the module docs)."""

    def __init__(
        self,
        *,
        grader: Grader,
        learner: LearnerStore,
        picks: list[Pick],
        lang: str = "en",
        clock: Clock = utc_now,
        tz: tzinfo | None = None,
        model: ModelProvider | None = None,
        max_follow_ups: int = fu.MAX_FOLLOW_UPS,
        filters: dict[str, Any] | None = None,
    ) -> None:
        if not picks:
            raise InterviewError("no questions to ask")
        self.id = uuid.uuid4().hex[:10]
        """Interview id."""
        self.lang = "ru" if lang == "ru" else "en"
        """Interview language."""
        self._grader, self._learner, self._picks = grader, learner, picks
        self._clock, self._tz = clock, tz
        self._answers = AnswerGrader(
            grader, self.lang, model, max(0, min(fu.MAX_FOLLOW_UPS, max_follow_ups))
        )
        self._filters = filters or {}
        self._record = Recorder(learner, self.id, self.lang, clock)
        self._titles = {
            slug: (n.title_ru if self.lang == "ru" and n.title_ru else n.title)
            for slug, n in grader.notes.items()
        }
        self._lock = threading.RLock()
        self._busy = False
        self._items: list[OpenQuestion] = []
        self.status: Status = "open"
        """open, finished or quit."""
        self.started_at = clock()
        """When the interview started (UTC)."""
        self.finished_at: datetime | None = None
        """When it ended."""
        self._open_next()
        self._save()

    # -- state -----------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """Whether the interview is over (finished or quit)."""
        return self.status != "open"

    @property
    def open_question_ids(self) -> set[str]:
        """The bank question open now (empty between questions and after the end)."""
        with self._lock:
            item = self._open_item()
            return {item.pick.question.id} if item is not None else set()

    @property
    def current(self) -> Prompt | None:
        """What is being asked now, or None when the interview is over."""
        with self._lock:
            item = self._open_item()
            return self._prompt(item) if item is not None else None

    def _open_item(self) -> OpenQuestion | None:
        if self.status != "open" or not self._items or self._items[-1].closed:
            return None
        return self._items[-1]

    def _require_open(self) -> OpenQuestion:
        item = self._open_item()
        if item is None:
            raise InterviewError("the interview is over; start a new one")
        return item

    def _open_next(self) -> None:
        index = len(self._items)
        if index >= len(self._picks):
            self.status, self.finished_at = "finished", self._clock()
            return
        pick = self._picks[index]
        q = pick.question
        text = q.text_in(self.lang)
        rubric = self._grader.rubric_for(text, question_id=q.id, language=self.lang)
        result = QuestionResult(
            number=index + 1,
            question_id=q.id,
            topic=q.topic,
            difficulty=q.difficulty,
            question=text,
            review=pick.reason == "due",
        )
        guard = LeakGuard(text, rubric.key_points, rubric.reference)
        self._items.append(
            OpenQuestion(pick, index + 1, text, rubric, guard, self._clock(), result)
        )

    def _prompt(self, item: OpenQuestion) -> Prompt:
        topic = item.pick.question.topic
        return prompt_of(
            item,
            interview_id=self.id,
            total=len(self._picks),
            topic_title=self._titles.get(topic, topic),
        )

    # -- commands --------------------------------------------------------------------------------
    def hint(self) -> str:
        """A nudge towards the next key point (costs :data:`~.followups.HINT_COST` points)."""
        with self._lock:
            item = self._require_open()
            if item.pending is not None:
                raise InterviewError("no hints for a follow-up: answer it, skip it or show answer")
            if hints_left(item) <= 0:
                raise InterviewError("no more hints for this question")
            point = item.rubric.key_points[len(item.hints)]
            text = fu.hint_for(point, item.text, self.lang, item.guard)
            item.hints.append(text)
            item.result.hints = len(item.hints)
            self._save()
            return text

    def answer(self, text: str, *, cancel: threading.Event | None = None) -> Feedback:
        """Grade an answer to what is asked now; nothing changes if ``cancel`` is set meanwhile."""
        text = scrub_surrogates(text)
        if not text.strip():
            raise InterviewError(
                "the answer is empty: write an answer, or use hint, skip, show answer or quit"
            )
        with self._lock:
            item = self._require_open()
            if self._busy:
                raise InterviewError("still grading the previous answer")
            self._busy = True
            pending = item.pending
        # a stop also cuts a judge or follow-up request in flight (even one still reading its prompt)
        scope = cancel_scope(cancel) if cancel is not None else contextlib.nullcontext()
        try:
            if pending is None:
                with scope:
                    graded = self._answers.main(item, text)
                check_cancel(cancel)
                with self._lock:
                    return self._commit_main(item, text, graded)
            with scope:
                graded = self._answers.follow_up(item, pending, text)
            check_cancel(cancel)
            with self._lock:
                return self._commit_follow_up(item, text, graded)
        finally:
            self._busy = False

    def skip(self) -> Feedback:
        """Move on without an answer: a question is not graded (its card is left alone); a
        follow-up is dropped and the question closes."""
        with self._lock:
            item = self._require_open()
            if item.pending is not None:
                self._record.follow_up(item, "", None, "skipped")
                return self._close(
                    item, self._say("follow_up_skipped"), answered=item.result.follow_ups[-1]
                )
            self._record.skipped(item)
            return self._close(item, self._say("skipped"), reveal=False)

    def show_answer(self) -> Feedback:
        """Reveal the reference answer; what is asked now scores 0."""
        with self._lock:
            item = self._require_open()
            if item.pending is not None:
                self._record.follow_up(item, "", None, "revealed")
                return self._close(item, self._say("revealed"), answered=item.result.follow_ups[-1])
            item.result.key_points = [
                KeyPointFeedback(point=p, verdict="missing") for p in item.rubric.key_points
            ]
            self._record.graded(item, "", 0.0, None, "revealed")
            return self._close(item, self._say("revealed"))

    def warm_up(self) -> None:
        """Grade a throw-away answer (recorded nowhere) so the first real grade is not the one that
        loads the embedder and the formula checker; run it in a background thread."""
        item = self._items[0] if self._items else None
        if item is not None:
            with contextlib.suppress(Exception):
                self._grader.grade(item.text, "x = 1", rubric=item.rubric)

    def quit(self) -> InterviewSummary:
        """End the interview now; everything answered so far is already saved."""
        with self._lock:
            if self.status == "open":
                self.status, self.finished_at = "quit", self._clock()
                item = self._items[-1] if self._items else None
                if item is not None and not item.closed and item.attempt_id is not None:
                    item.closed = True  # answered, follow-up pending: keep the answer as it is
                    item.result.reference = item.rubric.reference
                self._save()
            return self.summary()

    # -- committing (under the lock) ------------------------------------------------------------
    def _commit_main(self, item: OpenQuestion, text: str, graded: Graded) -> Feedback:
        self._require_open()
        grade = graded.grade
        item.result.key_points = [
            KeyPointFeedback(point=k.point, verdict=k.verdict, evidence=k.evidence, reason=k.reason)
            for k in grade.key_points
        ]
        item.result.formulas = [
            FormulaFeedback(claim=m.claim, status=m.status, expected=m.expected) for m in grade.math
        ]
        score = penalised(grade.score, len(item.hints))
        self._record.graded(item, text, score, grade, "answered")
        item.weak, item.budget = graded.weak, graded.budget
        if graded.next is None:
            return self._close(item, self._say("closed"))
        return self._ask_follow_up(item, graded.next, grade)

    def _commit_follow_up(self, item: OpenQuestion, text: str, graded: Graded) -> Feedback:
        self._require_open()
        answered = self._record.follow_up(item, text, graded.grade, "answered")
        if graded.next is None:
            return self._close(item, self._say("closed"), answered=answered)
        return self._ask_follow_up(item, graded.next, graded.grade)

    def _ask_follow_up(self, item: OpenQuestion, nxt: fu.FollowUp, grade: Grade) -> Feedback:
        first = not item.result.follow_ups  # the main answer was just graded, not a follow-up
        item.pending, item.pending_since = nxt, self._clock()
        item.result.follow_ups.append(
            FollowUpResult(text=nxt.text, source=nxt.source, target=nxt.target)
        )
        self._save()
        return follow_up_feedback(
            item, grade, first=first, message=self._say("follow_up"), next_prompt=self._prompt(item)
        )

    def _say(self, what: str) -> str:
        return say(what, self.lang)

    def _close(
        self,
        item: OpenQuestion,
        line: str,
        *,
        reveal: bool = True,
        answered: FollowUpResult | None = None,
    ) -> Feedback:
        """Close the question (revealing its rubric unless skipped) and open the next one;
        ``answered``: the follow-up just answered (the feedback's score is then its score)."""
        item.closed, item.pending = True, None
        if reveal:
            item.result.reference = item.rubric.reference
        self._open_next()
        self._save()
        return closed_feedback(
            item.result, answered=answered, message=line, next_prompt=self.current
        )

    # -- the end ---------------------------------------------------------------------------------
    def summary(self) -> InterviewSummary:
        """Scores per question and topic, time, weakest key points, next reviews (so far)."""
        with self._lock:
            now = self._clock()
            mastery = self._record.mastery(now)
            return summarize(
                interview_id=self.id,
                status=self.status,
                lang=self.lang,
                started_at=self.started_at,
                finished_at=self.finished_at,
                now=now,
                results=[i.result.model_copy(deep=True) for i in self._items],
                titles=self._titles,
                mastery=mastery,
            )

    def to_json(self) -> dict[str, Any]:
        """The transcript in the shape of ``mltutor interview --json``."""
        return transcript_json(self.summary())

    def export_markdown(self) -> str:
        """The summary and every question as Markdown (``--export``, ctrl+o)."""
        return markdown(self.summary())

    def _save(self) -> None:
        self._learner.save_interview(
            self.id,
            started_at=self.started_at,
            status=self.status,
            lang=self.lang,
            filters=self._filters,
            plan=[p.question.id for p in self._picks],
            transcript=self.to_json(),
            finished_at=self.finished_at,
        )


__all__ = ["InterviewSession", "ModelProvider"]
