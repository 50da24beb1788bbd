"""The mock interviewer and the learner model (spaced repetition with FSRS).

Public API (the service in :mod:`mltutor.agent.facade` calls these)::

    store, notice = open_learner(data_dir)                   # learner.sqlite, migrated
    session = start_interview(grader, store, topics=["regularization"], n=5, lang="en")
    session.current                                          # Prompt: what is asked now
    feedback = session.answer("L1 adds |w| ...")             # graded; feedback.next is the next prompt
    session.hint(); session.skip(); session.show_answer(); session.quit()
    session.summary(); session.to_json(); session.export_markdown()
    progress_report(store, notes)                            # ProgressReport

The records (:mod:`~mltutor.agent.interview.records`) are plain pydantic models and importing them
is cheap; everything else (FSRS, the grader) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mltutor.agent.interview.errors import InterviewError, LearnerStorageError
from mltutor.agent.interview.records import (
    DueItem,
    Feedback,
    FollowUpResult,
    FormulaFeedback,
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

if TYPE_CHECKING:
    from mltutor.agent.interview.factory import mastery_by_topic, progress_report, start_interview
    from mltutor.agent.interview.learner import LearnerStore, open_learner
    from mltutor.agent.interview.scheduling import rating_for
    from mltutor.agent.interview.session import InterviewSession

_LAZY = {
    "InterviewSession": "mltutor.agent.interview.session",
    "LearnerStore": "mltutor.agent.interview.learner",
    "mastery_by_topic": "mltutor.agent.interview.factory",
    "open_learner": "mltutor.agent.interview.learner",
    "progress_report": "mltutor.agent.interview.factory",
    "rating_for": "mltutor.agent.interview.scheduling",
    "start_interview": "mltutor.agent.interview.factory",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "DueItem",
    "Feedback",
    "FollowUpResult",
    "FormulaFeedback",
    "InterviewError",
    "InterviewSession",
    "InterviewSummary",
    "KeyPointFeedback",
    "LearnerStorageError",
    "LearnerStore",
    "ProgressReport",
    "Prompt",
    "QuestionResult",
    "ScorePoint",
    "TopicProgress",
    "TopicResult",
    "WeakPoint",
    "mastery_by_topic",
    "open_learner",
    "progress_report",
    "rating_for",
    "start_interview",
]
