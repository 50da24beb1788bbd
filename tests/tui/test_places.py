"""Pilot tests of finding your way: the help screen, the topics browser and note view, the palette."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import OptionList

from mltutor.settings import Settings, load_settings
from mltutor.tui.app import TutorApp, create_app
from mltutor.tui.screens.chat import ChatScreen
from mltutor.tui.screens.check import CheckScreen
from mltutor.tui.screens.help import HelpScreen, help_text
from mltutor.tui.screens.topics import NoteScreen, TopicsScreen, note_markdown
from mltutor.tui.widgets.markdown_body import MarkdownBody
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeTutorService
from tests.tui.scripts import DEMO_NOTE, demo_topics

pytestmark = pytest.mark.anyio

MakeApp = Callable[[FakeTutorService], TutorApp]


async def _palette(pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*query)
    await pilot.pause(0.5)
    await pilot.press("enter")


# -- help ------------------------------------------------------------------------------------------


async def test_f1_and_question_mark_open_the_help_and_esc_closes_it(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = app.screen.query_one(MarkdownBody).source
        assert "## Modes" in text and "A stronger model" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), what="back")
        # in the question box "?" is just a character...
        await pilot.press("w", "h", "y", "?")
        assert app.screen.query_one("#prompt").value == "why?"  # type: ignore[attr-defined]
        assert isinstance(app.screen, ChatScreen)
        # ...elsewhere it opens the help
        app.screen.set_focus(None)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help by ?")


def test_the_help_names_every_key_the_screens_bind() -> None:
    """Keys added to a screen must be explained on the help screen too."""
    from textual.binding import Binding

    shown = help_text(interview="interview" in TutorApp.MODES).lower()
    for owner in (ChatScreen, CheckScreen, TutorApp):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            for key in binding.key.split(","):
                name = {"question_mark": "?", "escape": "esc"}.get(key, key)
                assert name in shown, f"{owner.__name__}: {key} is not on the help screen"


# -- topics ------------------------------------------------------------------------------------------


async def test_topics_from_the_palette_list_every_topic_and_open_a_note(make_app: MakeApp) -> None:
    fake = FakeTutorService(topics=demo_topics({"calculus": 0.75}))
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        await _palette(pilot, "topics")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="topics")
        screen = app.screen
        await wait_for(pilot, lambda: screen.topics is not None, what="loaded")  # type: ignore[attr-defined]
        listing = screen.query_one("#topics", OptionList)
        assert listing.option_count == 24
        message = str(screen.query_one("#topics-message").render())
        assert "24 topics · 145 interview questions" in message
        first = listing.get_option_at_index(0)
        assert first.id == "calculus"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen), what="note")
        body = app.screen.query_one(MarkdownBody)
        await wait_for(pilot, lambda: "Key formulas" in body.source, what="note body")
        assert body.source.index("Key formulas") < body.source.index("Intuition")
        assert "θₜ₊₁ = θₜ - H⁻¹ ∇f(θₜ)" in body.source  # math drawn, not LaTeX
        assert "plain:" not in body.source and "\\theta" not in body.source
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="list again")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), what="chat again")


def test_a_note_puts_its_key_formulas_first_and_drops_plain_lines() -> None:
    body = "## Intuition\n\nSlopes.\n\n" + DEMO_NOTE.replace("## Intuition", "## Later")
    shown = note_markdown(body)
    assert shown.startswith("## Key formulas")
    assert "plain:" not in shown
    assert re.search(r"```math\n\|θₜ₊₁ - θ\*\| ≈ C \|θₜ - θ\*\|²\n```", shown)


async def test_mastery_is_shown_once_known(make_app: MakeApp) -> None:
    from mltutor.tui.screens.topics import mastery_text

    assert mastery_text(None).plain == "—"
    assert mastery_text(0.75).plain == "▰▰▰▰▰▰▱▱  75%"
    assert mastery_text(1.2).plain.endswith("100%")


# -- the model ---------------------------------------------------------------------------------------


@pytest.fixture
def configured(tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        base_url="http://127.0.0.1:11434/v1",
        model="qwen2.5:7b-instruct",
    )


async def test_the_model_is_switched_from_the_palette_and_shows_which_is_active(
    configured: Settings,
) -> None:
    fake = FakeTutorService(token_delay=0.0)
    app = create_app(configured, lambda _settings: fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", what="ready")
        titles = [e.title for e in app.palette_entries() if e.title.startswith("Model:")]
        assert titles == [
            "Model: embedded",
            "Model: qwen2.5:7b-instruct at http://127.0.0.1:11434/v1 (active)",
            "Model: connect to another endpoint…",
        ]
        await _palette(pilot, "model embedded")
        await wait_for(pilot, lambda: fake.started == 2, what="restart on the embedded model")
        assert app.settings.base_url == "embedded" and app.settings.model is None
        titles = [e.title for e in app.palette_entries() if e.title.startswith("Model:")]
        assert titles[0] == "Model: embedded (active)"
        assert not titles[1].endswith("(active)")
        # and back to the configured endpoint in one step
        entry = next(e for e in app.palette_entries() if e.title.startswith("Model: qwen"))
        entry.callback()
        await wait_for(pilot, lambda: fake.started == 3, what="restart on the endpoint")
        assert app.settings.base_url == "http://127.0.0.1:11434/v1"
        assert app.settings.model == "qwen2.5:7b-instruct"


async def test_check_and_help_are_found_in_the_palette(make_app: MakeApp) -> None:
    app = make_app(FakeTutorService())
    async with app.run_test(size=(100, 30)) as pilot:
        await _palette(pilot, "check mode")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckScreen), what="check mode")
        await _palette(pilot, "help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
