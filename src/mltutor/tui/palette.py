"""The command palette (ctrl+p): places, the model, and settings, found by typing.

"topics", "check", "help", "model", "best", "lang" each find their entry; every entry says what it
does now (which model is active, the current best-of-N). The app builds the entries from its state
each time the palette opens; the provider only lists and matches them. Entries for other places
(an interview, progress) are added to :func:`palette_entries` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mltutor.tui.screens.dialogs import ProviderScreen

if TYPE_CHECKING:
    from mltutor.tui.app import TutorApp

EMBEDDED = "embedded"
"""``base_url`` that selects the embedded model (even when an API key is set)."""


@dataclass(frozen=True)
class PaletteEntry:
    """One palette command."""

    title: str
    """What the user types to find it (and sees)."""
    help: str
    """A line under the title: what it does, or the current value."""
    callback: Callable[[], object]
    """Run when chosen."""


@runtime_checkable
class HasPaletteEntries(Protocol):
    """An app that offers palette entries."""

    def palette_entries(self) -> list[PaletteEntry]:
        """The entries, built from the current state."""
        ...


class PaletteCommands(Provider):
    """Palette provider for the app's entries."""

    def _entries(self) -> list[PaletteEntry]:
        app = self.app
        return app.palette_entries() if isinstance(app, HasPaletteEntries) else []

    async def discover(self) -> Hits:
        """All entries, shown when the palette opens with an empty query."""
        for entry in self._entries():
            yield DiscoveryHit(entry.title, entry.callback, help=entry.help)

    async def search(self, query: str) -> Hits:
        """Entries whose title fuzzy-matches ``query``."""
        matcher = self.matcher(query)
        for entry in self._entries():
            score = matcher.match(entry.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(entry.title),
                    entry.callback,
                    text=entry.title,
                    help=entry.help,
                )


def palette_entries(app: TutorApp) -> list[PaletteEntry]:
    """Places first, then the model, then settings."""
    other_mode = "check" if app.current_mode != "check" else "chat"
    entries = [
        PaletteEntry(
            "Topics: browse the topics and their notes",
            "every topic with its interview questions; enter opens its note",
            app.action_topics,
        ),
        PaletteEntry(
            f"{other_mode.capitalize()} mode",
            "check a derivation step by step (ctrl+t)"
            if other_mode == "check"
            else "ask the tutor (ctrl+t)",
            partial(app.switch_mode, other_mode),
        ),
        PaletteEntry(
            "Interview: a mock interview, graded, with follow-ups",
            "due reviews first, then your weakest topics, then new questions (F2)",
            partial(app.switch_mode, "interview"),
        ),
        PaletteEntry(
            "Progress: mastery per topic, due reviews, score plot",
            "what the interviews say about you: weakest key points and what to review",
            app.action_progress,
        ),
        PaletteEntry(
            "Help: keys, modes and marks", "what everything on screen means (F1)", app.action_help
        ),
    ]
    return entries + model_entries(app) + settings_entries(app)


def model_entries(app: TutorApp) -> list[PaletteEntry]:
    """Switch between the embedded model and the configured endpoint, or connect to another."""
    s = app.settings
    embedded_now = _is_embedded(s.base_url, has_key=s.api_key is not None)
    now = "embedded model" if embedded_now else _where(s.base_url, s.model)
    entries = [
        PaletteEntry(
            "Model: embedded" + (" (active)" if embedded_now else ""),
            "the bundled local model: private, works offline, slower and weaker",
            partial(apply, app, {"base_url": EMBEDDED, "model": None}, restart=True),
        )
    ]
    url, model = app.configured
    if not _is_embedded(url, has_key=s.api_key is not None):
        active = not embedded_now and (s.base_url, s.model) == (url, model)
        entries.append(
            PaletteEntry(
                f"Model: {_where(url, model)}" + (" (active)" if active else ""),
                "the endpoint from your configuration",
                partial(apply, app, {"base_url": url, "model": model}, restart=True),
            )
        )
    entries.append(
        PaletteEntry(
            "Model: connect to another endpoint…",
            f"any OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenAI); now: {now}",
            partial(choose_provider, app),
        )
    )
    return entries


def _is_embedded(base_url: str | None, *, has_key: bool) -> bool:
    """Whether these settings select the embedded model (an API key alone means OpenAI)."""
    if base_url is not None and base_url.strip().lower() == EMBEDDED:
        return True
    return not (base_url or "").strip() and not has_key


def _where(base_url: str | None, model: str | None) -> str:
    return f"{model or 'default model'} at {base_url or 'OpenAI'}"


def settings_entries(app: TutorApp) -> list[PaletteEntry]:
    """Best-of-N and the answer language, each saying its current value."""
    s = app.settings
    entries: list[PaletteEntry] = []
    for n in (1, 2, 4, 8):
        now = " (current)" if s.best_of == n else ""
        entries.append(
            PaletteEntry(
                f"Settings: best-of-N = {n}{now}",
                "candidate answers generated and scored per question",
                partial(apply, app, {"best_of": n}, restart=False),
            )
        )
    for code, name in (("auto", "follow the question"), ("en", "English"), ("ru", "Russian")):
        now = " (current)" if s.language == code else ""
        entries.append(
            PaletteEntry(
                f"Settings: answer language = {code}{now}",
                name,
                partial(apply, app, {"language": code}, restart=True),
            )
        )
    return entries


def choose_provider(app: TutorApp) -> None:
    """Ask for an endpoint and model, then restart the service with them."""

    def chosen(result: tuple[str, str] | None) -> None:
        if result is not None:
            base_url, model = result
            apply(app, {"base_url": base_url or EMBEDDED, "model": model or None}, restart=True)

    base_url = app.settings.base_url if app.settings.base_url != EMBEDDED else ""
    app.push_screen(ProviderScreen(base_url or "", app.settings.model or ""), chosen)


def apply(app: TutorApp, changes: dict[str, Any], *, restart: bool) -> None:
    """Change settings for this run (restarting the service when the change needs it)."""
    new = app.settings.model_copy(update=changes)
    if restart:
        if app.generating:
            app.notify("Stop the current answer first (esc).", severity="warning")
            return
        app.restart_service(new)
    else:
        app.settings = new
    shown = ", ".join(
        f"{k.replace('_', '-')} = {v if v is not None else 'default'}" for k, v in changes.items()
    )
    app.notify(f"{shown} (for this run)", title="Settings")
