"""The result of checking a derivation: one row per step, the first wrong step called out.

The mark and status word are both shown (✓ ok, ✗ wrong, ? unverifiable, ! unparsed) so the result
reads without colour; the first wrong step gets a highlighted row with the checker's diagnosis and
the expected value, because that is the line the user has to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

if TYPE_CHECKING:
    from mltutor.tools.checker import CheckReport, StepReport

MARKS: dict[str, tuple[str, str]] = {
    "ok": ("✓", "green"),
    "wrong": ("✗", "red"),
    "unverifiable": ("?", "yellow"),
    "unparsed": ("!", "magenta"),
}
"""Mark and colour per step status."""

_VERDICTS = {
    "correct": ("Every step holds.", "bold green"),
    "incorrect": ("First wrong step: line {line}.", "bold red"),
    "unverifiable": ("No step is wrong, but some could not be verified.", "bold yellow"),
}


def step_text(step: StepReport, *, first_wrong: bool) -> tuple[Table, str]:
    """One step as shown (and as plain text): mark, status, line number, the line, the details.

    A grid, so wrapped details stay indented under the line they explain.
    """
    mark, colour = MARKS[step.status]
    body = Text()
    body.append(step.text.strip(), style="bold" if first_wrong else "")
    details: list[tuple[str, str]] = []
    if step.status != "ok":
        detail = step.message
        if step.status == "unparsed" and step.column is not None:
            detail = f"column {step.column}: {detail}"
        details.append(("", detail))
        if step.diagnosis:
            details.append(("likely mistake: ", step.diagnosis))
        if step.expected and step.status == "wrong":
            details.append(("expected: ", step.expected))
    for label, value in details:
        body.append("\n")
        body.append(label, style="bold")
        body.append(value, style="" if first_wrong or label else "dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=14, no_wrap=True)
    grid.add_column(width=3, justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(
        Text(f"{mark} {step.status}", style=f"bold {colour}"),
        Text(str(step.line), style="dim"),
        body,
    )
    plain = f"{mark} {step.status:<12} {step.line:>3}  {body.plain}"
    return grid, plain


class StepRow(Static):
    """One step; ``plain`` is its text without styling (for tests and screen readers)."""

    def __init__(self, step: StepReport, *, first_wrong: bool, classes: str) -> None:
        grid, self.plain = step_text(step, first_wrong=first_wrong)
        super().__init__(grid, classes=classes)


class StepList(Vertical):
    """Rows for a :class:`~mltutor.tools.checker.CheckReport` and a verdict line."""

    DEFAULT_CLASSES = "step-list"

    def show_report(self, report: CheckReport) -> None:
        """Replace the rows with ``report``."""
        self.remove_children()
        rows: list[Static] = []
        verdict, style = _VERDICTS[report.verdict]
        rows.append(
            Static(
                Text(verdict.format(line=report.first_wrong_step), style=style),
                classes=f"verdict verdict-{report.verdict}",
            )
        )
        for step in report.steps:
            first = step.line == report.first_wrong_step
            classes = f"step step-{step.status}" + (" first-wrong" if first else "")
            rows.append(StepRow(step, first_wrong=first, classes=classes))
        if not report.steps:
            rows.append(Static(Text("Nothing to check: type one step per line.", style="dim")))
        self.mount_all(rows)

    def show_message(self, message: str, *, error: bool = False) -> None:
        """Replace the rows with one line (checking…, or why checking failed)."""
        self.remove_children()
        style = "bold red" if error else "italic"
        self.mount(Static(Text(message, style=style), classes="step-message"))
