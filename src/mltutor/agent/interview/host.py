"""The interviews of one service: the learner database, the open sessions, the clock.

The tutor service (:mod:`mltutor.agent.facade`) owns one :class:`InterviewHost`; it asks it which
bank questions are open (so the tutor chat never retrieves their own chunks) and for the topics'
mastery. The learner database is opened on first use.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from mltutor.agent.grading import Grader
from mltutor.agent.interview.factory import (
    DEFAULT_QUESTIONS,
    mastery_by_topic,
    progress_report,
    start_interview,
)
from mltutor.agent.interview.followups import MAX_FOLLOW_UPS
from mltutor.agent.interview.learner import LearnerStore, open_learner
from mltutor.agent.interview.records import ProgressReport
from mltutor.agent.interview.scheduling import Clock, utc_now
from mltutor.agent.interview.session import InterviewSession, ModelProvider

WARM_UP_WAIT_S = 15.0
"""The longest ``close`` waits for a warm-up still running."""


class InterviewHost:
    """Starts interviews and remembers the open ones (see the module docs)."""

    def __init__(
        self,
        data_dir: Path,
        grader: Callable[[], Grader],
        *,
        model: ModelProvider | None = None,
        clock: Clock = utc_now,
        tz: tzinfo | None = None,
    ) -> None:
        self._data_dir = Path(data_dir)
        self._grader = grader
        self._model = model
        self.clock = clock
        """The clock interviews run on (tests set a fixed one)."""
        self.tz = tz
        """The time zone days are counted in (None: the system's)."""
        self.notice: str | None = None
        """Set when the learner database had to be moved aside on opening."""
        self._lock = threading.Lock()
        self._store: LearnerStore | None = None
        self._sessions: list[InterviewSession] = []
        self._warmed = False
        self._warm: threading.Thread | None = None

    def learner(self) -> LearnerStore:
        """The learner database, opened (and migrated) on first use."""
        with self._lock:
            if self._store is None:
                self._store, self.notice = open_learner(self._data_dir)
            return self._store

    def start(
        self,
        topics: Iterable[str] = (),
        difficulty: str | None = None,
        n: int = DEFAULT_QUESTIONS,
        lang: str = "en",
        *,
        max_follow_ups: int = MAX_FOLLOW_UPS,
        use_model: bool = True,
        rng: Any = None,
        warm_up: bool = True,
    ) -> InterviewSession:
        """A new interview (its first question is open when this returns).

        ``warm_up``: grade a throw-away answer in the background while the candidate reads and
        types (the first grade loads the embedder); pointless when the answers are already there.
        """
        session = start_interview(
            self._grader(),
            self.learner(),
            topics=topics,
            difficulty=difficulty,
            n=n,
            lang=lang,
            clock=self.clock,
            tz=self.tz,
            rng=rng,
            model=self._model if use_model else None,
            max_follow_ups=max_follow_ups,
        )
        with self._lock:
            self._sessions = [s for s in self._sessions if not s.finished] + [session]
            warm, self._warmed = warm_up and not self._warmed, self._warmed or warm_up
        if warm:  # the first grade loads the embedder and the formula checker: not on screen time
            self._warm = threading.Thread(target=session.warm_up, name="mltutor-warm", daemon=True)
            self._warm.start()
        return session

    def open_question_ids(self) -> set[str]:
        """The bank questions open in any interview now."""
        with self._lock:
            sessions = list(self._sessions)
        out: set[str] = set()
        for s in sessions:
            out |= s.open_question_ids
        return out

    def progress(self) -> ProgressReport:
        """The progress report (the open questions' key points left out)."""
        from mltutor.knowledge.notes import load_notes

        return progress_report(
            self.learner(),
            load_notes(),
            clock=self.clock,
            tz=self.tz,
            exclude=self.open_question_ids(),
        )

    def mastery(self) -> dict[str, float]:
        """topic -> mastery now; empty when the learner database cannot be read."""
        from mltutor.agent.errors import AgentError

        try:
            return mastery_by_topic(self.learner(), clock=self.clock)
        except AgentError:
            return {}

    def close(self, *, wait_s: float = WARM_UP_WAIT_S) -> None:
        """Close the learner database, after the warm-up (native code in a daemon thread must not
        be running when the interpreter exits), waiting at most ``wait_s`` for it."""
        if self._warm is not None:
            self._warm.join(wait_s)
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
