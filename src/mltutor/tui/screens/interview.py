"""Interview mode (F2): a mock interview with graded answers, follow-ups and a summary.

Every service call runs off the UI thread: starting (the grader loads), hints, skips and above all
grading, which runs as a stoppable run (esc stops it: the answer is not recorded and stays in the
box). The next question is already in the feedback that comes back, so it is drawn with the grade,
with no second call. Nothing drawn while a question is open comes from its rubric: the service
sends the key points and the reference only with the feedback that closes the question.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, Static, TextArea

from mltutor.tui.mathtext import render_markdown
from mltutor.tui.runs import RunHandle, call_in_thread
from mltutor.tui.screens.dialogs import PromptScreen
from mltutor.tui.state import ServiceView
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.interview_setup import InterviewSetup
from mltutor.tui.widgets.interview_view import (
    feedback_renderable,
    prompt_header,
    summary_renderable,
)
from mltutor.tui.widgets.markdown_body import MarkdownBody
from mltutor.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from mltutor.agent.interview.records import Feedback, InterviewSummary, Prompt
    from mltutor.agent.service import Interview, TopicInfo
    from mltutor.tui.app import TutorApp

Phase = Literal["setup", "starting", "asking", "grading", "done"]
COMMANDS = {"hint": "hint", "skip": "skip", "show answer": "reveal", "quit": "end"}
"""An answer that is only one of these words acts as that key."""


class GradingRun(RunHandle):
    """Grading as a run the app can stop (esc); stopping calls ``on_stop`` on the UI thread."""

    def __init__(self, on_stop: Callable[[], None]) -> None:
        super().__init__(lambda cancel: iter(()))
        self._on_stop = on_stop

    def stop(self) -> None:
        if not self.cancel.is_set():
            super().stop()
            self._on_stop()


class InterviewScreen(Screen[None]):
    """Set-up form, then the interview as a log (questions, answers, feedback), then the summary."""

    DEFAULT_CSS = """
    #iv-log { height: 1fr; padding: 0 1; }
    #iv-activity { height: 1; padding: 0 1; color: $text-muted; }
    #iv-answer { height: 7; margin: 0 1; }
    .iv-question { margin: 1 0 0 0; }
    .iv-question-text { margin: 0 0 0 2; }
    .iv-hint { margin: 0 0 0 2; color: $warning; }
    .iv-answer { margin: 1 0 0 8; padding: 0 1; border: round $secondary; height: auto; }
    .iv-feedback { margin: 1 0 0 0; padding: 0 1; border: round $primary; height: auto; }
    .iv-summary { margin: 1 0 0 0; padding: 0 1; border: double $accent; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit"),
        Binding("ctrl+g", "hint", "Hint"),
        Binding("ctrl+n", "skip", "Skip"),
        Binding("ctrl+n", "new", "New interview"),
        Binding("ctrl+r", "reveal", "Show answer"),
        Binding("ctrl+l", "end", "End"),
        Binding("ctrl+o", "export", "Export"),
        Binding("f2", "app.switch_mode('chat')", "Chat", key_display="F2"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.phase: Phase = "setup"
        """Where the interview is."""
        self.session: Interview | None = None
        """The interview (None before one is started)."""
        self.prompt: Prompt | None = None
        """What is asked now."""
        self.summary: InterviewSummary | None = None
        """The summary, once the interview is over."""
        self.run: GradingRun | None = None
        """The grading in progress, if any."""
        self._topics_loaded = False

    @property
    def tutor(self) -> TutorApp:
        """The app, typed."""
        return cast("TutorApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar("Interview")
        with VerticalScroll(id="iv-log"):
            yield InterviewSetup(language=self.tutor.settings.language)
        yield Static("", id="iv-activity")
        yield TextArea(id="iv-answer", soft_wrap=True, tab_behavior="focus")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#iv-answer", TextArea).display = False
        self.watch(self.app, "service_view", self._service_changed)

    def _service_changed(self, view: ServiceView) -> None:
        service = self.tutor.service
        if service is not None and not self._topics_loaded:
            self._topics_loaded = True
            call_in_thread(self, service.topics, self._topics_arrived, lambda message: None)

    def _topics_arrived(self, topics: list[TopicInfo]) -> None:
        if self.phase == "setup":
            self.query_one(InterviewSetup).set_topics(topics)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        asking = self.phase == "asking"
        prompt = self.prompt
        allowed = {
            "submit": self.phase in ("setup", "asking"),
            "hint": asking and prompt is not None and prompt.hints_left > 0,
            "skip": asking,
            "new": self.phase == "done",
            "reveal": asking,
            "end": self.phase in ("asking", "grading"),
            "export": self.session is not None and self.phase in ("asking", "done"),
        }
        return allowed.get(action, True)

    def _set_phase(self, phase: Phase, activity: str = "") -> None:
        self.phase = phase
        self.query_one("#iv-activity", Static).update(Text(activity, style="dim"))
        answer = self.query_one("#iv-answer", TextArea)
        answer.display = phase in ("asking", "grading")
        answer.read_only = phase != "asking"
        self.refresh_bindings()

    # -- starting --------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "setup-start":
            event.stop()
            self.action_submit()

    def _start(self) -> None:
        service = self.tutor.service
        if service is None:
            view = self.tutor.service_view
            self.notify(f"The tutor is not ready: {view.reason or view.text}", severity="warning")
            return
        choice = self.query_one(InterviewSetup).choice()
        self._set_phase("starting", "preparing the interview (the grader loads once)…")
        call_in_thread(
            self,
            lambda: service.start_interview(**choice),
            self._started,
            self._start_failed,
            name="mltutor-interview",
        )

    async def _started(self, session: Interview) -> None:
        self.session = session
        await self.query_one(InterviewSetup).remove()
        await self._show_prompt(session.current)

    def _start_failed(self, message: str) -> None:
        self._set_phase("setup")
        self.notify(message, title="Interview", severity="error", timeout=8)

    # -- asking ----------------------------------------------------------------------------------
    async def _show_prompt(self, prompt: Prompt | None) -> None:
        self.prompt = prompt
        log = self.query_one("#iv-log", VerticalScroll)
        if prompt is None:
            await self._finish()
            return
        block = [
            Static(prompt_header(prompt), classes="iv-question"),
            MarkdownBody(render_markdown(prompt.text), classes="iv-question-text"),
        ]
        await log.mount_all(block)
        log.scroll_end(animate=False)
        hints = f"{prompt.hints_left} hint(s) left · " if prompt.hints_left else ""
        self._set_phase("asking", f"{hints}ctrl+s submits · esc stops grading")
        answer = self.query_one("#iv-answer", TextArea)
        answer.clear()
        answer.focus()

    def action_submit(self) -> None:
        """Start the interview (set-up) or send the answer to be graded."""
        if self.phase == "setup":
            self._start()
            return
        if self.phase != "asking" or self.session is None:
            return
        text = self.query_one("#iv-answer", TextArea).text.strip()
        command = COMMANDS.get(" ".join(text.lower().split()))
        if command is not None:
            getattr(self, f"action_{command}")()
            return
        if not text:
            self.notify("Write an answer first (or ctrl+g hint, ctrl+n skip, ctrl+r show answer).")
            return
        session = self.session
        run = GradingRun(self._grading_stopped)
        self.run = run
        self.tutor.register_run(run)
        self._set_phase("grading", "grading… (esc stops; your answer is kept)")
        call_in_thread(
            self,
            lambda: session.answer(text, cancel=run.cancel),
            lambda fb: self._graded(run, text, fb),
            lambda message: self._grading_failed(run, message),
            name="mltutor-grade",
        )

    def _grading_stopped(self) -> None:
        self.run = None
        if not self.is_attached:  # the app is closing: nothing to redraw
            return
        with contextlib.suppress(NoMatches):
            self._set_phase("asking", "grading stopped; your answer was not recorded")
            self.query_one("#iv-answer", TextArea).focus()

    def _grading_failed(self, run: GradingRun, message: str) -> None:
        if run.stopped:
            return
        self.tutor.unregister_run(run)
        self.run = None
        self._set_phase("asking")
        self.notify(message, title="Not graded", severity="error", timeout=8)

    async def _graded(self, run: GradingRun, text: str, fb: Feedback) -> None:
        if run.stopped:
            return
        self.tutor.unregister_run(run)
        self.run = None
        await self._show_feedback(fb, answer=text)

    async def _show_feedback(self, fb: Feedback, *, answer: str = "") -> None:
        log = self.query_one("#iv-log", VerticalScroll)
        widgets: list[Static] = []
        if answer:
            widgets.append(Static(Text(answer), classes="iv-answer"))
        widgets.append(Static(feedback_renderable(fb), classes="iv-feedback"))
        await log.mount_all(widgets)
        await self._show_prompt(fb.next)

    def _call(self, fn: Callable[[], Any], done: Callable[[Any], Any]) -> None:
        if self.phase != "asking" or self.session is None:
            return
        call_in_thread(
            self,
            fn,
            done,
            lambda message: self.notify(message, title="Interview", severity="warning"),
        )

    def action_hint(self) -> None:
        """A nudge towards a key point (costs points)."""
        session = self.session
        if session is not None:
            self._call(lambda: (session.hint(), session.current), self._show_hint)

    async def _show_hint(self, result: tuple[str, Prompt | None]) -> None:
        hint, self.prompt = result
        log = self.query_one("#iv-log", VerticalScroll)
        await log.mount(Static(Text(hint), classes="iv-hint"))
        log.scroll_end(animate=False)
        self.refresh_bindings()

    async def action_new(self) -> None:
        """After the end: the set-up form for a new interview."""
        if self.phase == "done":
            await self._restart()

    def action_skip(self) -> None:
        """Skip what is asked (not graded)."""
        session = self.session
        if session is not None:
            self._call(session.skip, self._show_feedback)

    def action_reveal(self) -> None:
        """Show the reference answer (what is asked now scores 0)."""
        session = self.session
        if session is not None:
            self._call(session.show_answer, self._show_feedback)

    def action_end(self) -> None:
        """End the interview now; everything answered is saved."""
        session = self.session
        if session is None or self.phase not in ("asking", "grading"):
            return
        if self.run is not None:
            self.run.stop()
            self.tutor.unregister_run(self.run)
        call_in_thread(self, session.quit, self._show_summary)

    async def _finish(self) -> None:
        session = self.session
        if session is not None:
            call_in_thread(self, session.summary, self._show_summary)

    async def _show_summary(self, summary: InterviewSummary) -> None:
        self.summary = summary
        self.prompt = None
        log = self.query_one("#iv-log", VerticalScroll)
        await log.mount(Static(summary_renderable(summary), classes="iv-summary"))
        log.scroll_end(animate=False)
        self._set_phase("done", "ctrl+o exports · ctrl+n starts a new interview · F2 chat")

    async def _restart(self) -> None:
        log = self.query_one("#iv-log", VerticalScroll)
        await log.remove_children()
        self.session, self.summary, self.prompt = None, None, None
        await log.mount(InterviewSetup(language=self.tutor.settings.language))
        self._topics_loaded = False
        self._set_phase("setup")
        self._service_changed(self.tutor.service_view)

    # -- export ----------------------------------------------------------------------------------
    def action_export(self) -> None:
        """Write the interview (so far) as Markdown to a file."""
        session = self.session
        if session is None:
            return

        def chosen(path: str | None) -> None:
            if path:
                call_in_thread(
                    self,
                    lambda: _export(session, Path(path).expanduser()),
                    lambda written: self.notify(f"Exported to {written}", title="Export"),
                    lambda message: self.notify(message, title="Export failed", severity="error"),
                )

        default = f"mltutor-interview-{session.id}.md"
        self.app.push_screen(PromptScreen("Export the interview to", default), chosen)


def _export(session: Interview, path: Path) -> str:
    text = session.export_markdown()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return str(path)
