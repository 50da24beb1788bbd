"""The facade front ends (CLI, TUI) use: questions in, typed events out; sessions; checking.

Front ends depend on this protocol only, so tests drive them with a fake service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.events import Event
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


class TranscriptEntry(BaseModel):
    """One message of a session, for display and export."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    role: Literal["user", "assistant"]
    """Who said it."""
    content: str
    """Markdown text."""
    citations: list[str] = Field(default_factory=list)
    """Citation labels under an assistant answer."""


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

    def close(self) -> None:
        """Stop child processes (the embedded model server) and release resources."""
        ...
