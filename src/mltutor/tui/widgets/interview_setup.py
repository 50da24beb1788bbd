"""The interview set-up form: topic, difficulty, number of questions, language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Select, Static

if TYPE_CHECKING:
    from mltutor.agent.service import TopicInfo

ALL = "__all__"
"""The topic choice meaning every topic (the learner model decides)."""
ANY = "__any__"
"""The difficulty choice meaning any difficulty."""
COUNTS = (3, 5, 8, 10)


class InterviewSetup(Vertical):
    """Choices for a new interview; the screen reads :meth:`choice` when the user starts."""

    DEFAULT_CSS = """
    InterviewSetup { height: auto; padding: 1 1 0 1; }
    InterviewSetup .setup-row { height: auto; margin: 0 0 1 0; }
    InterviewSetup Label { width: 12; padding: 1 0 0 0; }
    InterviewSetup Select { width: 1fr; }
    InterviewSetup .setup-second { width: 11; margin: 0 0 0 2; }
    InterviewSetup .setup-note { color: $text-muted; margin: 0 0 1 0; }
    """

    def __init__(self, language: str = "en") -> None:
        super().__init__(id="interview-setup")
        self._language = "ru" if language == "ru" else "en"

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "A mock interview: questions from the bank, your answers graded against a rubric, "
                "follow-ups on what was missing. Due reviews come first, then your weakest "
                "topics, then new questions.",
            ),
            classes="setup-note",
        )
        with Horizontal(classes="setup-row"):
            yield Label("Topic")
            yield Select[str](
                [("All topics (due reviews and weak topics first)", ALL)],
                value=ALL,
                allow_blank=False,
                id="setup-topic",
            )
        with Horizontal(classes="setup-row"):
            yield Label("Difficulty")
            yield Select[str](
                [("any", ANY), ("easy", "easy"), ("medium", "medium"), ("hard", "hard")],
                value=ANY,
                allow_blank=False,
                id="setup-difficulty",
            )
            yield Label("Questions", classes="setup-second")
            yield Select[int](
                [(str(n), n) for n in COUNTS], value=5, allow_blank=False, id="setup-count"
            )
        with Horizontal(classes="setup-row"):
            yield Label("Language")
            yield Select[str](
                [("English", "en"), ("Русский", "ru")],
                value=self._language,
                allow_blank=False,
                id="setup-lang",
            )
        yield Button("Start (ctrl+s)", id="setup-start", variant="primary")

    def set_topics(self, topics: list[TopicInfo]) -> None:
        """Offer these topics (with their question counts and mastery)."""
        options: list[tuple[str, str]] = [("All topics (due reviews and weak topics first)", ALL)]
        for t in topics:
            mastery = f", mastery {t.mastery:.0%}" if t.mastery is not None else ""
            options.append((f"{t.title} ({t.questions} q.{mastery})", t.slug))
        self.query_one("#setup-topic", Select).set_options(options)
        self.query_one("#setup-topic", Select).value = ALL

    def choice(self) -> dict[str, Any]:
        """The arguments of ``start_interview``."""
        topic = self.query_one("#setup-topic", Select).value
        difficulty = self.query_one("#setup-difficulty", Select).value
        return {
            "topics": [topic] if isinstance(topic, str) and topic != ALL else [],
            "difficulty": difficulty if isinstance(difficulty, str) and difficulty != ANY else None,
            "n": int(self.query_one("#setup-count", Select).value or 5),  # type: ignore[arg-type]
            "lang": str(self.query_one("#setup-lang", Select).value or "en"),
        }
