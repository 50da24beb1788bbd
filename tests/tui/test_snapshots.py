"""Snapshot tests (pytest-textual-snapshot) of the chat, check and sessions screens.

Baselines live in ``__snapshots__/``; after an intended visual change, regenerate them with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from mltutor.settings import Settings
from mltutor.tools.checker import CheckReport, StepReport
from mltutor.tui.app import create_app
from mltutor.tui.screens.check import CheckScreen
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService, demo_sessions

pytest.importorskip("pytest_textual_snapshot")

REPORT = CheckReport(
    verdict="incorrect",
    first_wrong_step=2,
    steps=[
        StepReport(line=1, text="L = (yhat - y)^2", status="ok", message="defines L"),
        StepReport(
            line=2,
            text="dL/dyhat = (yhat - y)",
            status="wrong",
            column=12,
            message="'(yhat - y)' does not follow: they differ at y = 0.34, yhat = 0.19",
            diagnosis="off by a constant factor: the result is 1/2 times the correct one",
            expected="-2*y + 2*yhat",
        ),
        StepReport(line=3, text="= yhat - y", status="ok", message="equal to the previous line"),
        StepReport(
            line=4, text="L'' = 2 yhat", status="unparsed", column=2, message="unexpected character"
        ),
    ],
)
DERIVATION = "L = (yhat - y)^2\ndL/dyhat = (yhat - y)\n= yhat - y\nL'' = 2 yhat"


def _app(settings: Settings, fake: FakeTutorService) -> Any:
    return create_app(settings, lambda _settings: fake)


def test_chat_screen_after_a_turn(snap_compare: Any, settings: Settings) -> None:
    """A finished answer: panels collapsed with their gist, Unicode math, citations."""
    app = _app(settings, FakeTutorService(token_delay=0.0))

    async def ask(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        prompt = pilot.app.screen.query_one("#prompt", Input)
        prompt.value = "What is the derivative of the sigmoid?"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: pilot.app.screen.query(".answer-citations").first().display,
            what="answer",
        )
        await wait_for(pilot, lambda: not pilot.app.generating, what="end of stream")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(100, 34), run_before=ask)


def test_check_screen_with_a_wrong_step(snap_compare: Any, settings: Settings) -> None:
    """Every step marked; the first wrong one highlighted with its diagnosis and expected value."""
    app = _app(settings, FakeTutorService(check=lambda text: REPORT))

    async def check(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CheckScreen), what="check")
        pilot.app.screen.query_one("#derivation", TextArea).text = DERIVATION
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: pilot.app.screen.report is not None,  # type: ignore[attr-defined]
            what="report",
        )
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(100, 34), run_before=check)


def test_sessions_sidebar(snap_compare: Any, settings: Settings) -> None:
    """The sidebar focused on a resumed session, its transcript on the right."""
    app = _app(settings, FakeTutorService(sessions=demo_sessions()))

    async def open_session(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        await wait_for(
            pilot,
            lambda: pilot.app.screen.query_one("SessionList").option_count == 2,
            what="sessions",
        )
        await pilot.press("ctrl+b", "enter")
        await wait_for(pilot, lambda: pilot.app.screen.query("AnswerMessage"), what="transcript")
        await pilot.press("ctrl+b")  # back to the sidebar, as a user browsing sessions would
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(120, 34), run_before=open_session)


async def _ask_and_finish(pilot: Pilot[int], question: str) -> None:
    await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
    prompt = pilot.app.screen.query_one("#prompt", Input)
    prompt.value = question
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.screen.query("AnswerMessage"), what="answer")
    await wait_for(pilot, lambda: not pilot.app.generating, what="end of stream")
    await pilot.pause(0.1)


def test_matrix_answer_with_the_tool_result_open(snap_compare: Any, settings: Settings) -> None:
    """The Hessian as a drawn matrix in the answer; the Tools panel shows inputs, the matrix,
    and each critical point with its eigenvalues and classification."""
    from tests.tui.scripts import hessian_script

    app = _app(settings, FakeTutorService(hessian_script(), token_delay=0.0))

    async def run(pilot: Pilot[int]) -> None:
        await _ask_and_finish(pilot, "What is the Hessian of x^3 - 3x + y^2?")
        await pilot.click("ToolsPanel")
        await pilot.pause(0.1)
        log = pilot.app.screen.query_one("#log")
        log.scroll_home(animate=False)  # type: ignore[attr-defined]
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 44), run_before=run)


def test_long_formula_at_80_columns(snap_compare: Any, settings: Settings) -> None:
    """A display formula wider than the screen breaks before operators, "=" under "="; a formula
    inside a list item stays in the list; no Markdown or LaTeX marks show."""
    from tests.tui.scripts import bias_variance_script

    app = _app(settings, FakeTutorService(bias_variance_script(), token_delay=0.0))

    async def run(pilot: Pilot[int]) -> None:
        await _ask_and_finish(pilot, "Bias-variance decomposition?")
        pilot.app.screen.query_one("#log").scroll_end(animate=False)  # type: ignore[attr-defined]
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_help_screen_at_80x24(
    snap_compare: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F1: the modes first (interview mode included), then the keys."""
    from mltutor.tui.app import TutorApp

    monkeypatch.setitem(TutorApp.MODES, "interview", "chat")  # the snapshot has the mode
    app = _app(settings, FakeTutorService())
    assert snap_compare(app, terminal_size=(80, 24), press=["f1"])


def test_topics_browser_at_80x24(snap_compare: Any, settings: Settings) -> None:
    """Every topic with its question count and mastery (one topic has been interviewed on)."""
    from tests.tui.scripts import demo_topics

    fake = FakeTutorService(topics=demo_topics({"calculus": 0.75, "probability": 0.3}))
    app = _app(settings, fake)

    async def run(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        pilot.app.action_topics()  # type: ignore[attr-defined]
        await wait_for(
            pilot,
            lambda: getattr(pilot.app.screen, "topics", None) is not None,
            what="topics",
        )
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_footer_at_80x24_while_the_model_reads_its_prompt(
    snap_compare: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """esc Stop first, Help and Quit whole at the right; the activity line says what happens."""
    from types import SimpleNamespace

    from mltutor.agent.events import PhaseEvent, TokenEvent
    from mltutor.tui.widgets import message

    monkeypatch.setattr(message, "time", SimpleNamespace(monotonic=lambda: 1000.0))  # no clock
    script = [
        PhaseEvent(phase="reading", detail="1,200 tokens of notes", progress=0.4),
        TokenEvent(text="L1"),
    ]
    fake = FakeTutorService(script, pause_after=1)  # stuck reading until the test ends
    app = _app(settings, fake)

    async def run(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: pilot.app.service_view.phase == "ready", what="ready")
        prompt = pilot.app.screen.query_one("#prompt", Input)
        prompt.value = "Why does L1 give sparse weights?"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: "reading" in str(pilot.app.screen.query_one(".answer-activity").render()),
            what="reading",
        )
        await pilot.pause(0.1)

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run)
    finally:
        fake.gate.set()
