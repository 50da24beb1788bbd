"""Interview mode in the app (Pilot, the fake service): a 5-question interview end to end, follow-ups,
hints, esc stops grading without losing the answer, nothing of the rubric on screen while a
question is open, the summary, export, and the progress screen."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Select, Static, TextArea

from mltutor.tui.app import TutorApp
from mltutor.tui.screens.interview import InterviewScreen
from mltutor.tui.screens.progress import ProgressScreen
from mltutor.tui.widgets.progress_plot import ScorePlot, TopicStrips
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService
from tests.tui.interview_fakes import DEMO_QUESTIONS, FakeInterview

pytestmark = pytest.mark.anyio

# answers that cover every key point (cue words), and ones that cover only the first
FULL = {q.id: " ".join(q.points) + " and more words" for q in DEMO_QUESTIONS}
PARTIAL = {q.id: next(iter(q.points)) + " is all I know" for q in DEMO_QUESTIONS}


def screen_text(app: TutorApp) -> str:
    """Everything the screen's static widgets hold (scrolled out of view or not), as plain text."""
    from rich.console import Console

    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


async def open_interview(pilot: Pilot[int]) -> InterviewScreen:
    await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, InterviewScreen), what="screen")
    screen = pilot.app.screen
    assert isinstance(screen, InterviewScreen)
    await wait_for(
        pilot,
        lambda: len(screen.query_one("#setup-topic", Select)._options) > 1,
        what="topics in the form",
    )
    return screen


async def submit(pilot: Pilot[int], screen: InterviewScreen, text: str) -> None:
    """Type an answer and send it; wait until the grade is drawn."""
    before = len(screen.query(".iv-feedback"))
    screen.query_one("#iv-answer", TextArea).text = text
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: len(screen.query(".iv-feedback")) > before, what="feedback")


async def test_a_five_question_interview_end_to_end(
    make_app: Callable[[FakeTutorService], TutorApp], tmp_path: Path
) -> None:
    fake = FakeTutorService()
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_interview(pilot)
        screen.query_one("#setup-count", Select).value = 5
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", what="first question")
        assert fake.interviews == [{"topics": [], "difficulty": None, "n": 5}]
        interview = screen.session
        assert isinstance(interview, FakeInterview)
        # question 1: a partial answer gets a follow-up; while it is open no key point is shown
        q1 = DEMO_QUESTIONS[0]
        assert q1.text in screen_text(app)
        await submit(pilot, screen, PARTIAL[q1.id])
        assert screen.prompt is not None and screen.prompt.kind == "follow_up"
        shown = screen_text(app)
        assert q1.follow_up in shown
        for point in q1.points.values():
            assert point not in shown, "a key point was shown while the question was open"
        assert q1.reference not in shown
        await submit(pilot, screen, "the weights are split between the two features")
        # closed: now the key points and the reference are on screen
        shown = screen_text(app)
        assert all(point in shown for point in q1.points.values())
        assert q1.reference.split(";")[0] in shown
        # questions 2-5
        for q in DEMO_QUESTIONS[1:]:
            assert screen.prompt is not None and screen.prompt.question_id == q.id
            await submit(pilot, screen, FULL[q.id])
        await wait_for(pilot, lambda: screen.phase == "done", what="summary")
        assert interview.finished
        assert len(interview.answers) == 6  # five questions and one follow-up
        shown = screen_text(app)
        assert "Interview finished · 5 question(s)" in shown
        assert "Weakest key points" in shown
        # export (ctrl+o asks for the path)
        target = tmp_path / "out" / "interview.md"
        await pilot.press("ctrl+o")
        await pilot.pause(0.1)
        dialog_input = app.screen.query_one("#dialog-input")
        dialog_input.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, target.exists, what="export")
        assert DEMO_QUESTIONS[2].text in target.read_text(encoding="utf-8")


async def test_esc_stops_grading_and_keeps_the_answer(
    make_app: Callable[[FakeTutorService], TutorApp],
) -> None:
    interview = FakeInterview(grade_delay=30.0)
    app = make_app(FakeTutorService(interview=lambda: interview))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_interview(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", what="first question")
        screen.query_one("#iv-answer", TextArea).text = "my long answer"
        await pilot.press("ctrl+s")
        await wait_for(pilot, interview.grade_started.is_set, what="grading")
        assert screen.phase == "grading" and app.generating
        # the UI keeps working while grading: the hint key is refused, not blocked
        started = time.perf_counter()
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.phase == "asking", what="stopped")
        assert time.perf_counter() - started < 2.0
        await wait_for(pilot, lambda: interview.cancelled == 1, what="grading cancelled")
        assert interview.answers == []  # nothing recorded
        assert screen.query_one("#iv-answer", TextArea).text == "my long answer"
        assert not app.generating


async def test_hint_costs_points_and_is_shown(
    make_app: Callable[[FakeTutorService], TutorApp],
) -> None:
    app = make_app(FakeTutorService(interview=lambda: FakeInterview(grade_delay=0.0)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_interview(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", what="first question")
        assert screen.prompt is not None and screen.prompt.hints_left == 1
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: len(screen.query(".iv-hint")) == 1, what="hint")
        assert screen.prompt is not None and screen.prompt.hints_left == 0
        await submit(pilot, screen, FULL[DEMO_QUESTIONS[0].id])
        assert "hints −1.5" in screen_text(app)
        assert "8.5/10" in screen_text(app)


async def test_skip_reveal_and_end_save_a_summary(
    make_app: Callable[[FakeTutorService], TutorApp],
) -> None:
    interview = FakeInterview(grade_delay=0.0)
    app = make_app(FakeTutorService(interview=lambda: interview))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_interview(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", what="first question")
        await pilot.press("ctrl+n")  # skip
        await wait_for(
            pilot,
            lambda: screen.prompt is not None and screen.prompt.number == 2,
            what="second question",
        )
        await pilot.press("ctrl+r")  # show answer: the reference is drawn
        await wait_for(
            pilot,
            lambda: screen.prompt is not None and screen.prompt.number == 3,
            what="third question",
        )
        assert DEMO_QUESTIONS[1].reference in screen_text(app)
        await pilot.press("ctrl+l")  # end now
        await wait_for(pilot, lambda: screen.phase == "done", what="summary")
        assert interview.status == "quit"
        assert "Interview quit · 2 question(s)" in screen_text(app)


async def test_progress_screen_shows_the_plot_and_strips(
    make_app: Callable[[FakeTutorService], TutorApp],
) -> None:
    app = make_app(FakeTutorService())
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        app.action_progress()
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), what="screen")
        screen = app.screen
        assert isinstance(screen, ProgressScreen)
        await wait_for(pilot, lambda: screen.report is not None, what="report")
        await pilot.pause(0.1)
        assert len(screen.query(ScorePlot)) == 1
        strips = screen.query_one(TopicStrips)
        assert len(strips.query(".strip")) == 4
        assert "due today 1" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen), what="closed")


def test_palette_offers_interview_and_progress(settings: Any) -> None:
    from mltutor.tui.app import create_app

    app = create_app(settings, lambda _s: FakeTutorService())
    titles = [e.title for e in app.palette_entries()]
    assert any(t.startswith("Interview") for t in titles)
    assert any(t.startswith("Progress") for t in titles)
