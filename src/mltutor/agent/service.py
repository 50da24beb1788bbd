"""The facade front ends (CLI, TUI) use: questions in, typed events out; sessions; checking.

Front ends depend on this protocol only, so tests drive them with a fake service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.events import Citation, Event
from mltutor.agent.interview.records import Feedback, InterviewSummary, ProgressReport, Prompt
from mltutor.tools.checker import CheckReport

Progress = Callable[[str, float | None], None]
"""Start-up progress callback: (message, fraction done in [0, 1] or None when unknown)."""


class SessionInfo(BaseModel):
    """A stored conversation."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Stable session id (used with ``--session``)."""
    title: str
    """Display title (first question, or what the user renamed it to)."""
    created_at: datetime
    """When the session started."""
    updated_at: datetime
    """Last activity."""
    turns: int = 0
    """Number of questions asked."""


class ToolCallRecord(BaseModel):
    """One math tool call of a stored answer (what its ``tool_started``/``tool_result`` said)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """Tool name, e.g. ``hessian``."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The arguments it ran with."""
    ok: bool = True
    """False when the tool failed (``result`` then holds ``{"error": ...}``)."""
    result: dict[str, Any] = Field(default_factory=dict)
    """The tool's output model as JSON."""
    summary: str = ""
    """One line for display."""


class VerificationRecord(BaseModel):
    """The verification outcome of a stored answer (its last ``verification`` event)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    claims_checked: int = 0
    """How many claims were checked."""
    claims_failed: int = 0
    """How many did not hold."""
    failures: list[str] = Field(default_factory=list)
    """A line per failed claim."""
    revision: int = 0
    """Which revision the outcome belongs to (0: the first draft)."""
    statements_checked: int = 0
    """Sentences of the model's prose compared with the notes."""
    statements_supported: int = 0
    """Of those, how many the notes support."""
    statements_contradicted: int = 0
    """Of those, how many contradicted the notes (removed from the answer)."""
    summary: str = ""
    """What was checked, in words."""


class TranscriptEntry(BaseModel):
    """One message of a session, for display and export.

    Assistant entries carry what the answer's panels showed when it was written (sources, tool
    calls, verification), so a resumed session shows them again; all of it is optional, and an
    entry stored before these fields existed just has no panels.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    role: Literal["user", "assistant"]
    """Who said it."""
    content: str
    """Markdown text."""
    citations: list[str] = Field(default_factory=list)
    """Citation labels under an assistant answer."""
    sources: list[Citation] = Field(default_factory=list)
    """The note sections retrieved for the question (the Sources panel), best first."""
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    """The math tool calls, in order (the Tools panel)."""
    verification: VerificationRecord | None = None
    """The claims check (the Verification panel); None when nothing was checked."""
    verified: str = ""
    """The sentence on what was verified, shown under the answer."""
    interrupted: str = ""
    """Why the answer is partial (stopped, server gone); empty for a complete answer."""


class TopicInfo(BaseModel):
    """A topic of the bundled notes, for the topics browser."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    slug: str
    """Topic id (the note's file name without ``.md``)."""
    title: str
    """English title."""
    title_ru: str = ""
    """Russian title."""
    questions: int = 0
    """Interview questions in the bank for this topic."""
    mastery: float | None = None
    """The learner's mastery in [0, 1] from past interviews; None before any."""


class ServiceStatus(BaseModel):
    """What the tutor runs on, for the status bar and settings screen."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    model: str
    """Model name in use."""
    endpoint: str
    """Base URL, or ``embedded`` for the bundled local model."""
    embedded: bool
    """True when the bundled local model is used."""
    ready: bool
    """Whether the model endpoint answered its last health check."""
    detail: str = ""
    """Why it is not ready, when it is not."""


class Interview(Protocol):
    """A mock interview in progress (the real one: :mod:`mltutor.agent.interview.session`).

    Every method but ``answer`` returns at once; ``answer`` grades (up to seconds with a judge
    model), so front ends call it in a worker and may set ``cancel`` to drop the answer unrecorded.
    While a question is open nothing it returns holds that question's key points or reference.
    """

    @property
    def id(self) -> str:
        """Interview id."""
        ...

    @property
    def current(self) -> Prompt | None:
        """What is asked now (a question or a follow-up); None once the interview is over."""
        ...

    @property
    def finished(self) -> bool:
        """Whether the interview is over (every question done, or quit)."""
        ...

    def answer(self, text: str, *, cancel: threading.Event | None = None) -> Feedback:
        """Grade an answer to what is asked now; ``feedback.next`` is what comes next.

        An empty answer is an ``InterviewError``; a set ``cancel`` raises ``Cancelled`` and
        records nothing."""
        ...

    def hint(self) -> str:
        """A nudge towards a key point (costs points); ``InterviewError`` when none is left."""
        ...

    def skip(self) -> Feedback:
        """Move on without answering (not graded)."""
        ...

    def show_answer(self) -> Feedback:
        """Reveal the reference answer; what is asked now scores 0."""
        ...

    def quit(self) -> InterviewSummary:
        """End now; everything answered is already saved."""
        ...

    def summary(self) -> InterviewSummary:
        """Scores per question and topic, time, weakest key points, next reviews."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The transcript (the shape of ``mltutor interview --json``)."""
        ...

    def export_markdown(self) -> str:
        """The summary and every question as Markdown."""
        ...


class TutorService(Protocol):
    """Everything a front end may ask of the tutor."""

    def start(self, progress: Progress | None = None) -> None:
        """Prepare slow parts (index, embedded model) with progress reports; safe to call twice."""
        ...

    def status(self) -> ServiceStatus:
        """Model and endpoint in use, and whether they are ready."""
        ...

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        best_of: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Answer a question, yielding events; the last one is ``final`` or ``error``.

        Setting ``cancel`` stops the run at the next token or node boundary; the session keeps the
        question and a note that the answer was stopped.
        """
        ...

    def check(self, text: str) -> CheckReport:
        """Check a derivation with the derivation checker (no model needed)."""
        ...

    def explain_step(
        self,
        text: str,
        report: CheckReport,
        *,
        session_id: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Ask the tutor to explain the first wrong step of a checked derivation."""
        ...

    def sessions(self) -> list[SessionInfo]:
        """All stored sessions, most recent first."""
        ...

    def new_session(self, title: str = "New session") -> SessionInfo:
        """Create an empty session."""
        ...

    def rename_session(self, session_id: str, title: str) -> None:
        """Change a session's title."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Delete a session and its checkpoints."""
        ...

    def transcript(self, session_id: str) -> list[TranscriptEntry]:
        """The messages of a session, oldest first."""
        ...

    def export_markdown(self, session_id: str) -> str:
        """The session as a Markdown document."""
        ...

    def topics(self) -> list[TopicInfo]:
        """The bundled topics in display order (no model needed)."""
        ...

    def note(self, slug: str) -> str:
        """The Markdown body of a topic's note (front matter removed); ``KnowledgeError`` if the
        topic does not exist."""
        ...

    def start_interview(
        self,
        topics: Sequence[str] = (),
        difficulty: str | None = None,
        n: int = 5,
        lang: str = "en",
    ) -> Interview:
        """Start a mock interview: due reviews first, then the weakest topics, then new questions,
        within the filters. ``InterviewError`` for an unknown topic or filters matching nothing.
        While it has a question open, ``ask`` never retrieves that question's own chunk."""
        ...

    def progress(self) -> ProgressReport:
        """Per-topic mastery and attempts, due reviews, weakest key points, score history."""
        ...

    def close(self) -> None:
        """Stop child processes (the embedded model server) and release resources."""
        ...
