"""What a run writes: its manifest (what makes it reproducible) and one record per finished case.

A run directory holds ``manifest.json`` (written once, when the run starts) and ``cases.jsonl``
(append-only: one :class:`CaseRecord` per line, flushed to disk as each case finishes). A case that
failed (timeout, provider error) is recorded with ``status: "error"``; reports count it as an error,
never as a score of zero. The latest record of a case wins, so a resumed run that retries an errored
case supersedes its error line without rewriting the log.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mltutor.evals.suites import Kind, Selection

SCHEMA_VERSION = 1
"""Version of the run-directory format (manifest and case records)."""


class _Model(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")


class RunConfig(_Model):
    """What was asked for: the flags of ``mltutor eval run``."""

    suite: str
    """Bundled suite name or suite file path, as given."""
    solver: str
    """Who answers: ``tutor``, ``raw``, ``checker`` (derivations), ``retriever``, ``grader``."""
    best_of: int = Field(default=1, ge=1, le=16)
    """Candidates per answer (tutor)."""
    verify: bool = True
    """Self-verification on (tutor)."""
    judge: bool = False
    """Whether the grader uses the judge model (else its deterministic layer only)."""
    selection: Selection = Field(default_factory=Selection)
    """Which cases."""
    concurrency: int = Field(default=1, ge=1, le=64)
    """Cases answered at once (1 for the embedded model)."""
    case_timeout_s: float = Field(default=600.0, gt=0)
    """A case running longer is stopped and recorded as a ``timeout`` error."""


class SuiteInfo(_Model):
    """The suite a run used."""

    name: str
    """Suite name."""
    source: str
    """``bundled:<name>`` or the file path."""
    kind: Kind
    """Kind of its cases."""
    hash: str
    """sha256 of all its cases (see :func:`mltutor.evals.suites.cases_hash`)."""
    cases_total: int
    """Cases in the suite."""
    selected_hash: str
    """sha256 of the selected cases."""


class ModelInfo(_Model):
    """The model a role used."""

    name: str = ""
    """Model name as the server knows it."""
    endpoint: str = ""
    """Base URL, or ``embedded (...)``."""
    embedded: bool = False
    """The bundled local model."""


class Manifest(_Model):
    """Everything needed to reproduce (and to resume) a run."""

    schema_version: int = SCHEMA_VERSION
    """Format version."""
    run_id: str
    """Name of the run directory."""
    created_at: str
    """UTC, ISO 8601."""
    config: RunConfig
    """The flags."""
    suite: SuiteInfo
    """The suite."""
    case_ids: list[str]
    """The selected cases, in the order they are run."""
    model: ModelInfo = Field(default_factory=ModelInfo)
    """The answering model (empty for model-free solvers)."""
    judge: ModelInfo | None = None
    """The grader's judge model, when ``config.judge``."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """The mltutor settings in force (secrets left out)."""
    seed: int = 0
    """Seed of the case draw."""
    mltutor_version: str = ""
    """Package version."""
    git_revision: str | None = None
    """``git rev-parse HEAD`` of the source tree, with ``+dirty`` when it had local changes."""
    machine: dict[str, Any] = Field(default_factory=dict)
    """Platform, Python, CPUs, memory."""
    grader: dict[str, Any] = Field(default_factory=dict)
    """Which grader scored the answers (mode, judge model)."""


class CaseError(_Model):
    """Why a case has no score."""

    kind: str
    """``timeout``, ``provider``, ``internal``, ``knowledge``, ``grader`` ..."""
    message: str
    """What went wrong."""
    retryable: bool = False
    """Whether running it again may work."""


class CaseRecord(_Model):
    """One finished case: its scores, or the error that stopped it."""

    case_id: str
    """The case."""
    kind: Kind
    """Its kind."""
    status: Literal["ok", "error"]
    """``error``: no scores; reported as an error, never as zero."""
    topic: str = ""
    """Topic (grouping)."""
    language: str = "en"
    """Language (grouping)."""
    difficulty: str = "-"
    """Difficulty (grouping)."""
    finished_at: str = ""
    """UTC, ISO 8601."""
    seconds: float = 0.0
    """Wall time of the case (answer and scoring)."""
    metrics: dict[str, float | None] = Field(default_factory=dict)
    """Numbers the reports aggregate (see :mod:`mltutor.evals.scorers`); None = not applicable."""
    answer: str = ""
    """The final answer (``qa``), or what the solver said (other kinds)."""
    details: dict[str, Any] = Field(default_factory=dict)
    """The grade, the solver's trace and anything else worth reading later."""
    error: CaseError | None = None
    """Set when ``status`` is ``error``."""


__all__ = [
    "SCHEMA_VERSION",
    "CaseError",
    "CaseRecord",
    "Manifest",
    "ModelInfo",
    "RunConfig",
    "SuiteInfo",
]
