"""The qa scorers against the real grader: where a case's key points come from, and whether a cited
note supports the sentence that cites it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.agent.grading import Grader, create_grader
from mltutor.evals.scorers import qa_rubric, score_qa
from mltutor.evals.solvers import Solution
from mltutor.evals.suites import QACase
from mltutor.knowledge.notes import load_notes
from mltutor.settings import Settings
from mltutor.tools.limits import ToolLimits
from tests.agent.grading.conftest import LexicalSearch


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    root: Path = tmp_path_factory.mktemp("scorers")
    settings = Settings(data_dir=root / "data", cache_dir=root / "cache")
    notes = load_notes()
    return create_grader(settings, notes=notes, search=LexicalSearch(notes))


def _own_case() -> QACase:
    return QACase(
        kind="qa",
        id="own-1",
        question="Why does gradient descent need a learning rate?",
        key_points=["the learning rate scales each step along the negative gradient"],
        topic="optimization",
    )


def test_a_suite_case_s_own_key_points_are_reported_as_coming_from_the_suite(
    grader: Grader,
) -> None:
    case = _own_case()
    rubric = qa_rubric(case)
    assert rubric is not None and rubric.source == "suite"
    answer = "The learning rate scales each step along the negative gradient."
    _, details = score_qa(case, Solution(answer=answer), grader, ToolLimits())
    assert details["grade"]["rubric_source"] == "suite"
