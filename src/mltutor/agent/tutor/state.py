"""Graph state and per-run context.

The state is what the checkpointer persists (conversation messages and the last run's trace); the
run context carries things that must not be persisted (the cancel flag, per-run knobs).
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

Mode = Literal["tutor", "interview", "check"]


class TutorState(TypedDict, total=False):
    """State of one session; ``messages`` accumulates across runs, the rest describes the last run."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    """The conversation in OpenAI message format (user questions and final answers only)."""
    question: str
    """The current question."""
    intent: dict[str, Any]
    """What routing decided: kind (derivative, integral, check, search, general) and tool args."""
    hits: list[dict[str, Any]]
    """Retrieved note sections (Citation dicts), best first."""
    tool_calls: list[dict[str, Any]]
    """Tool calls of this run: name, args, result, ok, origin."""
    candidates: list[dict[str, Any]]
    """Best-of-N candidates: text, score, details, verification."""
    best: int
    """Index of the chosen candidate."""
    revisions: int
    """How many revision rounds ran."""
    answer: str
    """The final answer."""
    citations: list[dict[str, Any]]
    """Citations of the final answer."""
    verification: dict[str, Any]
    """claims_checked, claims_failed, failures of the final answer."""
    timings: dict[str, float]
    """Seconds per node (and ``model`` for time spent waiting on the model)."""


@dataclass
class RunContext:
    """Per-run settings and controls, passed as LangGraph runtime context (never persisted)."""

    run_id: str = ""
    mode: Mode = "tutor"
    best_of: int = 1
    max_revisions: int = 1
    language: str = "auto"
    time_budget_s: float = 180.0
    token_budget: int = 4000
    cancel: threading.Event = field(default_factory=threading.Event)
