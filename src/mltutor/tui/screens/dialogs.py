"""Small modal dialogs: confirm, ask for one line of text, choose provider and model.

Each returns its answer through ``dismiss`` (None for cancel) so callers use ``push_screen`` with a
callback and never block the event loop waiting for the user.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y/enter confirm, n/esc cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        self._question, self._yes, self._no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._question), classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._yes} (y)", variant="error", id="yes")
                yield Button(f"{self._no} (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        """Close with ``value``."""
        self.dismiss(value)


class PromptScreen(ModalScreen[str | None]):
    """One line of text (a session title, an export path); enter accepts, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._question, self._value, self._placeholder = question, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._question), classes="dialog-question")
            yield Input(self._value, placeholder=self._placeholder, id="dialog-input")
            yield Label(Text("enter accept · esc cancel", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class ProviderScreen(ModalScreen[tuple[str, str] | None]):
    """Endpoint and model; an empty endpoint means the embedded model."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, base_url: str, model: str) -> None:
        super().__init__(classes="dialog-screen")
        self._base_url, self._model = base_url, model

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Provider and model", style="bold"), classes="dialog-question")
            yield Label("OpenAI-compatible endpoint (empty: the embedded model)")
            yield Input(self._base_url, placeholder="http://localhost:11434/v1", id="base-url")
            yield Label("Model name (empty: the provider's default)")
            yield Input(self._model, placeholder="qwen2.5:7b", id="model")
            yield Label(Text("enter on the last field applies · esc cancels", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "base-url":
            self.query_one("#model", Input).focus()
            return
        base_url = self.query_one("#base-url", Input).value.strip()
        self.dismiss((base_url, self.query_one("#model", Input).value.strip()))

    def action_cancel(self) -> None:
        """Close without changes."""
        self.dismiss(None)
