"""The chat screen: questions in, streamed answers out, with the sessions sidebar.

Answers stream through a :class:`RunHandle` (a daemon thread), so typing, scrolling and stopping
stay instant however slow the model is. Typing always reaches the question box: after a panel is
opened with the mouse or an answer is stopped the focus returns to it, and a printable key pressed
while a panel has the focus is typed into it. F5 asks a failed or stopped question again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, TextArea

from mltutor.tui.runs import CallDone, RunHandle, post_safely
from mltutor.tui.screens.chat_sessions import WELCOME, SessionScreen, _title
from mltutor.tui.state import ServiceView
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.markdown_body import MarkdownBody
from mltutor.tui.widgets.message import AnswerMessage, UserMessage
from mltutor.tui.widgets.panels import Panel
from mltutor.tui.widgets.sessions import SessionSidebar
from mltutor.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from mltutor.agent.events import Event

SIDEBAR_MIN_WIDTH = 110
"""Terminal width from which the sessions sidebar is open at start."""


class ChatScreen(SessionScreen):
    """Conversation log, prompt, and the sessions sidebar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "retry", "Retry", key_display="F5"),
        Binding("ctrl+t", "app.switch_mode('check')", "Check"),
        Binding("ctrl+b", "sessions", "Sessions"),
        Binding("ctrl+n", "new_session", "New"),
        Binding("ctrl+o", "export", "Export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._queued: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar("Chat")
        with Horizontal(id="chat-body"):
            yield SessionSidebar(id="sidebar")
            with Vertical(id="chat-main"):
                with VerticalScroll(id="log"):
                    yield MarkdownBody(WELCOME, classes="welcome")
                yield Input(
                    placeholder="Ask a question · enter sends · F1 help",
                    id="prompt",
                    select_on_focus=False,  # focus coming back must not select what was typed
                )
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#sidebar").display = self.app.size.width >= SIDEBAR_MIN_WIDTH
        self.focus_prompt()
        self.watch(self.app, "service_view", self._service_changed)

    def _service_changed(self, view: ServiceView) -> None:
        if view.phase in ("ready", "degraded"):
            self.refresh_sessions()
        if view.can_answer and self._queued is not None:
            question, self._queued = self._queued, None
            self.run_worker(self.ask(question), exclusive=False)
        self.refresh_bindings()

    def focus_prompt(self) -> None:
        """Give the keyboard to the question box."""
        self.query_one("#prompt", Input).focus()

    # -- keys and focus ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":  # shown only when there is something to retry
            view = self.tutor.service_view
            return self._retry_question is not None or view.phase in ("degraded", "unavailable")
        return True

    def on_key(self, event: events.Key) -> None:
        """Type into the question box whatever has the focus (a panel, the log, nothing)."""
        focused = self.focused
        if isinstance(focused, Input | TextArea) or not (event.is_printable and event.character):
            return
        if any(event.key in bindings.key_to_bindings for _, bindings in self._modal_binding_chain):
            return  # a key something bound (space opens a panel, r renames a session)
        prompt = self.query_one("#prompt", Input)
        prompt.focus()
        prompt.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()

    @on(Panel.Toggled)
    def _panel_clicked(self) -> None:
        self.focus_prompt()

    # -- asking ------------------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "prompt":
            return
        question = event.value.strip()
        if not question:
            return
        if self.answer is not None and self.answer.streaming:
            self.notify("An answer is still streaming: esc stops it.", severity="warning")
            return
        event.input.clear()
        view = self.tutor.service_view
        if view.phase == "starting":
            self._queued = question
            self.notify(f"{view.text}. Your question will be sent when the tutor is ready.")
            return
        await self.ask(question)

    async def ask(self, question: str) -> None:
        """Show ``question`` and stream the tutor's answer under it."""
        log = self.query_one("#log", VerticalScroll)
        await self._remove_welcome()
        answer = AnswerMessage()
        answer.question = question
        await log.mount_all([UserMessage(question), answer])
        await self._trim_history()
        log.scroll_end(animate=False)
        service = self.tutor.service
        view = self.tutor.service_view
        if service is None or not view.can_answer:
            answer.show_error(f"tutor unavailable: {view.reason or view.text}", retryable=True)
            self._set_retry(question)
            return
        self._set_retry(None)
        session_id = self.session_id
        best_of = self.tutor.settings.best_of

        def produce(cancel: threading.Event) -> Iterator[Event]:
            sid = session_id
            if sid is None:
                info = service.new_session(title=_title(question))
                sid = info.id
                post_safely(self.app, CallDone(self, self._session_created, None, info.id, None))
            yield from service.ask(question, session_id=sid, best_of=best_of, cancel=cancel)

        run = RunHandle(produce)
        self.answer = answer
        self.tutor.register_run(run)
        answer.attach(run)
        run.start()

    def _set_retry(self, question: str | None) -> None:
        self._retry_question = question
        self.refresh_bindings()

    def _session_created(self, session_id: str) -> None:
        self.session_id = session_id
        self.refresh_sessions()

    def on_answer_message_finished(self, event: AnswerMessage.Finished) -> None:
        run = event.answer.run
        if run is not None:
            self.tutor.unregister_run(run)
        stopped = event.outcome == "stopped"
        if stopped or (event.error is not None and event.error.retryable):
            self._set_retry(event.answer.question)
        if event.answer is self.answer:
            self.answer = None
        if stopped and not self.query_one(SessionSidebar).has_focus_within:
            self.focus_prompt()
        self.refresh_sessions()

    def stop(self) -> None:
        """Stop the streaming answer (its run is also stopped by the app's stop action)."""
        if self.answer is not None and self.answer.run is not None:
            self.answer.run.stop()

    async def action_retry(self) -> None:
        """Restart a failed service, or ask the last failed or stopped question again."""
        view = self.tutor.service_view
        if view.phase in ("unavailable", "degraded"):
            self.tutor.restart_service()
            if self._retry_question is not None:
                self._queued = self._retry_question
                self._set_retry(None)
            return
        if self._retry_question is not None and (self.answer is None or not self.answer.streaming):
            question = self._retry_question
            self._set_retry(None)
            await self.ask(question)
        else:
            self.notify("Nothing to retry.")
