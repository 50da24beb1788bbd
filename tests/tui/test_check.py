"""Pilot tests of check mode: the real checker through the fake service; explain; failures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual import events
from textual.widgets import TextArea

from mltutor.agent.errors import ProviderError
from mltutor.tui.app import TutorApp
from mltutor.tui.screens.check import CheckScreen
from mltutor.tui.widgets.message import AnswerMessage
from mltutor.tui.widgets.step_list import StepList
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService

pytestmark = pytest.mark.anyio

MakeApp = Callable[[FakeTutorService], TutorApp]

DERIVATION = "L = (yhat - y)^2\ndL/dyhat = (yhat - y)\n"


def _rows(screen: CheckScreen) -> list[tuple[str, str]]:
    """(classes, text) of every row of the step list."""
    return [
        (" ".join(sorted(row.classes)), getattr(row, "plain", None) or str(row.render()))
        for row in screen.query_one(StepList).children
    ]


async def _open_check(pilot, text: str) -> CheckScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.service_view.phase != "starting", what="service start")
    await pilot.press("ctrl+t")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckScreen), what="check mode")
    screen = app.screen
    editor = screen.query_one("#derivation", TextArea)
    assert editor.has_focus
    app.post_message(events.Paste(text))  # what the driver sends for a bracketed paste
    await wait_for(pilot, lambda: editor.text == text, what="paste")
    return screen  # type: ignore[no-any-return]


async def test_check_marks_the_first_wrong_step(make_app: MakeApp) -> None:
    fake = FakeTutorService()
    app = make_app(fake)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await _open_check(pilot, DERIVATION)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.report is not None, timeout=60, what="check")
        assert fake.checked == [DERIVATION]
        rows = _rows(screen)
        assert "First wrong step: line 2." in rows[0][1]
        first, second = rows[1], rows[2]
        assert "step-ok" in first[0] and first[1].startswith("✓ ok")
        assert "step-wrong" in second[0] and "first-wrong" in second[0]
        assert second[1].startswith("✗ wrong")
        assert "likely mistake: off by a constant factor" in second[1]
        assert "expected: -2*y + 2*yhat" in second[1]


async def test_explain_streams_the_tutor_about_the_wrong_step(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await _open_check(pilot, DERIVATION)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.report is not None, timeout=60, what="check")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.explanation is not None, what="explanation")
        answer = screen.explanation
        assert isinstance(answer, AnswerMessage)
        await wait_for(pilot, lambda: answer.outcome == "final", what="explanation end")
        assert "d/dy\u0302 (y\u0302 - y)² = 2(y\u0302 - y)" in answer.body_source
        assert answer.border_title == "Tutor · why line 2 is wrong"


async def test_check_works_with_the_model_down_and_explain_says_why_not(
    make_app: MakeApp,
) -> None:
    fake = FakeTutorService(
        start_error=ProviderError(
            "cannot reach the model at http://127.0.0.1:9/v1", "unreachable", retryable=True
        ),
        ready=False,
    )
    app = make_app(fake)
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "degraded", what="degraded")
        assert "cannot reach the model" in app.service_view.text
        screen = await _open_check(pilot, DERIVATION)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.report is not None, timeout=60, what="check")
        assert screen.report is not None and screen.report.first_wrong_step == 2
        await pilot.press("ctrl+g")
        await pilot.pause(0.1)
        assert screen.explanation is None  # no model: a notification instead of a stream
        assert any("Explaining needs a model" in n.message for n in app._notifications)
        # F5 in chat mode retries the start
        await pilot.press("ctrl+t")
        fake.start_error = None
        fake.ready = True
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="recovered")
        assert fake.started == 2


async def test_no_service_at_all_is_shown_not_crashed_on(settings) -> None:  # type: ignore[no-untyped-def]
    def broken(_settings: object) -> FakeTutorService:
        raise ImportError("No module named 'mltutor.agent.facade'")

    from mltutor.tui.app import create_app

    app = create_app(settings, broken)
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "unavailable", what="failure")
        assert "tutor unavailable" in app.service_view.text
        assert "not installed" in app.service_view.reason
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckScreen), what="check mode")
        screen = app.screen
        screen.query_one("#derivation", TextArea).text = DERIVATION
        await pilot.press("ctrl+r")
        await pilot.pause(0.05)
        text = " ".join(row for _, row in _rows(screen))  # type: ignore[arg-type]
        assert "checker unavailable" in text
        assert app.is_running


async def test_check_failure_is_reported(make_app: MakeApp) -> None:
    def failing(text: str):  # type: ignore[no-untyped-def]
        raise TimeoutError("the checker took too long")

    fake = FakeTutorService(check=failing)
    app = make_app(fake)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await _open_check(pilot, DERIVATION)
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: any("the check failed" in t for _, t in _rows(screen)), what="failure"
        )
        assert any("the checker took too long" in t for _, t in _rows(screen))
