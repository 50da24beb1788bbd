"""The sessions sidebar: stored conversations to resume, rename, delete or start anew.

The sidebar only shows and asks; the chat screen performs the actions through the service (in a
worker thread), so the list is a plain view that can be refreshed whenever sessions change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from mltutor.agent.service import SessionInfo


class SessionList(OptionList):
    """The list itself; its keys act on the highlighted session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", show=True),
        Binding("r", "rename", "Rename"),
        Binding("d,delete", "delete", "Delete"),
        Binding("n", "new", "New"),
    ]

    class Action(Message):
        """The user asked for ``action`` on session ``session_id`` (None for ``new``)."""

        def __init__(self, action: str, session_id: str | None) -> None:
            super().__init__()
            self.action = action
            self.session_id = session_id

    def _highlighted_id(self) -> str | None:
        if self.highlighted is None or self.option_count == 0:
            return None
        return self.get_option_at_index(self.highlighted).id

    def action_select(self) -> None:
        """Open the highlighted session."""
        if (sid := self._highlighted_id()) is not None:
            self.post_message(self.Action("open", sid))

    def action_rename(self) -> None:
        """Rename the highlighted session."""
        if (sid := self._highlighted_id()) is not None:
            self.post_message(self.Action("rename", sid))

    def action_delete(self) -> None:
        """Delete the highlighted session (the screen asks first)."""
        if (sid := self._highlighted_id()) is not None:
            self.post_message(self.Action("delete", sid))

    def action_new(self) -> None:
        """Start a new session."""
        self.post_message(self.Action("new", None))


class SessionSidebar(Vertical):
    """Title and the session list (its keys are in the footer while it has focus)."""

    DEFAULT_CLASSES = "sessions-sidebar"

    def compose(self) -> ComposeResult:
        yield Label(Text("Sessions", style="bold"), classes="sidebar-title")
        yield SessionList(classes="session-list")

    def show_sessions(self, sessions: list[SessionInfo], current: str | None) -> None:
        """Replace the list; the current session is marked and highlighted."""
        listing = self.query_one(SessionList)
        listing.clear_options()
        if not sessions:
            listing.add_option(Option(Text("no sessions yet", style="dim italic"), disabled=True))
            return
        for info in sessions:
            prompt = Text(no_wrap=True, overflow="ellipsis")  # one line per title, cut with …
            prompt.append("● " if info.id == current else "  ", style="green")
            prompt.append(info.title, style="bold" if info.id == current else "")
            turns = "question" if info.turns == 1 else "questions"
            prompt.append(f"\n  {info.turns} {turns} · {info.updated_at:%d %b %H:%M}", "dim")
            listing.add_option(Option(prompt, id=info.id))
        ids = [info.id for info in sessions]
        listing.highlighted = ids.index(current) if current in ids else 0

    def focus_list(self) -> None:
        """Move the keyboard focus to the list."""
        self.query_one(SessionList).focus()
