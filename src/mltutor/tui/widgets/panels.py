"""Panels in an answer: retrieved sources, tool calls, verification.

They are collapsed by default so the answer stays the focus, but their titles already say the gist
(how many sources, which tools ran and whether they failed, whether the claims held), so a user sees
that the tutor computed rather than guessed without opening anything. All model and tool text goes
through ``rich.text.Text``, never markup, so brackets in formulas cannot break the display.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from mltutor.tui.mathtext import render_plain
from mltutor.tui.widgets.toolresult import tool_details

if TYPE_CHECKING:
    from textual.events import Click

    from mltutor.agent.events import (
        CandidateScoredEvent,
        Citation,
        RetrievalEvent,
        ToolResultEvent,
        ToolStartedEvent,
        VerificationEvent,
    )
    from mltutor.agent.service import ToolCallRecord, VerificationRecord


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str, limit: int) -> str:
    """A note passage as one readable line: math as Unicode, no ``plain:`` or heading marks."""
    lines = [
        line.lstrip("#> ").strip()
        for line in text.splitlines()
        if not line.lstrip().lower().startswith("plain:")
    ]
    flat = " ".join(" ".join(line for line in lines if line).split()).replace("**", "")
    return _short(render_plain(flat), limit)


class Panel(Static, can_focus=True):
    """A disclosure line: ``▶ title`` collapsed, ``▼ title`` and the details when opened.

    One widget rather than Textual's ``Collapsible`` (four widgets each), because every widget in
    the conversation adds to the cost of each layout pass while an answer streams. Hidden until its
    first event arrives.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle_panel", "Open/close"),
    ]

    collapsed: reactive[bool] = reactive(True)
    """Whether only the title line is shown."""

    def __init__(self, title: str, *, classes: str) -> None:
        super().__init__("", classes=f"panel {classes}")
        self._title = title
        self._details = Text()
        self.display = False

    @property
    def title(self) -> str:
        """The summary line."""
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = value
        self._show()

    @property
    def details(self) -> Text:
        """What opening the panel shows."""
        return self._details

    def _render_body(self, text: Text) -> None:
        self._details = text
        self.display = True
        self._show()

    def watch_collapsed(self) -> None:
        self._show()

    def _show(self) -> None:
        mark = "▶" if self.collapsed else "▼"
        title = Text.assemble((f"{mark} ", "bold"), self._title)
        if self.collapsed:
            self.update(title)
        else:
            self.update(Group(title, Padding(self._details, (0, 0, 0, 2))))

    class Toggled(Message):
        """A panel was opened or closed with the mouse (the screen gives the focus back)."""

    def action_toggle_panel(self) -> None:
        """Open or close."""
        self.collapsed = not self.collapsed

    def on_click(self, event: Click) -> None:
        event.stop()
        self.action_toggle_panel()
        self.post_message(self.Toggled())


class SourcesPanel(Panel):
    """The note sections retrieved for the question, best first."""

    def __init__(self) -> None:
        super().__init__("Sources", classes="sources-panel")

    def show_hits(self, event: RetrievalEvent) -> None:
        """Replace the list with the hits of a retrieval event."""
        self.show_sources(event.hits)

    def show_sources(self, hits: list[Citation]) -> None:
        """Show ``hits`` (also used for a stored answer)."""
        self.title = f"Sources · {len(hits)} retrieved"
        self._render_body(citation_lines(hits, excerpt_chars=160))


def citation_lines(hits: list[Citation], *, excerpt_chars: int = 90) -> Text:
    """``[1] topic § section`` lines, each with an excerpt of the cited text (no scores: a
    retrieval score means nothing to a reader, the passage does)."""
    text = Text()
    for i, hit in enumerate(hits, 1):
        if i > 1:
            text.append("\n")
        text.append(f"[{i}] ", style="bold")
        text.append(hit.label)
        if hit.text and excerpt_chars:
            text.append("\n    “" + excerpt(hit.text, excerpt_chars) + "”", style="dim italic")
    return text


class ToolsPanel(Panel):
    """Each math tool call: its inputs, then its whole result (or error), drawn readably."""

    def __init__(self) -> None:
        super().__init__("Tools", classes="tools-panel")
        self._calls: dict[str, dict[str, Any]] = {}

    def started(self, event: ToolStartedEvent) -> None:
        """A tool began: list it as running."""
        self._calls[event.call_id] = {"name": event.name, "args": event.args, "state": "running"}
        self._refresh_calls()

    def finished(self, event: ToolResultEvent) -> None:
        """A tool finished: keep its result (or error)."""
        call = self._calls.setdefault(event.call_id, {"name": event.name, "args": {}})
        call.update(state="ok" if event.ok else "error", result=event.result, summary=event.summary)
        self._refresh_calls()

    def show_records(self, records: list[ToolCallRecord]) -> None:
        """Show the tool calls of a stored answer."""
        for i, record in enumerate(records):
            self._calls[f"stored-{i}"] = {
                "name": record.name,
                "args": record.args,
                "state": "ok" if record.ok else "error",
                "result": record.result,
                "summary": record.summary,
            }
        if records:
            self._refresh_calls()

    def interrupt(self) -> None:
        """Mark calls that never reported back as stopped."""
        stopped = [c for c in self._calls.values() if c["state"] == "running"]
        for call in stopped:
            call["state"] = "stopped"
        if stopped:
            self._refresh_calls()

    @property
    def running(self) -> bool:
        """Whether a tool has started and not finished."""
        return any(call["state"] == "running" for call in self._calls.values())

    def _refresh_calls(self) -> None:
        marks = {
            "running": ("…", "yellow"),
            "ok": ("✓", "green"),
            "error": ("✗", "red"),
            "stopped": ("■", "dim"),
        }
        text = Text()
        names: list[str] = []
        for i, call in enumerate(self._calls.values()):
            mark, colour = marks[call["state"]]
            names.append(f"{call['name']} {mark}")
            if i:
                text.append("\n\n")
            text.append(f"{mark} ", style=colour)
            text.append(call["name"], style="bold")
            summary = str(call.get("summary") or "")
            if summary and summary != call["name"] and call["state"] == "ok":
                text.append(" — " + summary.removeprefix(call["name"] + ": "))
            text.append("\n")
            result = call.get("result")
            if call["state"] == "stopped":
                result = {"stopped": "the answer was stopped before this tool finished"}
            details = tool_details(call["args"], result, ok=call["state"] != "error")
            text.append_text(_indent(details, "  "))
        title = "Tools · " + ", ".join(names)
        if len(self._calls) == 1:
            call = next(iter(self._calls.values()))
            found = gist(call.get("result")) if call["state"] == "ok" else None
            title += f" · {found}" if found else ""
        self.title = title
        self._render_body(text)


def gist(result: dict[str, Any] | None) -> str | None:
    """A few words of a result for a panel title (a Hessian's classified points), or None."""
    points = (result or {}).get("points")
    if not isinstance(points, list) or not points:
        return None
    parts = []
    for p in points[:3]:
        if isinstance(p, dict) and "classification" in p and isinstance(p.get("point"), dict):
            where = ", ".join(str(v) for v in p["point"].values())
            parts.append(f"{p['classification']} at ({where})")
    return _short("; ".join(parts), 60) if parts else None


def _indent(text: Text, prefix: str) -> Text:
    """``text`` with every line indented by ``prefix``."""
    return Text("\n").join(Text(prefix) + line for line in text.split("\n", allow_blank=True))


class VerificationPanel(Panel):
    """Whether the mathematical claims of the draft held, and best-of-N candidate scores."""

    def __init__(self) -> None:
        super().__init__("Verification", classes="verification-panel")
        self._verification: VerificationEvent | VerificationRecord | None = None
        self._scores: dict[int, float] = {}

    def verified(self, event: VerificationEvent | VerificationRecord) -> None:
        """Record the latest verification outcome (a revision replaces the first draft's)."""
        self._verification = event
        self._refresh_view()

    def scored(self, event: CandidateScoredEvent) -> None:
        """Record a candidate's verifier score."""
        self._scores[event.candidate] = event.score
        self._refresh_view()

    def _refresh_view(self) -> None:
        text = Text()
        title = "Verification"
        v = self._verification
        if v is not None:
            if v.claims_checked == 0:
                title += " · no checkable claims"
            elif v.claims_failed == 0:
                title += (
                    " · 1 claim checked, it holds"
                    if v.claims_checked == 1
                    else f" · {v.claims_checked} claims checked, all hold"
                )
            else:
                title += f" · {v.claims_failed} of {v.claims_checked} claims failed"
            if v.revision:
                title += f" (revision {v.revision})"
            for failure in v.failures:
                text.append("✗ ", style="red")
                text.append(failure + "\n")
            if v.claims_checked and not v.failures:
                text.append("✓ every checked claim holds\n", style="green")
        if self._scores:
            best = max(self._scores, key=lambda k: self._scores[k])
            title += f" · best of {len(self._scores)}"
            for k in sorted(self._scores):
                mark = "★" if k == best else " "
                text.append(f"{mark} candidate {k + 1}: score {self._scores[k]:.2f}\n")
        self.title = title
        text.rstrip()
        self._render_body(text if text.plain else Text("nothing to verify", style="dim"))
