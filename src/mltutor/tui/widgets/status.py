"""The one-line status bar: which model, whether it is ready, and start-up progress.

First start can take minutes (assembling the embedded model, building the index); the bar shows what
is happening with a progress bar so the screen never looks frozen.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from mltutor.tui.state import ServiceView

_ICONS: dict[str, tuple[str, str]] = {
    "starting": ("◌", "yellow"),
    "ready": ("●", "green"),
    "degraded": ("◐", "dark_orange"),
    "unavailable": ("○", "red"),
}


class StatusBar(Horizontal):
    """Mode name, service state and, while starting, a progress bar."""

    DEFAULT_CLASSES = "status-bar"

    def __init__(self, mode: str) -> None:
        super().__init__()
        self._mode = mode

    def compose(self) -> ComposeResult:
        yield Label(Text(f" {self._mode} ", style="bold reverse"), classes="status-mode")
        yield Label("", classes="status-text")
        yield ProgressBar(total=1.0, show_eta=False, classes="status-progress")

    def on_mount(self) -> None:
        self.watch(self.app, "service_view", self._show)

    def _show(self, view: ServiceView) -> None:
        icon, colour = _ICONS[view.phase]
        text = Text.assemble((f"{icon} ", colour), view.text)
        self.query_one(".status-text", Label).update(text)
        bar = self.query_one(".status-progress", ProgressBar)
        bar.display = view.phase == "starting"
        if view.progress is None:
            bar.update(total=None)
        else:
            bar.update(total=1.0, progress=view.progress)
