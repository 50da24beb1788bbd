"""Pilot tests of the app as a study tool: focus and keys, stop and retry, panels, phases, footer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.widgets import Input

from mltutor.agent.events import (
    Event,
    FinalEvent,
    PhaseEvent,
    TokenEvent,
    ToolResultEvent,
    ToolStartedEvent,
)
from mltutor.tui.app import TutorApp
from mltutor.tui.screens.check import CheckScreen
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.message import AnswerMessage
from mltutor.tui.widgets.panels import SourcesPanel, ToolsPanel, VerificationPanel
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService, sigmoid_script
from tests.tui.scripts import HESSIAN_ARGS, HESSIAN_RESULT, demo_sessions, hessian_script
from tests.tui.test_chat import _ask, _static_text

pytestmark = pytest.mark.anyio

MakeApp = Callable[[FakeTutorService], TutorApp]


def _prompt(app: TutorApp) -> Input:
    return app.screen.query_one("#prompt", Input)


def _keys(app: TutorApp) -> str:
    return app.screen.query_one(KeyBar).render().plain


# -- focus -------------------------------------------------------------------------------------------


async def test_clicking_a_panel_opens_it_and_typing_still_goes_to_the_prompt(
    make_app: MakeApp,
) -> None:
    app = make_app(FakeTutorService(hessian_script(), token_delay=0.0))
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "Hessian of x^3 - 3x + y^2?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
        tools = answer.query_one(ToolsPanel)
        assert tools.collapsed
        await pilot.click(ToolsPanel)
        await pilot.pause()
        assert not tools.collapsed
        assert app.focused is _prompt(app)
        await pilot.press("w", "h", "y")
        assert _prompt(app).value == "why"


async def test_typing_while_a_panel_has_the_focus_goes_to_the_prompt(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService(token_delay=0.0))
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
        sources = answer.query_one(SourcesPanel)
        sources.focus()
        await pilot.press("space")  # a key the panel uses: it opens, nothing is typed
        await pilot.pause()
        assert not sources.collapsed and _prompt(app).value == ""
        await pilot.press("a", "n", "d")
        assert app.focused is _prompt(app)
        assert _prompt(app).value == "and"


async def test_stopping_returns_the_focus_to_the_prompt(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        answer.query_one(SourcesPanel).focus()
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        await pilot.pause()
        assert app.focused is _prompt(app)
        await pilot.press("o", "k")
        assert _prompt(app).value == "ok"


# -- stop and retry ------------------------------------------------------------------------------


async def test_f5_after_a_stop_asks_the_stopped_question_again(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "derivative of the sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        assert "Retry" not in _keys(app)  # nothing to retry while it streams
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        await pilot.pause()
        assert "F5 Retry" in _keys(app)
        fake.token_delay = 0.0
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(app.screen.query(AnswerMessage)) == 2, what="retry")
        retried = app.screen.query(AnswerMessage).last()
        await wait_for(pilot, lambda: retried.outcome == "final", what="retried answer")
        assert [a["question"] for a in fake.asked] == ["derivative of the sigmoid?"] * 2
        assert "Retry" not in _keys(app)


async def test_a_computed_tool_result_stays_after_esc(make_app: MakeApp) -> None:
    script: list[Event] = [
        ToolStartedEvent(call_id="h1", name="hessian", args=HESSIAN_ARGS),
        ToolResultEvent(call_id="h1", name="hessian", ok=True, result=HESSIAN_RESULT),
        PhaseEvent(phase="reading", detail="900 tokens of notes"),
        TokenEvent(text="never shown"),
    ]
    fake = FakeTutorService(script, token_delay=0.0, pause_after=3)  # stuck reading its prompt
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "Hessian?")
        activity = answer.query_one(".answer-activity")
        await wait_for(pilot, lambda: "reading" in _static_text(activity), what="reading")
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        tools = answer.query_one(ToolsPanel)
        assert tools.title == "Tools · hessian ✓ · saddle at (-1, 0); minimum at (1, 0)"
        details = tools.details.plain
        assert "classification: saddle" in details and "classification: minimum" in details
        assert "⎡6⋅x  0⎤" in details  # the matrix, drawn
        assert "inputs: expr = x^3 - 3*x + y^2, variables = x, y" in details


class _LateTool(FakeTutorService):
    """A tool that finishes after the user pressed esc (its result must still be shown)."""

    def ask(self, question: str, **kwargs: Any) -> Iterator[Event]:
        cancel: threading.Event = kwargs["cancel"]
        yield ToolStartedEvent(call_id="h1", name="hessian", args=HESSIAN_ARGS)
        cancel.wait(10)
        yield ToolResultEvent(call_id="h1", name="hessian", ok=True, result=HESSIAN_RESULT)
        yield TokenEvent(text="ignored after the stop")


async def test_a_tool_result_arriving_after_esc_still_lands_in_the_panel(
    make_app: MakeApp,
) -> None:
    app = make_app(_LateTool())
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "Hessian?")
        tools = answer.query_one(ToolsPanel)
        await wait_for(pilot, lambda: tools.running, what="tool running")
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        await wait_for(pilot, lambda: "classification: saddle" in tools.details.plain, what="late")
        assert "ignored" not in answer.body_source


# -- what is happening -------------------------------------------------------------------------------


async def test_the_activity_line_says_what_happens_before_any_token(make_app: MakeApp) -> None:
    script: list[Event] = [
        PhaseEvent(phase="reading", detail="1,200 tokens of notes", progress=0.4),
        PhaseEvent(phase="writing"),
        TokenEvent(text="Hello"),
        FinalEvent(answer="Hello"),
    ]
    fake = FakeTutorService(script, token_delay=0.0, pause_after=2)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        activity = answer.query_one(".answer-activity")
        await wait_for(pilot, lambda: "starting to write" in _static_text(activity), what="phase")
        assert "writing…" not in _static_text(activity)  # nothing written yet
        fake.pause_after = None
        fake.gate.set()
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")

    fake2 = FakeTutorService(script, token_delay=0.0, pause_after=1)
    app2 = make_app(fake2)
    async with app2.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        activity = answer.query_one(".answer-activity")
        await wait_for(pilot, lambda: "reading" in _static_text(activity), what="reading")
        shown = _static_text(activity)
        assert "reading 1,200 tokens of notes…" in shown and "40%" in shown
        fake2.gate.set()


async def test_citations_show_the_section_and_an_excerpt_not_a_score(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService(sigmoid_script(), token_delay=0.0))
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
        cited = _static_text(answer.query_one(".answer-citations"))
        assert "[1] calculus § Sigmoid derivative — σ'(x) = σ(x)(1 − σ(x))" in cited
        sources = answer.query_one(SourcesPanel).details.plain
        assert "Compute log σ(x) as -softplus(-x)" in sources
        for score in ("0.91", "0.64"):
            assert score not in cited and score not in sources


# -- resumed sessions --------------------------------------------------------------------------------


async def test_a_resumed_session_keeps_its_panels(make_app: MakeApp) -> None:
    fake = FakeTutorService(sessions=demo_sessions(), token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot, lambda: app.screen.query_one("SessionList").option_count == 2, what="sessions"
        )
        await pilot.press("ctrl+b", "down", "enter")  # the older one: the Bayes session
        await wait_for(pilot, lambda: app.screen.query(AnswerMessage), what="transcript")
        answer = app.screen.query(AnswerMessage).last()
        await pilot.pause()
        assert answer.query_one(SourcesPanel).title == "Sources · 1 retrieved"
        tools = answer.query_one(ToolsPanel)
        assert tools.title == "Tools · evaluate ✓"
        assert "value: 0.166667" in tools.details.plain
        verification = answer.query_one(VerificationPanel)
        assert verification.title == "Verification · 1 claim checked, it holds"
        cited = _static_text(answer.query_one(".answer-citations"))
        assert "[1] probability § Bayes rule — P(A|B) = P(B|A) P(A) / P(B)" in cited


async def test_an_answer_asked_now_is_resumed_with_its_tool_results(make_app: MakeApp) -> None:
    fake = FakeTutorService(hessian_script(), token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        answer = await _ask(pilot, "Hessian of x^3 - 3x + y^2?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
        session = app.screen.session_id  # type: ignore[attr-defined]
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: not app.screen.query(AnswerMessage), what="new chat")
        await wait_for(
            pilot, lambda: app.screen.query_one("SessionList").option_count >= 1, what="listed"
        )
        await pilot.press("ctrl+b", "enter")
        await wait_for(pilot, lambda: app.screen.query(AnswerMessage), what="resumed")
        assert app.screen.session_id == session  # type: ignore[attr-defined]
        resumed = app.screen.query(AnswerMessage).last()
        await pilot.pause()
        assert "classification: saddle" in resumed.query_one(ToolsPanel).details.plain
        assert "H = ⎛6x  0⎞" in resumed.body_source


async def test_a_stopped_answer_is_resumed_marked_as_stopped(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        await pilot.press("escape")
        await wait_for(pilot, lambda: fake.cancelled == 1, what="cancel seen")
        await pilot.press("ctrl+n")
        await wait_for(
            pilot, lambda: app.screen.query_one("SessionList").option_count >= 1, what="listed"
        )
        await pilot.press("ctrl+b", "enter")
        await wait_for(pilot, lambda: app.screen.query(AnswerMessage), what="resumed")
        resumed = app.screen.query(AnswerMessage).last()
        await pilot.pause()
        assert "■ stopped" in _static_text(resumed.query_one(".answer-activity"))
        assert resumed.body_source  # the part written before the stop is kept


# -- footer ------------------------------------------------------------------------------------------


async def test_the_key_bar_fits_80_columns_with_the_important_keys(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        idle = _keys(app)
        assert len(idle) <= 80
        for key in ("^t Check", "^b Sessions", "^n New", "F1 Help", "^q Quit"):
            assert key in idle, (key, idle)
        assert idle.rstrip().endswith("^q Quit")
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="streaming")
        busy = _keys(app)
        assert len(busy) <= 80 and busy.lstrip().startswith("esc Stop"), busy
        assert "^q Quit" in busy
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckScreen), what="check mode")
        check = _keys(app)
        for key in ("^r Check", "^g Explain", "^t Chat", "^q Quit"):
            assert key in check, (key, check)
    narrow = make_app(FakeTutorService())
    async with narrow.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        keys = _keys(narrow)
        assert len(keys) <= 40 and "^q Quit" in keys and "F1 Help" in keys


async def test_clicking_a_key_in_the_bar_presses_it(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService())
    async with app.run_test(size=(100, 30)) as pilot:
        bar = app.screen.query_one(KeyBar)
        text = bar.render().plain
        x = text.index("^t Check")
        await pilot.click(KeyBar, offset=(x + 1, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, CheckScreen), what="check mode")


async def test_nothing_starts_a_service_once_quitting_has_begun(make_app: MakeApp) -> None:
    fake = FakeTutorService()
    app = make_app(fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        app.services.close_all()
        epoch = app.services.epoch
        app.restart_service()  # e.g. F5 or a queued question racing the quit
        await pilot.pause(0.2)
        assert app.services.epoch == epoch and fake.started == 1


async def test_a_resumed_answer_cut_inside_a_formula_shows_no_raw_latex(make_app: MakeApp) -> None:
    from mltutor.agent.service import TranscriptEntry

    cut = "The decomposition is\n\n$$\\mathbb{E}_{\\mathcal{D}}\\left[(y - \\hat f"
    sessions = [
        (
            "Stopped mid-formula",
            [
                TranscriptEntry(role="user", content="bias-variance?"),
                TranscriptEntry(role="assistant", content=cut, interrupted="stopped"),
            ],
        )
    ]
    app = make_app(FakeTutorService(sessions=sessions))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(
            pilot, lambda: app.screen.query_one("SessionList").option_count == 1, what="listed"
        )
        await pilot.press("ctrl+b", "enter")
        await wait_for(pilot, lambda: app.screen.query(AnswerMessage), what="resumed")
        answer = app.screen.query(AnswerMessage).last()
        assert answer.body_source.startswith("The decomposition is")
        assert "\\mathbb" not in answer.body_source and "$$" not in answer.body_source


class _LeadThenModel(FakeTutorService):
    """A computed lead, then the model reads its prompt, then writes (each step on a gate)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = [threading.Event(), threading.Event()]

    def ask(self, question: str, **kwargs: Any) -> Iterator[Event]:
        yield TokenEvent(text="The derivative is computed: 2x.\n\n")
        yield PhaseEvent(phase="reading", detail="900 tokens of notes and question")
        self.steps[0].wait(10)
        yield TokenEvent(text="Because")
        self.steps[1].wait(10)
        yield FinalEvent(answer="The derivative is computed: 2x.\n\nBecause of the power rule.")


async def test_text_after_a_reading_phase_says_writing_again(make_app: MakeApp) -> None:
    fake = _LeadThenModel()
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "d/dx x^2?")
        activity = answer.query_one(".answer-activity")
        await wait_for(pilot, lambda: "reading 900" in _static_text(activity), what="reading")
        fake.steps[0].set()
        await wait_for(pilot, lambda: "writing…" in _static_text(activity), what="writing")
        fake.steps[1].set()
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
