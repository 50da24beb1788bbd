"""The progress screen (palette: "progress"): mastery per topic, due reviews, weak points, plots.

The report comes from the service (``progress()``) in a thread; the key points of a question open
in an interview are never in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mltutor.tui.runs import call_in_thread
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.progress_plot import ScorePlot, TopicStrips

if TYPE_CHECKING:
    from mltutor.agent.interview.records import DueItem, ProgressReport
    from mltutor.tui.app import TutorApp


def report_header(report: ProgressReport) -> Text:
    """One line: answers, interviews, due counts."""
    return Text(
        f"{report.attempts} graded answer(s) in {report.interviews} interview(s) · "
        f"due today {len(report.due_today)} · this week {len(report.due_week)}",
        style="bold",
    )


def _due_table(items: list[DueItem]) -> Table:
    table = Table(box=None, expand=True, padding=(0, 1), show_header=False)
    table.add_column("when", width=16, no_wrap=True)
    table.add_column("id", width=24, no_wrap=True)
    table.add_column("question", ratio=1, no_wrap=True, overflow="ellipsis")
    for d in items[:10]:
        table.add_row(f"{d.due:%Y-%m-%d %H:%M}", d.question_id, d.question)
    return table


def report_details(report: ProgressReport) -> RenderableType:
    """Due reviews and the weakest key points."""
    parts: list[RenderableType] = []
    if report.due_today:
        parts += [Text("Due today", style="bold"), _due_table(report.due_today)]
    later = [d for d in report.due_week if d not in report.due_today]
    if later:
        parts += [Text("Due this week", style="bold"), _due_table(later)]
    if report.weakest_points:
        parts.append(Text("Weakest key points", style="bold"))
        for w in report.weakest_points:
            mark = ("! ", "red") if w.verdict == "contradicted" else ("✗ ", "yellow")
            parts.append(Text.assemble(mark, w.point + " ", (f"({w.question_id})", "dim")))
    if not parts:
        parts.append(Text("Nothing due; start an interview with F2.", style="dim"))
    return Group(*parts)


class ProgressScreen(ModalScreen[None]):
    """The learner's progress over the whole screen; esc closes it."""

    DEFAULT_CSS = """
    #progress-body { height: 1fr; padding: 0 1; }
    #progress-header { margin: 1 0; }
    #progress-details { margin: 1 0 0 0; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self) -> None:
        super().__init__(classes="full-screen")
        self.report: ProgressReport | None = None
        """The report shown (None while loading)."""

    @property
    def tutor(self) -> TutorApp:
        """The app, typed."""
        return cast("TutorApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(" Progress ", classes="screen-title")
        with VerticalScroll(id="progress-body"):
            yield Static(Text("loading your progress…", style="dim"), id="progress-header")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#progress-body").focus()
        service = self.tutor.service
        if service is None:
            self._failed("the tutor has not started yet")
            return
        call_in_thread(self, service.progress, self._show, self._failed)

    async def _show(self, report: ProgressReport) -> None:
        self.report = report
        self.query_one("#progress-header", Static).update(report_header(report))
        body = self.query_one("#progress-body", VerticalScroll)
        plot = ScorePlot()
        russian = self.tutor.settings.language == "ru"
        await body.mount_all(
            [
                TopicStrips(report.topics, russian=russian),
                plot,
                Static(report_details(report), id="progress-details"),
            ]
        )
        plot.show(report.history)

    def _failed(self, message: str) -> None:
        self.query_one("#progress-header", Static).update(
            Text(f"progress unavailable: {message}", style="red")
        )

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss()
