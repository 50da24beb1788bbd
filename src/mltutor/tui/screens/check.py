"""Check mode: paste a derivation, see every step marked, the first wrong one diagnosed.

Checking needs no model (the service runs the SymPy checker), so it works while the model is down;
only "explain" asks the tutor, and says so when no model is ready. The check runs in a worker
thread because a derivation can take seconds (each step is bounded by the tool time limit).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TextArea

from mltutor.tui.runs import RunHandle, call_in_thread
from mltutor.tui.state import ServiceView
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.message import AnswerMessage
from mltutor.tui.widgets.status import StatusBar
from mltutor.tui.widgets.step_list import StepList

if TYPE_CHECKING:
    from mltutor.agent.events import Event
    from mltutor.tools.checker import CheckReport
    from mltutor.tui.app import TutorApp

HELP = (
    "One step per line: A = B [= C …]; a line starting with = continues the previous one; "
    "NAME = expr defines NAME. Plain text, Unicode and LaTeX are all accepted."
)


class CheckScreen(Screen[None]):
    """Derivation editor on top, step results (and an explanation) below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "check", "Check"),
        Binding("ctrl+g", "explain", "Explain"),
        Binding("ctrl+t", "app.switch_mode('chat')", "Chat"),
        Binding("ctrl+n", "clear", "Clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: CheckReport | None = None
        """The latest check result (None before the first check or after editing)."""
        self.explanation: AnswerMessage | None = None
        """The explanation streaming or shown, if any."""
        self._checked_text = ""
        self._check_ids = itertools.count(1)
        self._pending_check = 0
        self._check_when_ready = False

    @property
    def tutor(self) -> TutorApp:
        """The app, typed."""
        return cast("TutorApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar("Check")
        with Vertical(id="check-main"):
            yield Static(Text(HELP, style="dim"), id="check-help")
            yield TextArea(
                id="derivation",
                show_line_numbers=True,
                soft_wrap=True,
                tab_behavior="focus",
                placeholder="L = (yhat - y)^2\ndL/dyhat = 2(yhat - y)",
            )
            with VerticalScroll(id="check-results"):
                yield StepList(id="steps")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(StepList).show_message("ctrl+r checks the derivation.")
        self.query_one("#derivation", TextArea).focus()
        self.watch(self.app, "service_view", self._service_changed, init=False)

    def _service_changed(self, view: ServiceView) -> None:
        if self._check_when_ready and (self.tutor.service is not None or view.phase != "starting"):
            self._check_when_ready = False
            self.action_check()

    @property
    def checking(self) -> bool:
        """Whether a check is running."""
        return self._pending_check != 0

    def action_check(self) -> None:
        """Check the derivation in the editor (in a worker thread)."""
        text = self.query_one("#derivation", TextArea).text
        steps = self.query_one(StepList)
        if not text.strip():
            self.notify("Type or paste a derivation first: one step per line.")
            return
        # the checker needs no model or index, so it works as soon as the service object exists,
        # even while the service is still starting or its model is down
        service = self.tutor.service
        view = self.tutor.service_view
        if service is None:
            if view.phase == "starting":
                self._check_when_ready = True
                steps.show_message(
                    "waiting for the tutor to load; the check runs as soon as it can…"
                )
            else:
                steps.show_message(f"checker unavailable: {view.reason or view.text}", error=True)
            return
        check_id = next(self._check_ids)
        self._pending_check = check_id
        self._checked_text = text
        steps.show_message("checking…")
        call_in_thread(
            self,
            lambda: service.check(text),
            lambda report: self._show_report(check_id, report),
            lambda message: self._check_failed(check_id, message),
            name="mltutor-check",
        )

    async def _show_report(self, check_id: int, report: CheckReport) -> None:
        if check_id != self._pending_check:
            return  # a newer check superseded this one
        self._pending_check = 0
        self.report = report
        await self._drop_explanation()
        self.query_one(StepList).show_report(report)

    def _check_failed(self, check_id: int, message: str) -> None:
        if check_id != self._pending_check:
            return
        self._pending_check = 0
        self.query_one(StepList).show_message(f"the check failed: {message}", error=True)

    async def action_explain(self) -> None:
        """Ask the tutor why the first wrong step is wrong (needs a model)."""
        report = self.report
        if report is None or report.first_wrong_step is None:
            self.notify("Check a derivation with a wrong step first (ctrl+r).")
            return
        if self.explanation is not None and self.explanation.streaming:
            self.notify("The explanation is still streaming: esc stops it.", severity="warning")
            return
        service = self.tutor.service
        view = self.tutor.service_view
        if service is None or view.phase != "ready":
            self.notify(
                f"Explaining needs a model: {view.reason or view.text}",
                title="No model",
                severity="warning",
            )
            return
        text = self._checked_text
        await self._drop_explanation()
        answer = AnswerMessage(title=f"Tutor · why line {report.first_wrong_step} is wrong")
        results = self.query_one("#check-results", VerticalScroll)
        await results.mount(answer)
        results.scroll_end(animate=False)

        def produce(cancel: threading.Event) -> Iterator[Event]:
            return service.explain_step(text, report, cancel=cancel)

        run = RunHandle(produce)
        self.explanation = answer
        self.tutor.register_run(run)
        answer.attach(run)
        run.start()

    def on_answer_message_finished(self, event: AnswerMessage.Finished) -> None:
        if event.answer.run is not None:
            self.tutor.unregister_run(event.answer.run)

    async def _drop_explanation(self) -> None:
        if self.explanation is not None:
            if self.explanation.run is not None:
                self.explanation.run.stop()
                self.tutor.unregister_run(self.explanation.run)
            await self.explanation.remove()
            self.explanation = None

    async def action_clear(self) -> None:
        """Start over with an empty editor."""
        self.query_one("#derivation", TextArea).clear()
        self.report = None
        self._pending_check = 0
        await self._drop_explanation()
        self.query_one(StepList).show_message("ctrl+r checks the derivation.")
        self.query_one("#derivation", TextArea).focus()
