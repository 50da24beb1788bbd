"""Pilot tests of the chat screen with the scripted fake service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input

from mltutor.agent.events import ErrorEvent, TokenEvent
from mltutor.tui.app import TutorApp
from mltutor.tui.screens.chat import ChatScreen
from mltutor.tui.screens.dialogs import ConfirmScreen
from mltutor.tui.widgets.markdown_body import MarkdownBody
from mltutor.tui.widgets.message import AnswerMessage
from mltutor.tui.widgets.panels import SourcesPanel, ToolsPanel, VerificationPanel
from tests.tui.conftest import wait_for
from tests.tui.fakes import SIGMOID_ANSWER, FakeTutorService, sigmoid_script

pytestmark = pytest.mark.anyio

MakeApp = Callable[[FakeTutorService], TutorApp]


def _static_text(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


def _painted(widget: Any) -> str:
    """The lines a widget paints now, as plain text."""
    return "\n".join(strip.text for strip in widget.render_lines(widget.region.reset_offset))


async def _ask(pilot, question: str) -> AnswerMessage:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.service_view.phase != "starting", what="service start")
    prompt = app.screen.query_one("#prompt", Input)
    prompt.value = question
    prompt.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.query(AnswerMessage), what="answer widget")
    return app.screen.query(AnswerMessage).last()


async def test_chat_turn_streams_answer_with_panels_and_citations(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.002)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "What is the derivative of the sigmoid?")
        await wait_for(pilot, lambda: answer.outcome is not None, what="final answer")
        assert answer.outcome == "final"
        # LaTeX came through as Unicode, the display formula as its own block
        assert "σ(x) = 1/(1+e⁻ˣ)" in answer.body_source
        assert "σ'(x) = e⁻ˣ/(1+e⁻ˣ)² = σ(x) (1-σ(x))" in answer.body_source
        assert "\\frac" not in answer.body_source
        sources = answer.query_one(SourcesPanel)
        tools = answer.query_one(ToolsPanel)
        verification = answer.query_one(VerificationPanel)
        assert sources.display and sources.title == "Sources · 2 retrieved"
        assert sources.collapsed  # collapsed by default, the title says the gist
        assert tools.title == "Tools · differentiate ✓"
        details = tools.details.plain
        assert "inputs: expr = 1/(1+exp(-x)), wrt = x" in details
        assert "exp(x)/(exp(x) + 1)^2" in details  # the summary line
        assert "⎝ℯ  + 1⎠" in details  # and the whole result, drawn
        assert "notation: d/dx" in details
        assert verification.title == "Verification · 2 claims checked, all hold"
        citations = _static_text(answer.query_one(".answer-citations"))
        assert "[1] calculus § Sigmoid derivative" in citations
        assert "2 claims checked by the math tools." in citations
        assert fake.asked[0]["question"] == "What is the derivative of the sigmoid?"
        assert fake.asked[0]["session_id"] == "s1"  # the UI created the session first
        # the worker clears the flag after the final event is drawn: wait, do not race it
        await wait_for(pilot, lambda: not app.generating, what="generation end")
        # a panel opens from the keyboard and shows its details
        assert "calculus § Sigmoid derivative" not in _painted(sources)
        sources.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not sources.collapsed
        assert "[1] calculus § Sigmoid derivative" in _painted(sources)
    assert app.services.wait(5.0)  # closing runs in a thread, never on the UI's
    assert fake.closed == 1


async def test_escape_stops_mid_stream_without_quitting(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        assert app.generating
        await pilot.press("escape")
        await wait_for(pilot, lambda: answer.outcome is not None, what="stop")
        assert answer.outcome == "stopped"
        assert "stopped" in _static_text(answer.query_one(".answer-activity"))
        assert not app.generating
        await wait_for(pilot, lambda: fake.cancelled == 1, what="service to see the cancel")
        assert 0 < len(answer._raw) < len(SIGMOID_ANSWER)  # stopped part-way
        assert app.is_running and isinstance(app.screen, ChatScreen)
        # the app still answers afterwards
        fake.token_delay = 0.0
        second = await _ask(pilot, "again")
        assert second is not answer
        await wait_for(pilot, lambda: second.outcome == "final", what="second answer")


async def test_ctrl_c_stops_and_does_not_quit(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: answer.outcome == "stopped", what="stop")
        assert app.is_running
        # with nothing streaming, esc is not swallowed by the stop binding
        assert app.check_action("stop", ()) is False


async def test_quit_while_generating_asks_first(make_app: MakeApp) -> None:
    fake = FakeTutorService(sigmoid_script(SIGMOID_ANSWER * 4), token_delay=0.05)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.body_source, what="first tokens")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), what="dialog closed")
        assert answer.outcome is None, answer.outcome
        assert app.is_running and app.generating
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 0
    assert app.services.wait(5.0)
    assert fake.closed == 1


async def test_provider_error_is_shown_and_f5_retries(make_app: MakeApp) -> None:
    failing = [
        TokenEvent(text="Partial "),
        ErrorEvent(message="the model server stopped answering", kind="provider", retryable=True),
    ]
    fake = FakeTutorService(failing, token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome is not None, what="error")
        assert answer.outcome == "error"
        error = _static_text(answer.query_one(".answer-error"))
        assert "the model server stopped answering" in error and "F5" in error
        fake.script = sigmoid_script()
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(app.screen.query(AnswerMessage)) == 2, what="retry")
        retried = app.screen.query(AnswerMessage).last()
        await wait_for(pilot, lambda: retried.outcome == "final", what="retried answer")
        assert [a["question"] for a in fake.asked] == ["sigmoid?", "sigmoid?"]


async def test_service_exception_mid_run_becomes_an_error(make_app: MakeApp) -> None:
    class Exploding(FakeTutorService):
        def ask(self, question, **kwargs):  # type: ignore[no-untyped-def, override]
            yield TokenEvent(text="Start")
            raise RuntimeError("graph node crashed")

    app = make_app(Exploding())
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome is not None, what="error")
        assert "graph node crashed" in _static_text(answer.query_one(".answer-error"))
        assert app.is_running


async def test_question_sent_while_starting_is_queued(make_app: MakeApp) -> None:
    fake = FakeTutorService(start_delay=0.6, token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.05)
        assert app.service_view.phase == "starting"
        prompt = app.screen.query_one("#prompt", Input)
        prompt.value = "sigmoid?"
        await pilot.press("enter")
        assert not fake.asked
        await wait_for(pilot, lambda: fake.asked, what="queued question sent")
        answer = app.screen.query(AnswerMessage).last()
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")


async def test_best_of_from_the_command_palette(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"best-of-N = 4")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.settings.best_of == 4, what="setting applied")
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
        assert fake.asked[-1]["best_of"] == 4


async def test_language_change_restarts_the_service(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.0)
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        entry = next(e for e in app.palette_entries() if "language = ru" in e.title)
        entry.callback()
        await wait_for(pilot, lambda: fake.started == 2, what="restart")
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready again")
        assert app.settings.language == "ru"
        assert fake.closed == 1  # the old service was closed before the new one started


async def test_streamed_tokens_are_batched(make_app: MakeApp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown: list[str] = []
    original = MarkdownBody.show

    def counting(self: MarkdownBody, text: str, **kwargs: bool) -> None:
        shown.append(text)
        original(self, text, **kwargs)

    monkeypatch.setattr(MarkdownBody, "show", counting)
    fake = FakeTutorService(token_delay=0.0)  # every token arrives at once
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        answer = await _ask(pilot, "sigmoid?")
        await wait_for(pilot, lambda: answer.outcome == "final", what="answer")
    tokens = sum(isinstance(e, TokenEvent) for e in fake.script)
    assert tokens > 30
    assert len(shown) <= 6  # one body update per 50 ms tick, not one per token


def test_long_answers_are_few_widgets() -> None:
    from mltutor.tui.widgets.markdown_body import chunk_markdown

    text = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(40))
    chunks = chunk_markdown(text)
    assert "".join(chunks) == text
    assert 8 <= len(chunks) <= 12  # ~12k characters in ~1.2k chunks, not 40 widgets
    # growing text keeps every chunk but the last
    assert chunk_markdown(text + " more")[:-1] == chunks[:-1]
