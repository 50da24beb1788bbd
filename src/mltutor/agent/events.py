"""The typed event stream a run emits, for UIs and the CLI.

Front ends consume these and nothing else: they never call a model, Chroma or SymPy themselves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    run_id: str = ""
    """The run (one question) this event belongs to."""
    session_id: str = ""
    """The session the run belongs to (set by the service on every event it yields)."""


class TokenEvent(_Event):
    """A piece of the answer being drafted (streamed)."""

    type: Literal["token"] = "token"
    text: str
    """The new text."""
    candidate: int = 0
    """Which best-of-N candidate is streaming (0 for the first)."""
    origin: Literal["model", "tools", "notes"] = "model"
    """Who wrote this text: the model, or mltutor itself (a computed result, a vetted note excerpt)
    shown before the model writes anything."""


class PhaseEvent(_Event):
    """What the run is doing now, for a status line (the model may be silent for a long time).

    Emitted when the run enters a phase and again as progress becomes known, e.g. while the
    server processes a long prompt (llama.cpp reports prompt progress while streaming).
    """

    type: Literal["phase"] = "phase"
    phase: Literal["retrieving", "reading", "tool", "writing", "verifying", "scoring", "grading"]
    """retrieving: searching the notes; reading: the model processes its prompt (no token yet);
    tool: a math tool runs; writing: tokens stream; verifying: claims are checked; scoring:
    best-of-N candidates are compared; grading: an interview answer is graded."""
    detail: str = ""
    """Words for the status line, e.g. ``1,200 tokens of notes`` or ``hessian``."""
    progress: float | None = None
    """Fraction done in [0, 1] where known (prompt processing), else None."""


class Citation(BaseModel):
    """A note section the answer relies on."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    label: str
    """Short label for display, e.g. ``calculus § Sigmoid derivative``."""
    topic: str
    """Topic slug (``user`` for the user's own material)."""
    heading: str
    """Heading path of the cited section."""
    source: str
    """File the section comes from."""
    score: float = 0.0
    """Retrieval score (higher is better)."""
    text: str = ""
    """The cited text (may be shortened)."""
    kind: str = "section"
    """Chunk kind: ``section``, ``question`` (a bank question with its reference answer),
    ``summary`` or ``user``."""
    question_id: str = ""
    """The bank question a ``question`` chunk belongs to."""
    language: str = "en"
    """Language of the text (``en`` or ``ru``)."""


class RetrievalEvent(_Event):
    """Notes retrieved for the question."""

    type: Literal["retrieval"] = "retrieval"
    hits: list[Citation]
    """The retrieved sections, best first."""


class ToolStartedEvent(_Event):
    """A math tool is about to run."""

    type: Literal["tool_started"] = "tool_started"
    call_id: str
    """Pairs this event with its ``tool_result``."""
    name: str
    """Tool name, e.g. ``differentiate``."""
    args: dict[str, Any]
    """The validated arguments."""
    origin: Literal["router", "model"] = "router"
    """Who chose the call: deterministic routing or the model's tool call."""


class ToolResultEvent(_Event):
    """A math tool finished (or failed)."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str
    """Pairs this event with its ``tool_started``."""
    name: str
    """Tool name."""
    ok: bool
    """False when the tool raised an error (``result`` then holds ``{"error": ...}``)."""
    result: dict[str, Any]
    """The tool's output model as JSON."""
    summary: str = ""
    """One line for display, e.g. ``d/dx = 2x sin(x) + x² cos(x)``."""


class CandidateScoredEvent(_Event):
    """A best-of-N candidate was scored by the verifier."""

    type: Literal["candidate_scored"] = "candidate_scored"
    candidate: int
    """Candidate index."""
    score: float
    """Verifier score in [0, 1]."""
    details: dict[str, float] = Field(default_factory=dict)
    """Score components: claims verified, citations supported, key-point coverage."""


class VerificationEvent(_Event):
    """Outcome of checking the mathematical claims in a draft."""

    type: Literal["verification"] = "verification"
    claims_checked: int
    """How many claims were extracted and checked."""
    claims_failed: int
    """How many of them did not hold."""
    failures: list[str] = Field(default_factory=list)
    """A line per failed claim: the claim and why."""
    revision: int = 0
    """0 for the first draft, 1.. for revisions."""
    statements_checked: int = 0
    """Sentences of the model's own prose compared with the notes."""
    statements_supported: int = 0
    """Of those, how many the notes support."""
    statements_contradicted: int = 0
    """Of those, how many contradict the notes (they are removed or corrected)."""
    summary: str = ""
    """What was checked, in words (e.g. "3 formulas verified · 5 statements supported by the notes")."""

    @property
    def anything_checked(self) -> bool:
        """False when there was nothing to check: a UI must then not show a success mark."""
        return bool(self.claims_checked or self.statements_checked)


class FinalEvent(_Event):
    """The answer is complete."""

    type: Literal["final"] = "final"
    answer: str
    """The final answer (Markdown)."""
    citations: list[Citation] = Field(default_factory=list)
    """Sections cited by the answer."""
    verified: str = ""
    """A sentence on what was verified, shown under the answer."""


class ErrorEvent(_Event):
    """The run failed; the session is left consistent."""

    type: Literal["error"] = "error"
    message: str
    """What went wrong, in words a user can act on."""
    kind: str = "error"
    """``provider``, ``cancelled``, ``tool``, ``internal``..."""
    retryable: bool = False
    """Whether retrying the same question may work (server restarted, rate limit)."""


Event = Annotated[
    TokenEvent
    | PhaseEvent
    | RetrievalEvent
    | ToolStartedEvent
    | ToolResultEvent
    | CandidateScoredEvent
    | VerificationEvent
    | FinalEvent
    | ErrorEvent,
    Field(discriminator="type"),
]
