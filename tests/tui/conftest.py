"""Shared helpers for the UI tests: settings in temporary dirs, an app factory, polling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mltutor.settings import Settings, load_settings
from mltutor.tui.app import TutorApp, create_app
from tests.tui.fakes import FakeTutorService
from tests.tui.terminal import Terminal


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (Textual's loop) through anyio's pytest plugin."""
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def make_app(settings: Settings) -> Callable[[FakeTutorService], TutorApp]:
    def make(fake: FakeTutorService) -> TutorApp:
        return create_app(settings, lambda _settings: fake)

    return make


async def wait_for(
    pilot: Pilot[int],
    predicate: Callable[[], object],
    timeout: float = 10.0,
    what: str = "condition",
) -> None:
    """Let the app run until ``predicate()`` is true (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """A tmux server of its own, killed after the test."""
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.kill()
