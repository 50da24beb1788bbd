"""Graph state and per-run context.

The state is what the checkpointer persists (conversation messages and the last run's trace, as the
typed records of :mod:`.records`); the run context carries what must not be persisted (the cancel
flag, per-run knobs).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from mltutor.agent.events import Citation
from mltutor.agent.tutor.records import Candidate, Intent, Lead, ToolRecord, VerificationRecord

Mode = Literal["tutor", "check"]
"""``check``: the question is a derivation to check (the explain-a-wrong-step request)."""


class TutorState(TypedDict, total=False):
    """State of one session; ``messages`` accumulates across runs, the rest describes the last run."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    """The conversation in OpenAI message format (user questions and final answers only)."""
    question: str
    """The current question."""
    intent: Intent
    """What routing decided."""
    hits: list[Citation]
    """Retrieved note sections the answer may use, best first (the lead's source is [1])."""
    lead: Lead | None
    """Our notes' text that opens the answer, when the question matched it with confidence."""
    tool_calls: list[ToolRecord]
    """Tool calls of this run."""
    candidates: list[Candidate]
    """Best-of-N candidates."""
    best: int
    """Index of the chosen candidate."""
    revisions: int
    """How many revision rounds ran."""
    answer: str
    """The final answer."""
    citations: list[Citation]
    """Citations of the final answer."""
    verification: VerificationRecord
    """Verification of the chosen candidate (after removals, of the final answer)."""
    timings: dict[str, float]
    """Seconds per node (and ``model`` for time spent waiting on the model)."""
    usage: dict[str, int]
    """Prompt and completion tokens of this run, as reported by the server."""


@dataclass
class RunContext:
    """Per-run settings and controls, passed as LangGraph runtime context (never persisted)."""

    run_id: str = ""
    """Identifies the run in events."""
    mode: Mode = "tutor"
    """``check`` forces the question to the derivation checker."""
    best_of: int = 1
    """Candidates to sample."""
    concurrency: int = 1
    """Candidates requested at once (a server with several slots)."""
    max_revisions: int = 1
    """Revision rounds for drafts whose formulas fail."""
    language: str = "auto"
    """Answer language: auto, en or ru."""
    time_budget_s: float = 180.0
    """Best-of-N stops sampling after this long."""
    token_budget: int = 4000
    """Best-of-N stops sampling after this many drafted tokens (estimated)."""
    verify: bool = True
    """Self-verification on (formulas and statements checked, failing lines removed)."""
    notes_lead: bool = True
    """Lead with the notes' text for a confidently matched question and narrow the evidence to it."""
    exclude_question_ids: Collection[str] = ()
    """Bank questions whose own chunks retrieval must not return (an open interview question, a
    question under evaluation): otherwise the answer key leaks into the context."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set to stop the run at the next token or node boundary."""
