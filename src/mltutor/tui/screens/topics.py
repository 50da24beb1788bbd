"""The topics browser (palette: "topics") and a topic's note, readable in the terminal.

The list shows every bundled topic with its number of interview questions and, once the learner has
been interviewed, their mastery. Enter opens the note: key formulas first, math drawn in Unicode,
the ``plain:`` lines (ASCII copies of each formula, there for search) left out. Both come from the
service (``topics()``, ``note()``) in a thread; the UI never reads the knowledge base itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mltutor.tui.mathtext import render_markdown
from mltutor.tui.runs import call_in_thread
from mltutor.tui.state import ServiceView
from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.markdown_body import MarkdownBody

if TYPE_CHECKING:
    from mltutor.agent.service import TopicInfo
    from mltutor.tui.app import TutorApp

COUNT_WIDTH = 10
MASTERY_WIDTH = 14


def _row(title: Text | str, count: Text | str, mastery: Text | str) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(width=COUNT_WIDTH, justify="right", no_wrap=True)
    grid.add_column(width=MASTERY_WIDTH, no_wrap=True)
    grid.add_row(title, count, mastery)
    return grid


def mastery_text(mastery: float | None) -> Text:
    """A ten-step bar and a percentage, or a dash before the first interview."""
    if mastery is None:
        return Text("—", style="dim")
    done = max(0.0, min(1.0, mastery))
    filled = round(done * 8)
    colour = "green" if done >= 0.7 else "yellow" if done >= 0.4 else "red"
    return Text.assemble(("▰" * filled, colour), ("▱" * (8 - filled), "dim"), f" {done:>4.0%}")


def topic_row(topic: TopicInfo, *, russian: bool = False) -> Table:
    """One line of the list."""
    title = topic.title_ru if russian and topic.title_ru else topic.title
    count = str(topic.questions) if topic.questions else "—"
    return _row(Text(title), Text(count), mastery_text(topic.mastery))


def note_markdown(body: str) -> str:
    """A note's body for reading: key formulas first, ``plain:`` lines out, math as Unicode."""
    body = "\n".join(
        line for line in body.splitlines() if not line.lstrip().lower().startswith("plain:")
    )
    sections = re.split(r"(?m)^(?=## )", body)
    key = [s for s in sections if s.lower().startswith("## key formulas")]
    rest = [s for s in sections if s not in key]
    return render_markdown("".join(key + rest).strip() + "\n")


class TopicsScreen(ModalScreen[None]):
    """Every topic with its question count (and mastery); enter opens the note."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open note", show=True),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="full-screen")
        self.topics: list[TopicInfo] | None = None
        """The topics shown (None while loading)."""

    @property
    def tutor(self) -> TutorApp:
        """The app, typed."""
        return cast("TutorApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(" Topics ", classes="screen-title")
        yield Static(
            _row(
                Text("topic", style="bold"),
                Text("questions", style="bold"),
                Text("mastery", style="bold"),
            ),
            classes="topics-header",
        )
        yield OptionList(id="topics")
        yield Static("", id="topics-message")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#topics", OptionList).focus()
        self.watch(self.app, "service_view", self._service_changed)

    def _service_changed(self, view: ServiceView) -> None:
        if self.topics is not None:
            return
        service = self.tutor.service
        message = self.query_one("#topics-message", Static)
        if service is None:
            waiting = view.phase == "starting"
            message.update(
                Text("loading the topics once the tutor has started…", style="dim")
                if waiting
                else Text(f"topics unavailable: {view.reason or view.text}", style="red")
            )
            return
        message.update(Text("loading the topics…", style="dim"))
        call_in_thread(self, service.topics, self._show, self._failed)

    def _show(self, topics: list[TopicInfo]) -> None:
        self.topics = topics
        listing = self.query_one("#topics", OptionList)
        russian = self.tutor.settings.language == "ru"
        listing.add_options([Option(topic_row(t, russian=russian), id=t.slug) for t in topics])
        listing.highlighted = 0 if topics else None
        total = sum(t.questions for t in topics)
        self.query_one("#topics-message", Static).update(
            Text(
                f"{len(topics)} topics · {total} interview questions · enter opens a note",
                style="dim",
            )
        )

    def _failed(self, message: str) -> None:
        self.query_one("#topics-message", Static).update(
            Text(f"topics unavailable: {message}", style="red")
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option.id)

    def action_open(self) -> None:
        """Open the highlighted topic's note."""
        listing = self.query_one("#topics", OptionList)
        if listing.highlighted is not None and listing.option_count:
            self._open(listing.get_option_at_index(listing.highlighted).id)

    def _open(self, slug: str | None) -> None:
        topic = next((t for t in self.topics or [] if t.slug == slug), None)
        if topic is not None:
            self.app.push_screen(NoteScreen(topic))

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss()


class NoteScreen(ModalScreen[None]):
    """One topic's note, scrollable; esc goes back to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Back")]

    def __init__(self, topic: TopicInfo) -> None:
        super().__init__(classes="full-screen")
        self.topic = topic
        self.body: MarkdownBody | None = None

    def compose(self) -> ComposeResult:
        count = f" · {self.topic.questions} interview questions" if self.topic.questions else ""
        yield Static(Text(f" {self.topic.title}{count} ", style="bold"), classes="screen-title")
        with VerticalScroll(id="note-body"):
            self.body = MarkdownBody(classes="note")
            yield self.body
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#note-body").focus()
        service = cast("TutorApp", self.app).service
        if service is None:
            self._failed("the tutor has not started yet")
            return
        assert self.body is not None
        self.body.show("*loading the note…*")
        slug = self.topic.slug
        call_in_thread(self, lambda: service.note(slug), self._show, self._failed)

    def _show(self, body: str) -> None:
        assert self.body is not None
        self.body.show(note_markdown(body))

    def _failed(self, message: str) -> None:
        assert self.body is not None
        self.body.show(f"**The note could not be read:** {message}")

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss()
