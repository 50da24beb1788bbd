"""Snapshot tests (pytest-textual-snapshot) of the Interview screen and the progress plot.

Baselines live in ``__snapshots__/``; after an intended visual change, regenerate them with
``pytest tests/tui/test_interview_snapshots.py --snapshot-update`` and look at the SVGs first.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from mltutor.settings import Settings
from mltutor.tui.app import create_app
from mltutor.tui.screens.interview import InterviewScreen
from mltutor.tui.screens.progress import ProgressScreen
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService
from tests.tui.interview_fakes import FakeInterview

pytest.importorskip("pytest_textual_snapshot")


def test_interview_screen_with_a_follow_up(snap_compare: Any, settings: Settings) -> None:
    """A partial answer graded (score only: the question stays open) and the follow-up asked."""
    fake = FakeTutorService(interview=lambda: FakeInterview(grade_delay=0.0))
    app = create_app(settings, lambda _settings: fake)

    async def run(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, InterviewScreen), what="mode")
        screen = pilot.app.screen
        assert isinstance(screen, InterviewScreen)
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", what="question")
        screen.query_one("#iv-answer", TextArea).text = "corners is all I know"
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: screen.prompt is not None and screen.prompt.kind == "follow_up",
            what="follow-up",
        )
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_interview_summary(snap_compare: Any, settings: Settings) -> None:
    """The end of a short interview: scores, topics, weakest key points, next reviews."""
    from tests.tui.interview_fakes import DEMO_QUESTIONS

    fake = FakeTutorService(interview=lambda: FakeInterview(DEMO_QUESTIONS[1:3], grade_delay=0.0))
    app = create_app(settings, lambda _settings: fake)

    async def run(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, InterviewScreen), what="mode")
        screen = pilot.app.screen
        assert isinstance(screen, InterviewScreen)
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        for answer in ("the mean is normal", "sigma times one minus sigma"):
            await wait_for(pilot, lambda: screen.phase == "asking", what="question")
            screen.query_one("#iv-answer", TextArea).text = answer
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.phase != "grading", what="grade")
        await wait_for(pilot, lambda: screen.phase == "done", what="summary")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 40), run_before=run)


def test_progress_plot(snap_compare: Any, settings: Settings) -> None:
    """The progress screen: sparkline strips per topic, the score plot, due reviews, weak points."""
    app = create_app(settings, lambda _settings: FakeTutorService())

    async def run(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        pilot.app.action_progress()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProgressScreen), what="progress")
        screen = pilot.app.screen
        assert isinstance(screen, ProgressScreen)
        await wait_for(pilot, lambda: screen.report is not None, what="report")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(100, 40), run_before=run)
