"""Chat messages: the user's question and the tutor's streamed answer with its panels.

An answer is fed by a :class:`~mltutor.tui.runs.RunHandle`: a timer drains the run's queue every
50 ms, joins the tokens that arrived into one update of the body and applies the other events to
the panels. Re-rendering per token would stall the UI on fast models; per tick, the cost is bounded
(only the last paragraph and the last chunk of the body are rendered again). LaTeX is converted to
Unicode as the text streams (:mod:`mltutor.tui.mathtext`), holding back a formula until its closing
delimiter arrives. A line under the body says what the run is doing (``phase`` events: "reading
1,200 tokens of notes… 40%"), with the seconds elapsed, so a long prompt never looks like a hang.

A stored answer (a resumed session) is built from its transcript entry, panels included.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from mltutor.tui.mathtext import StreamRenderer, render_markdown
from mltutor.tui.runs import END, RunHandle
from mltutor.tui.widgets.markdown_body import MarkdownBody
from mltutor.tui.widgets.panels import SourcesPanel, ToolsPanel, VerificationPanel, excerpt

if TYPE_CHECKING:
    from mltutor.agent.events import Citation, ErrorEvent, FinalEvent, PhaseEvent
    from mltutor.agent.service import TranscriptEntry

Outcome = Literal["final", "error", "stopped"]
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

TAIL_S = 10.0
"""After a stop, how long tool and panel events still arriving are shown (not tokens)."""

_PHASE_WORDS = {
    "retrieving": "searching the notes",
    "reading": "reading",
    "tool": "running",
    "writing": "writing",
    "verifying": "checking the claims",
    "scoring": "scoring candidates",
    "grading": "grading",
}


class UserMessage(Static):
    """A question as the user typed it (plain text: never interpreted as markup)."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(text), classes="user-message")
        self.border_title = "You"


class AnswerMessage(Vertical):
    """The tutor's answer: sources, tools, the Markdown body, verification and citations."""

    FLUSH_INTERVAL: ClassVar[float] = 0.05
    """Seconds between two drains of the run queue (at most one repaint of the body per tick)."""

    class Finished(Message):
        """The run feeding this answer ended (answered, failed or stopped)."""

        def __init__(self, answer: AnswerMessage, outcome: Outcome, error: ErrorEvent | None):
            super().__init__()
            self.answer = answer
            self.outcome = outcome
            self.error = error

    def __init__(self, *, title: str = "Tutor", entry: TranscriptEntry | None = None) -> None:
        super().__init__(classes="answer-message")
        self.border_title = title
        self._entry = entry
        self._run: RunHandle | None = None
        self._timer: Timer | None = None
        self._raw = ""
        self._shown = ""
        self._renderer = StreamRenderer()
        self._candidate = 0
        self._activity = "thinking"
        self._progress: float | None = None
        self._wrote = False
        self._started = 0.0
        self._tail_until = 0.0
        self.outcome: Outcome | None = None
        """How the run ended (None while it streams or for a stored answer)."""
        self.question: str | None = None
        """The question this answers, when known (for retrying)."""

    def compose(self) -> ComposeResult:
        yield SourcesPanel()
        yield ToolsPanel()
        entry = self._entry
        content = entry.content if entry is not None else ""
        # an interrupted answer may end inside a formula: show it as it was shown while streaming
        partial = entry is not None and bool(entry.interrupted)
        body = render_markdown(content, partial=partial) if content else ""
        yield MarkdownBody(body, classes="answer-body")
        yield Static("", classes="answer-activity")
        yield VerificationPanel()
        yield Static("", classes="answer-citations")
        yield Static("", classes="answer-error")

    def on_mount(self) -> None:
        self.query_one(".answer-citations", Static).display = False
        self.query_one(".answer-error", Static).display = False
        self.query_one(".answer-activity", Static).display = False
        if self._entry is not None:
            self._restore(self._entry)

    def _restore(self, entry: TranscriptEntry) -> None:
        """Panels, citations and the interruption note of a stored answer."""
        if entry.sources:
            self.query_one(SourcesPanel).show_sources(entry.sources)
        self.query_one(ToolsPanel).show_records(entry.tool_calls)
        if entry.verification is not None:
            self.query_one(VerificationPanel).verified(entry.verification)
        by_label = {c.label: c for c in entry.sources}
        self._show_citations(
            [by_label.get(label) or label for label in entry.citations], entry.verified
        )
        if entry.interrupted:
            activity = self.query_one(".answer-activity", Static)
            activity.update(Text(f"■ {entry.interrupted}", style="dim italic"))
            activity.display = True

    @property
    def body_source(self) -> str:
        """The Markdown currently shown in the body (after math conversion)."""
        return self.query_one(MarkdownBody).source

    @property
    def run(self) -> RunHandle | None:
        """The run feeding this answer (None for a stored answer)."""
        return self._run

    @property
    def streaming(self) -> bool:
        """Whether a run is still feeding this answer."""
        return self._run is not None and self.outcome is None

    # -- streaming -----------------------------------------------------------------------------

    def attach(self, run: RunHandle) -> None:
        """Start showing ``run``'s events; call after the widget is mounted."""
        self._run = run
        self._started = time.monotonic()
        self.query_one(".answer-activity", Static).display = True
        self._set_activity("thinking")
        self._timer = self.set_interval(self.FLUSH_INTERVAL, self._drain)

    async def _drain(self) -> None:
        run = self._run
        if run is None:
            return
        if self.outcome is not None:
            self._drain_tail(run)
            return
        # follow the growing answer only if the reader is at the bottom (Textual's own anchor()
        # misplaces short content in 8.2, textual#6652, so this is done by hand)
        scroller = self.parent if isinstance(self.parent, ScrollableContainer) else None
        follow = scroller is not None and scroller.is_vertical_scroll_end
        try:
            await self._drain_items(run)
        finally:
            if follow and scroller is not None:
                scroller.scroll_end(animate=False)

    async def _drain_items(self, run: RunHandle) -> None:
        if run.stopped:  # whatever arrives after the stop only updates the panels
            await self._flush()
            self._finish("stopped", None)
            self._drain_tail(run)
            return
        ended = False
        for item in run.drain():
            if item is END:
                ended = True
                break
            if not await self._apply(item):
                return  # a final or error event finished the answer
        await self._flush()
        if run.stopped:
            self._finish("stopped", None)
        elif ended:
            if not self._raw:
                self.show_error("the tutor ended without an answer")
            self._finish("final" if self._raw else "error", None)
        else:
            self._set_activity(self._activity)

    def _drain_tail(self, run: RunHandle) -> None:
        """After a stop: results already computed still land in the panels; text does not."""
        for item in run.drain():
            if item is END:
                self._end_tail()
                return
            self._apply_panel_event(getattr(item, "type", ""), item)
        if time.monotonic() > self._tail_until:
            self._end_tail()

    def _end_tail(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.query_one(ToolsPanel).interrupt()  # a tool that never reported back

    def _apply_panel_event(self, kind: str, event: Any) -> bool:
        """Apply an event that only touches the panels; False if it is not one."""
        if kind == "retrieval":
            self.query_one(SourcesPanel).show_hits(event)
        elif kind == "tool_started":
            self.query_one(ToolsPanel).started(event)
        elif kind == "tool_result":
            self.query_one(ToolsPanel).finished(event)
        elif kind == "candidate_scored":
            self.query_one(VerificationPanel).scored(event)
        elif kind == "verification":
            self.query_one(VerificationPanel).verified(event)
        else:
            return False
        return True

    async def _apply(self, event: Any) -> bool:
        """Apply one event; False when it ended the answer."""
        kind = getattr(event, "type", "")
        if kind == "token":
            if event.candidate != self._candidate:
                await self._flush()
                self._candidate, self._raw = event.candidate, ""
                self._renderer = StreamRenderer()
                self._activity = f"drafting candidate {event.candidate + 1}"
            self._raw += event.text
            if event.text.strip():
                self._wrote = True
                # text arriving ends any other phase (a computed lead, then the model reading)
                if not self._activity.startswith(("writing", "drafting")):
                    self._activity, self._progress = "writing", None
            return True
        if kind == "phase":  # words for the activity line: the body need not be redrawn
            self._phase(event)
            return True
        await self._flush()
        if self._apply_panel_event(kind, event):
            if kind == "retrieval" and not self._wrote:
                self._activity = f"reading {len(event.hits)} note sections"
            elif kind == "tool_started":
                self._activity = f"running {event.name}"
            elif kind == "candidate_scored":
                self._activity = "scoring candidates"
            elif kind == "verification":
                self._activity = "checking the claims"
            return True
        if kind == "final":
            await self._show_final(event)
            self._finish("final", None)
            return False
        elif kind == "error":
            if event.kind == "cancelled":
                self._finish("stopped", None)
            else:
                self.show_error(event.message, retryable=event.retryable)
                self._finish("error", event)
            return False
        return True

    def _phase(self, event: PhaseEvent) -> None:
        """What the run does now, in words for the activity line."""
        words = _PHASE_WORDS.get(event.phase, event.phase)
        self._activity = f"{words} {event.detail}".strip()
        self._progress = event.progress
        if event.phase == "writing" and not self._wrote:
            self._activity = "starting to write"

    async def _flush(self) -> None:
        """Show the text streamed so far (only its last paragraph is converted again)."""
        if not self._raw and not self._shown:
            return
        display = self._renderer.render(self._raw)
        if display != self._shown:
            self.query_one(MarkdownBody).show(display, streaming=True)
            self._shown = display

    async def _show_final(self, event: FinalEvent) -> None:
        self._raw = event.answer
        self._shown = render_markdown(event.answer)
        self.query_one(MarkdownBody).show(self._shown)  # unchanged chunks are not re-rendered
        self._show_citations(list(event.citations), event.verified)

    def _show_citations(self, cited: list[Citation | str], verified: str) -> None:
        """The cited sections with an excerpt each, and what was verified, under the body."""
        citations = self.query_one(".answer-citations", Static)
        text = Text()
        if cited:
            text.append("Cited\n", style="bold")
            for i, item in enumerate(cited, 1):
                if isinstance(item, str):
                    text.append(("\n" if i > 1 else "") + f"[{i}] ", style="bold")
                    text.append(item)
                else:
                    if i > 1:
                        text.append("\n")
                    text.append(f"[{i}] ", style="bold")
                    text.append(item.label)
                    if item.text:
                        text.append(" — " + excerpt(item.text, 90), style="italic")
        if verified:
            text.append(("\n" if text.plain else "") + "✓ " + verified, style="green")
        if text.plain:
            citations.update(text)
            citations.display = True

    def show_error(self, message: str, *, retryable: bool = False) -> None:
        """Show a failure under the answer (with the retry key when retrying may help)."""
        error = self.query_one(".answer-error", Static)
        text = Text.assemble(("⚠ ", "bold red"), (message, "red"))
        if retryable:
            text.append("  — press F5 to retry", style="bold")
        error.update(text)
        error.display = True

    def _set_activity(self, what: str) -> None:
        elapsed = time.monotonic() - self._started
        frame = _SPINNER[int(elapsed / 0.1) % len(_SPINNER)]
        text = Text.assemble((f"{frame} {what}… ", "yellow"))
        if self._progress is not None:
            done = max(0.0, min(1.0, self._progress))
            filled = round(done * 10)
            text.append("▰" * filled + "▱" * (10 - filled) + f" {done:.0%} ", style="yellow")
        if elapsed >= 2:
            text.append(f"{elapsed:.0f} s · ", style="dim")
        text.append("esc stops", style="dim")
        self.query_one(".answer-activity", Static).update(
            text,
            layout=False,  # one line, always: a repaint, not a layout pass, 20 times a second
        )

    def _finish(self, outcome: Outcome, error: ErrorEvent | None) -> None:
        if self.outcome is not None:
            return
        self.outcome = outcome
        if outcome == "stopped" and self._run is not None and not self._run.finished.is_set():
            self._tail_until = time.monotonic() + TAIL_S  # keep taking in computed results
        elif self._timer is not None:
            self._timer.stop()
        body = self.query_one(MarkdownBody)
        body.show(body.source)  # drops the spare lines kept while streaming
        activity = self.query_one(".answer-activity", Static)
        if outcome == "stopped":
            activity.update(Text("■ stopped · F5 asks again", style="dim italic"))
        else:
            activity.display = False
        self.post_message(self.Finished(self, outcome, error))
