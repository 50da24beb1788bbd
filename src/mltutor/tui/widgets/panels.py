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
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from mltutor.agent.events import (
        CandidateScoredEvent,
        Citation,
        RetrievalEvent,
        ToolResultEvent,
        ToolStartedEvent,
        VerificationEvent,
    )


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Panel(Static, can_focus=True):
    """A disclosure line: ``▶ title`` collapsed, ``▼ title`` and the details when opened.

    One widget rather than Textual's ``Collapsible`` (four widgets each), because every widget in
    the conversation adds to the cost of each layout pass while an answer streams. Hidden until its
    first event arrives.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle_panel", "Open/close", show=False),
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

    def action_toggle_panel(self) -> None:
        """Open or close."""
        self.collapsed = not self.collapsed

    def on_click(self) -> None:
        self.action_toggle_panel()


class SourcesPanel(_Panel):
    """The note sections retrieved for the question, best first."""

    def __init__(self) -> None:
        super().__init__("Sources", classes="sources-panel")

    def show_hits(self, event: RetrievalEvent) -> None:
        """Replace the list with the hits of a retrieval event."""
        self.title = f"Sources · {len(event.hits)} retrieved"
        self._render_body(citation_lines(event.hits, with_text=True))


def citation_lines(hits: list[Citation], *, with_text: bool = False) -> Text:
    """``[1] label`` lines (with a snippet of the cited text when asked)."""
    text = Text()
    for i, hit in enumerate(hits, 1):
        if i > 1:
            text.append("\n")
        text.append(f"[{i}] ", style="bold")
        text.append(hit.label)
        if hit.score:
            text.append(f"  {hit.score:.2f}", style="dim")
        if with_text and hit.text:
            snippet = " ".join(hit.text.split())
            text.append("\n    " + _short(snippet, 160), style="dim italic")
    return text


class ToolsPanel(_Panel):
    """Each math tool call: arguments while it runs, then its one-line result or error."""

    def __init__(self) -> None:
        super().__init__("Tools", classes="tools-panel")
        self._calls: dict[str, dict[str, Any]] = {}

    def started(self, event: ToolStartedEvent) -> None:
        """A tool began: list it as running."""
        self._calls[event.call_id] = {"name": event.name, "args": event.args, "state": "running"}
        self._refresh_calls()

    def finished(self, event: ToolResultEvent) -> None:
        """A tool finished: show its summary (or its error)."""
        call = self._calls.setdefault(event.call_id, {"name": event.name, "args": {}})
        call["state"] = "ok" if event.ok else "error"
        call["summary"] = event.summary or (
            _short(event.result.get("error", event.result))
            if not event.ok
            else _short(event.result)
        )
        self._refresh_calls()

    def _refresh_calls(self) -> None:
        marks = {"running": ("…", "yellow"), "ok": ("✓", "green"), "error": ("✗", "red")}
        text = Text()
        names: list[str] = []
        for i, call in enumerate(self._calls.values()):
            mark, colour = marks[call["state"]]
            names.append(f"{call['name']} {mark}")
            if i:
                text.append("\n")
            text.append(f"{mark} ", style=colour)
            text.append(call["name"], style="bold")
            text.append("(" + _short(call["args"], 70) + ")", style="dim")
            if "summary" in call:
                text.append(
                    "\n    " + call["summary"], style="" if call["state"] == "ok" else "red"
                )
        self.title = "Tools · " + ", ".join(names)
        self._render_body(text)


class VerificationPanel(_Panel):
    """Whether the mathematical claims of the draft held, and best-of-N candidate scores."""

    def __init__(self) -> None:
        super().__init__("Verification", classes="verification-panel")
        self._verification: VerificationEvent | None = None
        self._scores: dict[int, float] = {}

    def verified(self, event: VerificationEvent) -> None:
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
                title += f" · {v.claims_checked} claims checked, all hold"
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
