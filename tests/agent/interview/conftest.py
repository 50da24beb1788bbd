"""Shared fixtures: one real (deterministic) grader per test session, a clock tests move, a learner
database in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mltutor.agent.grading import Grader, create_grader
from mltutor.agent.interview.learner import LearnerStore, open_learner
from mltutor.settings import Settings

DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning (UTC) the fixed clocks start at."""


class Clock:
    """A fixed clock that tests move forward."""

    def __init__(self, start: datetime = DAY0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def no_notes(query: str, **kwargs: Any) -> list[Any]:
    """A notes search that finds nothing: rubrics come from the bank only, no index is built."""
    return []


@pytest.fixture(scope="session")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    """The real grader (deterministic: no judge), its bank-matcher cache in a session directory."""
    cache = tmp_path_factory.mktemp("grader-cache")
    settings = Settings(data_dir=cache / "data", cache_dir=cache)
    return create_grader(settings, search=no_notes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LearnerStore]:
    s, notice = open_learner(tmp_path / "data")
    assert notice is None
    yield s
    s.close()
