"""Typed records the tutor graph keeps in its state (and the checkpointer persists).

Every per-run value that used to be a loose dict is a model here, so nodes read attributes, the
checkpointer round-trips them (they are allow-listed for LangGraph's msgpack serializer in
:data:`STATE_TYPES`), and sessions written before these models existed still open: readers validate
whatever shape is stored through :func:`coerce`.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mltutor.agent.events import Citation
from mltutor.agent.llm.usage import Usage

IntentKind = Literal["derivative", "integral", "gradient", "hessian", "check", "search", "general"]


class _Record(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")


class Intent(_Record):
    """What routing decided for the question."""

    kind: IntentKind = "general"
    """The kind of request; tool-routed kinds run a tool before the model writes."""
    tool: str | None = None
    """The tool routing chose, if any."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments for that tool."""


class ToolRecord(_Record):
    """One tool call of a run and its outcome."""

    name: str
    """Tool name."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments the tool ran with."""
    result: dict[str, Any] = Field(default_factory=dict)
    """The tool's output (``{"error": ...}`` when it failed)."""
    ok: bool = False
    """Whether the tool succeeded."""
    summary: str = ""
    """One line for display."""
    origin: Literal["router", "model"] = "router"
    """Who chose the call."""
    result_line: str | None = None
    """The result as a line the answer can open with (router calls that succeeded)."""
    inputs: str = ""
    """The inputs in words, shown next to the result ("for N = 7e9 parameters")."""
    grounded: bool = True
    """False when a model-chosen call used numbers that do not appear in, or follow from, the
    question: its result is then not presented as an answer to the question."""


class StatementCheck(_Record):
    """A sentence of the model's prose compared with the notes."""

    sentence: str
    """The sentence as written."""
    verdict: Literal["supported", "unsupported", "contradicted"]
    """What the notes say about it."""
    evidence: str = ""
    """The note text that supports or contradicts it."""
    source: int | None = None
    """1-based index of the retrieved section the evidence comes from."""
    reason: str = ""
    """Why it was judged contradicted (negation, swapped terms, a wrong number...)."""


class VerificationRecord(_Record):
    """What checking one draft found."""

    claims_checked: int = 0
    """Formulas extracted and run through the checker."""
    claims_failed: int = 0
    """Of those, how many did not hold."""
    failures: list[str] = Field(default_factory=list)
    """A line per failed formula: the claim and why."""
    failed_spans: list[str] = Field(default_factory=list)
    """The failing formulas as written (lines holding them are removed from the answer)."""
    verified: list[str] = Field(default_factory=list)
    """Formulas that held."""
    unverifiable: int = 0
    """Formulas the checker could not read or decide (never counted as wrong)."""
    tool_results_stated: int = 0
    """Computed results the draft states."""
    tool_results_expected: int = 0
    """Computed results the draft should state."""
    statements: list[StatementCheck] = Field(default_factory=list)
    """The model's own sentences checked against the notes."""

    def count(self, verdict: str) -> int:
        """How many statements got ``verdict``."""
        return sum(1 for s in self.statements if s.verdict == verdict)


class Lead(_Record):
    """What opens the answer before the model writes: a computed result or our notes' own text."""

    text: str
    """The lead's text (a LaTeX result line, or the note excerpt without its header)."""
    origin: Literal["tools", "notes"] = "notes"
    """Where it comes from."""
    source: int | None = None
    """1-based index of the retrieved section it comes from (notes leads)."""
    label: str = ""
    """Citation label of that section."""
    question_id: str = ""
    """The bank question whose reference answer leads, if any."""
    confidence: float = 0.0
    """How confidently the question matched that bank question."""


class Candidate(_Record):
    """One best-of-N candidate answer."""

    text: str
    """The full candidate (lead included)."""
    own_text: str = ""
    """What the model wrote itself (without mltutor's lead): candidates are compared on this."""
    score: float = 0.0
    """Verifier score in [0, 1]."""
    details: dict[str, float] = Field(default_factory=dict)
    """Score components."""
    verification: VerificationRecord = Field(default_factory=VerificationRecord)
    """What checking it found."""


class RunTrace(_Record):
    """The last run of a session, as read back from the checkpointer (old sessions included)."""

    question: str = ""
    """The question."""
    intent: Intent = Field(default_factory=Intent)
    """Routing's decision."""
    hits: list[Citation] = Field(default_factory=list)
    """Retrieved sections."""
    tool_calls: list[ToolRecord] = Field(default_factory=list)
    """Tool calls."""
    candidates: list[Candidate] = Field(default_factory=list)
    """Best-of-N candidates."""
    best: int = 0
    """Index of the chosen candidate."""
    answer: str = ""
    """The final answer."""
    citations: list[Citation] = Field(default_factory=list)
    """Citations of the final answer."""
    verification: VerificationRecord = Field(default_factory=VerificationRecord)
    """Verification of the final answer."""
    lead: Lead | None = None
    """What opened the answer before the model wrote."""
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds per node."""
    usage: Usage = Field(default_factory=Usage)
    """Prompt and completion tokens of every model call of the run (tool-call round, every draft),
    from the server's usage; ``usage.source`` says whether any call had to be estimated."""


STATE_TYPES: tuple[type[BaseModel], ...] = (
    Intent,
    ToolRecord,
    StatementCheck,
    VerificationRecord,
    Candidate,
    Lead,
    Citation,
)
"""Types stored in checkpoints: the serializer is told to allow exactly these."""

M = TypeVar("M", bound=BaseModel)


def coerce(model: type[M], value: Any) -> M:
    """``value`` as ``model``: a stored model, a dict written by an older version, or garbage."""
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    try:
        return model.model_validate(value if isinstance(value, dict) else {})
    except ValidationError:
        return model.model_validate({})


def trace_from_state(values: dict[str, Any]) -> RunTrace:
    """A :class:`RunTrace` from checkpointed state values of any version."""
    data = {k: v for k, v in values.items() if k in RunTrace.model_fields and v is not None}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list):
            clean[key] = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
        elif isinstance(value, BaseModel):
            clean[key] = value.model_dump()
        else:
            clean[key] = value
    try:
        return RunTrace.model_validate(clean)
    except ValidationError:
        # one malformed field must not hide the rest: keep what validates
        out = RunTrace()
        for key, value in clean.items():
            try:
                out = out.model_copy(
                    update={key: RunTrace.model_validate({key: value}).__dict__[key]}
                )
            except ValidationError:
                continue
        return out


__all__ = [
    "STATE_TYPES",
    "Candidate",
    "Intent",
    "Lead",
    "RunTrace",
    "StatementCheck",
    "ToolRecord",
    "VerificationRecord",
    "coerce",
    "trace_from_state",
]
