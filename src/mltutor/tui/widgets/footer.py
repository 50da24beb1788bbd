"""The key bar: the keys that matter now, most important first, always fitting one line.

Textual's ``Footer`` lays keys out in binding order and cuts the line at the right edge, so at 80
columns "^q Quit" became "^q Qu" and "esc Stop" (an app binding, listed last) was not shown at all.
Here the keys are ranked: stop while an answer is written, then the keys of the focused widget
(the session list's rename and delete), the screen's own actions, the mode switch; lower-ranked
keys are dropped until the rest fits, and Help and Quit are pinned at the right. One widget, one
line of text (clicks on a key press it), so it is also cheaper than a widget per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.events import Click
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.screen import Screen

RANK: dict[str, int] = {
    "stop": 0,
    "check": 10,
    "explain": 11,
    "retry": 12,
    "switch_mode": 20,
    "interview": 21,
    "sessions": 30,
    "new_session": 31,
    "clear": 31,
    "export": 32,
    "command_palette": 50,
}
"""Importance by action name (lower shows first and is dropped last); a focused widget's own keys
(not listed here) rank 5, just after stop."""

PINNED = ("help", "quit")
"""Shown at the right whatever the width."""

GAP = "  "


def _action_name(binding: Binding) -> str:
    """``app.switch_mode('check')`` → ``switch_mode``."""
    action = binding.action.rpartition(".")[2]
    return action.partition("(")[0]


class KeyBar(Widget):
    """One line of ``key Label`` pairs for the active screen; click a key to press it."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__(classes="key-bar")
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def keys(self) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """(ranked keys, pinned keys) as (key, shown key, label), before fitting the width."""
        ranked: list[tuple[int, int, tuple[str, str, str]]] = []
        pinned: dict[str, tuple[str, str, str]] = {}
        seen: set[str] = set()
        app = self.app
        bindings = list(self.screen.active_bindings.values())
        for order, (_node, binding, enabled, _tooltip) in enumerate(bindings):
            name = _action_name(binding)
            is_palette = binding.key == app.COMMAND_PALETTE_BINDING
            if not enabled or not (binding.show or is_palette) or binding.action in seen:
                continue
            seen.add(binding.action)
            entry = (binding.key, app.get_key_display(binding), binding.description or name)
            if is_palette:
                entry = (binding.key, app.get_key_display(binding), "Palette")
            if name in PINNED:
                pinned[name] = entry
            else:
                ranked.append((RANK.get(name, 5), order, entry))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [e for _, _, e in ranked], [pinned[n] for n in PINNED if n in pinned]

    def render(self) -> Text:
        left, right = self.keys()
        width = self.size.width - 2

        def size(entries: list[tuple[str, str, str]]) -> int:
            return sum(cell_len(f"{k} {label}") for _, k, label in entries) + len(GAP) * max(
                0, len(entries) - 1
            )

        while left and size(left) + len(GAP) + size(right) > width:
            left.pop()
        while right and size(right) > width:
            right.pop(0)
        text = Text(" ")
        self._spans = []
        for i, (key, shown, label) in enumerate(left):
            if i:
                text.append(GAP)
            self._append(text, key, shown, label)
        pad = width - size(left) - size(right)
        text.append(" " * max(len(GAP) if left else 0, pad))
        for i, (key, shown, label) in enumerate(right):
            if i:
                text.append(GAP)
            self._append(text, key, shown, label)
        return text

    def _append(self, text: Text, key: str, shown: str, label: str) -> None:
        start = text.cell_len
        text.append(shown, style="bold " + self._key_colour())
        text.append(" " + label)
        self._spans.append((start, text.cell_len, key))

    def _key_colour(self) -> str:
        variables = self.app.theme_variables
        return variables.get("footer-key-foreground", variables.get("accent", "yellow"))

    def on_click(self, event: Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
