"""The sessions half of the chat screen: sidebar actions, resuming with panels, export.

Every service call runs off the UI thread (:func:`call_in_thread`), so the screen stays responsive
however slow the disk or the session store is. A resumed answer is rebuilt from its transcript
entry with its Sources, Tools and Verification panels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from mltutor.tui.runs import call_in_thread
from mltutor.tui.screens.dialogs import ConfirmScreen, PromptScreen
from mltutor.tui.widgets.markdown_body import MarkdownBody
from mltutor.tui.widgets.message import AnswerMessage, UserMessage
from mltutor.tui.widgets.sessions import SessionList, SessionSidebar

if TYPE_CHECKING:
    from mltutor.agent.service import SessionInfo, TranscriptEntry, TutorService
    from mltutor.tui.app import TutorApp

WELCOME = """\
### Ask about the mathematics of ML interviews

Derivatives and gradients, probability, statistics and A/B tests, linear algebra, optimisation.
The tutor answers from the topic notes, cites them, and computes what can be computed.

*Try:* `What is the derivative of the sigmoid?` · `When do I use Holm instead of Bonferroni?`
· F1 explains the keys, ctrl+p *topics* browses the notes.
"""

MAX_EXCHANGES_SHOWN = 12
"""Question/answer pairs kept on screen. Every widget adds to each layout pass while an answer
streams (about 0.25 ms per widget measured), so older exchanges are dropped from the screen (they
stay in the session and in its export) to keep the UI under 50 ms per frame in long sessions."""


class SessionScreen(Screen[None]):
    """The chat screen's state and its session actions (the asking half is ChatScreen)."""

    def __init__(self) -> None:
        super().__init__()
        self.session_id: str | None = None
        """The session questions go to (None until the first question creates one)."""
        self.answer: AnswerMessage | None = None
        """The answer streaming now, if any."""
        self._sessions: list[SessionInfo] = []
        self._retry_question: str | None = None
        self._hidden = 0

    @property
    def tutor(self) -> TutorApp:
        """The app, typed."""
        return cast("TutorApp", self.app)

    # -- sessions ----------------------------------------------------------------------------------

    def refresh_sessions(self) -> None:
        """Reload the sidebar from the service (in a thread)."""
        service = self.tutor.service
        if service is not None:
            call_in_thread(self, service.sessions, self._show_sessions, self._session_error)

    def _show_sessions(self, sessions: list[SessionInfo]) -> None:
        self._sessions = sessions
        self.query_one(SessionSidebar).show_sessions(sessions, self.session_id)

    def _session_error(self, message: str) -> None:
        self.notify(message, title="Sessions", severity="error")

    def action_sessions(self) -> None:
        """Show the sidebar and focus it; from the sidebar, hide it and return to the prompt."""
        sidebar = self.query_one(SessionSidebar)
        if sidebar.display and sidebar.has_focus_within:
            sidebar.display = False
            self.query_one("#prompt", Input).focus()
        else:
            sidebar.display = True
            sidebar.focus_list()

    async def action_new_session(self) -> None:
        """Start an empty conversation (the session is created with the first question)."""
        if self.answer is not None and self.answer.streaming:
            self.notify("Stop the current answer first (esc).", severity="warning")
            return
        self.session_id = None
        self._hidden = 0
        self._retry_question = None
        log = self.query_one("#log", VerticalScroll)
        await log.remove_children()
        await log.mount(MarkdownBody(WELCOME, classes="welcome"))
        self.query_one("#prompt", Input).focus()
        self.refresh_sessions()
        self.refresh_bindings()

    async def on_session_list_action(self, event: SessionList.Action) -> None:
        service = self.tutor.service
        if event.action == "new":
            await self.action_new_session()
            return
        if service is None or event.session_id is None:
            return
        sid = event.session_id
        title = next((s.title for s in self._sessions if s.id == sid), sid)
        if event.action == "open":
            if self.answer is not None and self.answer.streaming:
                self.notify("Stop the current answer first (esc).", severity="warning")
                return
            call_in_thread(
                self,
                lambda: service.transcript(sid),
                lambda entries: self._open_session(sid, entries),
                self._session_error,
            )
        elif event.action == "rename":

            def renamed(new_title: str | None) -> None:
                if new_title:
                    call_in_thread(
                        self,
                        lambda: service.rename_session(sid, new_title),
                        lambda _: self.refresh_sessions(),
                        self._session_error,
                    )

            self.app.push_screen(PromptScreen("Rename session", title), renamed)
        elif event.action == "delete":

            def confirmed(yes: bool | None) -> None:
                if yes:
                    call_in_thread(
                        self,
                        lambda: service.delete_session(sid),
                        lambda _: self._deleted(sid),
                        self._session_error,
                    )

            self.app.push_screen(ConfirmScreen(f"Delete the session “{title}”?"), confirmed)

    async def _open_session(self, session_id: str, entries: list[TranscriptEntry]) -> None:
        self.session_id = session_id
        self._hidden = 0
        self._retry_question = None
        log = self.query_one("#log", VerticalScroll)
        await log.remove_children()
        questions = [i for i, e in enumerate(entries) if e.role == "user"]
        hidden = len(questions) - MAX_EXCHANGES_SHOWN
        shown = entries[questions[hidden] :] if hidden > 0 else entries
        widgets: list[Widget] = [
            UserMessage(e.content) if e.role == "user" else AnswerMessage(entry=e) for e in shown
        ]
        if hidden > 0:
            self._hidden = hidden
            widgets.insert(0, Static(_hidden_note(hidden), classes="earlier-note"))
        await log.mount_all(widgets or [MarkdownBody(WELCOME, classes="welcome")])
        log.scroll_end(animate=False)
        self.refresh_sessions()
        self.query_one("#prompt", Input).focus()

    async def _deleted(self, session_id: str) -> None:
        if session_id == self.session_id:
            await self.action_new_session()
        self.refresh_sessions()

    async def _trim_history(self) -> None:
        """Drop the oldest exchanges beyond :data:`MAX_EXCHANGES_SHOWN` from the screen."""
        log = self.query_one("#log", VerticalScroll)
        users = list(log.query_children(UserMessage))
        excess = len(users) - MAX_EXCHANGES_SHOWN
        if excess <= 0:
            return
        keep_from = users[excess]
        doomed: list[Widget] = []
        for child in log.children:
            if child is keep_from:
                break
            if not child.has_class("earlier-note"):
                doomed.append(child)
        self._hidden += excess
        await log.remove_children(doomed)
        notes = list(log.query_children(".earlier-note"))
        if notes:
            cast(Static, notes[0]).update(_hidden_note(self._hidden))
        else:
            await log.mount(Static(_hidden_note(self._hidden), classes="earlier-note"), before=0)

    async def _remove_welcome(self) -> None:
        for welcome in self.query(".welcome"):
            await welcome.remove()

    # -- export ----------------------------------------------------------------------------------

    def action_export(self) -> None:
        """Export the current session to a Markdown file (asks for the path)."""
        service = self.tutor.service
        sid = self.session_id
        if service is None or sid is None:
            self.notify("Nothing to export yet: ask a question or open a session.")
            return
        title = next((s.title for s in self._sessions if s.id == sid), "session")
        default = f"mltutor-{_slug(title)}.md"

        def chosen(path: str | None) -> None:
            if path:
                call_in_thread(
                    self,
                    lambda: _export(service, sid, Path(path).expanduser()),
                    lambda written: self.notify(f"Exported to {written}", title="Export"),
                    lambda message: self.notify(message, title="Export failed", severity="error"),
                )

        self.app.push_screen(PromptScreen("Export the transcript to", default), chosen)


def _export(service: TutorService, session_id: str, path: Path) -> str:
    """Write the session's Markdown to ``path`` (runs in a worker thread)."""
    text = service.export_markdown(session_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return str(path)


def _title(question: str) -> str:
    """A session title from its first question: one line, at most 60 characters."""
    line = " ".join(question.split())
    return line if len(line) <= 60 else line[:59] + "…"


def _hidden_note(count: int) -> Text:
    noun = "exchange is" if count == 1 else "exchanges are"
    return Text(
        f"⋯ {count} earlier {noun} not shown here; ctrl+o exports the whole session",
        style="dim italic",
    )


def _slug(title: str) -> str:
    return re.sub(r"[^\w]+", "-", title.lower()).strip("-")[:40] or "session"
