"""Pilot tests of the sessions sidebar: resume, rename, delete, export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from mltutor.tui.app import TutorApp
from mltutor.tui.screens.chat import ChatScreen
from mltutor.tui.screens.dialogs import ConfirmScreen, PromptScreen
from mltutor.tui.widgets.message import AnswerMessage, UserMessage
from mltutor.tui.widgets.sessions import SessionList
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService, demo_sessions

pytestmark = pytest.mark.anyio

MakeApp = Callable[[FakeTutorService], TutorApp]


async def _sidebar(pilot, count: int = 2) -> SessionList:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
    listing = app.screen.query_one(SessionList)
    await wait_for(pilot, lambda: listing.option_count == count, what="sessions listed")
    await pilot.press("ctrl+b")
    assert listing.has_focus
    return listing  # type: ignore[no-any-return]


def _titles(listing: SessionList) -> list[str]:
    return [
        str(listing.get_option_at_index(i).prompt).split("\n")[0].strip("● ").strip()
        for i in range(listing.option_count)
    ]


async def test_resume_a_session_and_export_it(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakeTutorService(token_delay=0.0, sessions=demo_sessions())
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await _sidebar(pilot)
        # most recent first
        assert _titles(listing) == ["Derivative of softmax", "Bayes rule for a medical test"]
        await pilot.press("down", "enter")
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session_id == "s1", what="session opened")
        await wait_for(pilot, lambda: screen.query(AnswerMessage), what="transcript shown")
        assert [str(m.render()) for m in screen.query(UserMessage)] == [
            "P(disease | positive) for a 1% prior?"
        ]
        stored = screen.query_one(AnswerMessage)
        assert "0.0099/(0.0099 + 0.0495) ≈ 0.167" in stored.body_source
        assert "probability § Bayes rule" in str(stored.query_one(".answer-citations").render())
        assert screen.query_one("#prompt", Input).has_focus
        # continuing the conversation goes to the resumed session
        screen.query_one("#prompt", Input).value = "And with a 10% prior?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.asked, what="question sent")
        assert fake.asked[0]["session_id"] == "s1"
        await wait_for(pilot, lambda: not app.generating, what="answer done")
        # export to Markdown
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="export dialog")
        path_input = app.screen.query_one(Input)
        assert path_input.value == "mltutor-bayes-rule-for-a-medical-test.md"
        await pilot.press("enter")
        exported = tmp_path / "mltutor-bayes-rule-for-a-medical-test.md"
        await wait_for(pilot, exported.exists, what="export written")
        text = exported.read_text(encoding="utf-8")
        assert text.startswith("# Bayes rule for a medical test")
        assert "And with a 10% prior?" in text


async def test_rename_and_delete_sessions(make_app: MakeApp) -> None:
    fake = FakeTutorService(token_delay=0.0, sessions=demo_sessions())
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await _sidebar(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="rename dialog")
        field = app.screen.query_one(Input)
        assert field.value == "Derivative of softmax"
        field.value = "Softmax Jacobian"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Softmax Jacobian" in _titles(listing), what="renamed")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("n")  # cancelling keeps it
        await pilot.pause(0.1)
        assert len(fake.sessions()) == 2
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: listing.option_count == 1, what="deleted")
        assert [s.title for s in fake.sessions()] == ["Bayes rule for a medical test"]
        # n starts a new conversation, ctrl+b goes back to the prompt
        await pilot.press("ctrl+b")
        assert app.screen.query_one("#prompt", Input).has_focus


async def test_export_without_a_session_says_so(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService())
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        await pilot.press("ctrl+o")
        await pilot.pause(0.05)
        assert not isinstance(app.screen, PromptScreen)
        assert any("Nothing to export" in n.message for n in app._notifications)


async def test_long_sessions_keep_only_recent_exchanges_on_screen(make_app: MakeApp) -> None:
    from mltutor.agent.service import TranscriptEntry
    from mltutor.tui.screens.chat_sessions import MAX_EXCHANGES_SHOWN

    past = [
        TranscriptEntry(role=role, content=f"{role} {i}")
        for i in range(MAX_EXCHANGES_SHOWN + 3)
        for role in ("user", "assistant")
    ]
    fake = FakeTutorService(token_delay=0.0, sessions=[("long", past)])
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _sidebar(pilot, count=1)
        await pilot.press("enter")
        screen = app.screen
        await wait_for(pilot, lambda: screen.query(UserMessage), what="transcript")
        users = [str(m.render()) for m in screen.query(UserMessage)]
        assert len(users) == MAX_EXCHANGES_SHOWN and users[0] == "user 3"
        assert "3 earlier exchanges are not shown" in str(
            screen.query_one(".earlier-note").render()
        )
        # a new question drops one more from the screen (never from the session)
        screen.query_one("#prompt", Input).value = "one more"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.generating and fake.asked, what="answer")
        users = [str(m.render()) for m in screen.query(UserMessage)]
        assert len(users) == MAX_EXCHANGES_SHOWN and users[-1] == "one more"
        assert "4 earlier exchanges" in str(screen.query_one(".earlier-note").render())
        assert len(fake.transcript("s1")) == 2 * (MAX_EXCHANGES_SHOWN + 3) + 2
