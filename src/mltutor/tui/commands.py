"""Settings in the command palette (ctrl+p): provider and model, best-of-N, answer language.

A palette instead of a settings screen because these change rarely and are found by typing
("best", "lang", "model"); each entry says its current value. The app supplies the entries (it owns
the settings and knows what needs a service restart); this provider only lists and matches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

SettingsEntry = tuple[str, str, Callable[[], object]]
"""(title, help, callback) of one palette entry."""


@runtime_checkable
class HasSettingsCommands(Protocol):
    """An app that offers settings entries."""

    def settings_commands(self) -> list[SettingsEntry]:
        """The entries, built from the current settings."""
        ...


class SettingsCommands(Provider):
    """Palette provider for the app's settings entries."""

    def _entries(self) -> list[SettingsEntry]:
        app = self.app
        return app.settings_commands() if isinstance(app, HasSettingsCommands) else []

    async def discover(self) -> Hits:
        """All entries, shown when the palette opens with an empty query."""
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Entries whose title fuzzy-matches ``query``."""
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
