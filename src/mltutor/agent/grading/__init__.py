"""Grading interview answers: rubric, per-key-point verdicts, math checked, an optional judge.

Public API (the interviewer, the eval harness and the tutor's prose verification use these)::

    grader = create_grader(settings, judge=None)        # deterministic without a judge model
    grade = grader.grade(question, answer)               # Grade: score, band, key points, math
    grade.to_json()                                      # the shape of `mltutor grade --json`
    grader.check_statements(sentences, evidence)         # StatementVerdict per sentence

Importing this package is cheap: the embedder, SymPy and the knowledge base load on first use.
"""

from __future__ import annotations

from mltutor.agent.errors import GradingError, NoRubricError
from mltutor.agent.grading.grader import Grader, create_grader
from mltutor.agent.grading.records import (
    Grade,
    GraderInfo,
    KeyPointVerdict,
    MathCheck,
    Rubric,
    StatementVerdict,
)

NoRubric = NoRubricError
"""Alias: the typed "no rubric" error."""

__all__ = [
    "Grade",
    "Grader",
    "GraderInfo",
    "GradingError",
    "KeyPointVerdict",
    "MathCheck",
    "NoRubric",
    "NoRubricError",
    "Rubric",
    "StatementVerdict",
    "create_grader",
]
