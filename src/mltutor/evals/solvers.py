"""Solvers: who answers a case.

- ``tutor``: the full tutor service (retrieval, tools, verification, best-of-N per the run's flags);
  a bank question's own chunk (its reference answer and key points) is excluded from retrieval, so
  the harness measures answering, not copying.
- ``raw``: the same model with the same answer budget, and nothing else: no notes, no tools, no
  verification. The baseline that shows what the tutor adds.

Tokens are the server's counts summed over every model call of a case (the tutor's trace ``usage``;
the raw baseline's own usage scope), estimated only for calls the server reported nothing for.
- ``checker``: the derivation checker alone (derivation suites; no model).
- ``retriever``: the notes search alone (retrieval suites); ``grader``: the grader (grading suites).

One solver object per worker thread: the tutor keeps its sessions in a scratch directory of its own,
and token counts are kept per case.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.errors import Cancelled
from mltutor.agent.events import Citation
from mltutor.agent.llm import ChatModel, Message, Usage, usage_scope
from mltutor.evals.errors import EvalError
from mltutor.evals.metering import MeteredModel
from mltutor.evals.records import CaseError, RunConfig
from mltutor.evals.suites import AnyCase, DerivationCase, Kind, QACase, RetrievalCase
from mltutor.settings import Settings

SOLVERS: dict[Kind, tuple[str, ...]] = {
    "qa": ("tutor", "raw"),
    "derivation": ("tutor", "raw", "checker"),
    "retrieval": ("retriever",),
    "grading": ("grader",),
}
"""Solvers that apply to each kind; the first is the default."""

MODEL_SOLVERS = frozenset({"tutor", "raw"})
"""Solvers that need a language model."""

RAW_SYSTEM = (
    "You are a strong candidate in a machine-learning interview. Answer the question: the point "
    "first, then the few sentences that justify it; no lecture. Write formulas in LaTeX between $ "
    "signs."
)
"""The raw baseline's system prompt: the tutor's answer style, without notes, tools or citations."""

RAW_DERIVATION = (
    "Here is a derivation, one step per numbered line. Find the first line that is mathematically "
    "wrong. Reply with that line's number only, or 0 if every line is correct.\n\n{steps}"
)

RETRIEVAL_K = 10
"""Hits fetched per retrieval case (hit@1, hit@3 and the reciprocal rank within the first 10)."""


def answer_budget() -> int:
    """The tutor's token budget per draft, given to the raw baseline too."""
    from mltutor.agent.tutor import prompts

    return int(getattr(prompts, "DRAFT_MAX_TOKENS", 320))


class Solution(BaseModel):
    """What a solver produced for one case."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    answer: str = ""
    """The final answer (what the learner would read)."""
    seconds: float = 0.0
    """Wall time of answering (scoring not included)."""
    first_content_seconds: float | None = None
    """Time to the first text a learner would see (a computed result or our notes' excerpt, else
    the model's first token); None when nothing was streamed."""
    prompt_tokens: int = 0
    """Prompt tokens of every model call of the case."""
    completion_tokens: int = 0
    """Completion tokens of every model call of the case."""
    tokens_estimated: bool = False
    """True when some counts are estimates (4 characters a token): the server reported no usage for
    some call."""
    tokens_source: str = "none"
    """Where the counts come from: ``server``, ``estimate``, ``mixed`` (some calls each) or ``none``."""
    model_calls: int = 0
    """Model requests made."""
    hits: list[Citation] = Field(default_factory=list)
    """Retrieved sections; an answer's ``[n]`` refers to ``hits[n-1]``."""
    first_wrong_step: int | None = None
    """Derivations: the step the solver named (None: every step holds)."""
    trace: dict[str, Any] = Field(default_factory=dict)
    """Solver-specific detail kept in the case record."""


class CaseFailed(EvalError):
    """The case cannot be scored; recorded as an error (never as zero)."""

    def __init__(self, error: CaseError) -> None:
        super().__init__(error.message)
        self.error = error


class Solver(Protocol):
    """Answers cases, one at a time."""

    def solve(self, case: AnyCase, cancel: threading.Event) -> Solution:
        """Answer ``case``; raise :class:`CaseFailed` when it cannot be answered."""
        ...

    def close(self) -> None:
        """Release what the solver holds."""
        ...


def _apply_usage(solution: Solution, usage: Usage) -> Solution:
    return solution.model_copy(
        update={
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "tokens_estimated": usage.estimated_calls > 0,
            "tokens_source": usage.source,
            "model_calls": usage.calls,
        }
    )


def _question_of(case: AnyCase) -> tuple[str, Collection[str]]:
    """What to ask for a case, and the bank questions retrieval must not return."""
    if isinstance(case, QACase):
        return case.question, (case.bank_id,) if case.bank_id else ()
    if isinstance(case, DerivationCase):
        return case.text, ()
    raise EvalError(f"case {case.id}: the model solvers answer qa and derivation cases only")


_LINE_RE = re.compile(r"(?:line|step|строк\w*|шаг\w*)\s*(\d{1,3})\b", re.I)


def named_step(text: str) -> int | None:
    """The step a written answer names as the first wrong one (None: it says every step holds)."""
    m = _LINE_RE.search(text)
    if m:
        return int(m.group(1)) or None
    m = re.search(r"\b(\d{1,3})\b", text)
    return int(m.group(1)) or None if m else None


class TutorSolver:
    """The full tutor service, with its sessions in a scratch directory (one per worker)."""

    def __init__(
        self,
        settings: Settings,
        model: ChatModel,
        retriever: Any,
        config: RunConfig,
        scratch: Path,
        grader: Any = None,
    ) -> None:
        from mltutor.agent import create_service

        self.meter = MeteredModel(model)
        self.config = config
        local = settings.model_copy(update={"data_dir": scratch})
        factories: dict[str, Any] = {
            "model_factory": lambda progress: self.meter,
            "retriever_factory": lambda progress: retriever,
        }
        if grader is not None and hasattr(grader, "questions"):
            # the run's grader (real, shared): the tutor's prose checks and bank matching use it,
            # with the user's notes index, instead of a second grader per worker
            factories["grader_factory"] = lambda s: grader
        self.service = create_service(local, **factories)

    def solve(self, case: AnyCase, cancel: threading.Event) -> Solution:
        question, exclude = _question_of(case)
        mode: Literal["tutor", "check"] = "check" if isinstance(case, DerivationCase) else "tutor"
        start = time.perf_counter()
        final: Any = None
        error: Any = None
        first: float | None = None
        sid = ""
        for event in self.service.ask(
            question,
            best_of=self.config.best_of,
            cancel=cancel,
            verify=self.config.verify,
            exclude_question_ids=exclude,
            mode=mode,
        ):
            sid = event.session_id or sid
            if event.type == "token" and first is None:
                first = time.perf_counter() - start
            if event.type == "final":
                final = event
            elif event.type == "error":
                error = event
        seconds = time.perf_counter() - start
        try:
            if error is not None or final is None:
                kind = getattr(error, "kind", "internal")
                message = getattr(error, "message", "the tutor gave no answer")
                retryable = bool(getattr(error, "retryable", False))
                raise CaseFailed(CaseError(kind=kind, message=message, retryable=retryable))
            trace = self.service.last_trace(sid)
        finally:
            if sid:
                self.service.delete_session(sid)
        v = trace.verification
        first_wrong = None
        if isinstance(case, DerivationCase):
            checks = [c for c in trace.tool_calls if c.name == "check_derivation" and c.ok]
            named = named_step(final.answer)
            first_wrong = checks[0].result.get("first_wrong_step") if checks else named
        solution = Solution(
            answer=final.answer,
            seconds=seconds,
            first_content_seconds=first,
            hits=list(trace.hits),
            first_wrong_step=first_wrong,
            trace={
                "tool_calls": [c.name for c in trace.tool_calls],
                "candidates": len(trace.candidates),
                "candidate_scores": [round(c.score, 3) for c in trace.candidates],
                "verification": {
                    "claims_checked": v.claims_checked,
                    "claims_failed": v.claims_failed,
                    "statements_checked": len(v.statements),
                    "statements_contradicted": v.count("contradicted"),
                },
                "citations": [c.label for c in final.citations],
                "retrieved": [h.label for h in trace.hits],
                "retrieved_question_ids": [h.question_id for h in trace.hits if h.question_id],
                "timings": dict(trace.timings),
            },
        )
        return _apply_usage(solution, trace.usage)  # every model call of the turn, from its trace

    def close(self) -> None:
        self.service.close()


class RawSolver:
    """The same model, asked directly: no notes, no tools, no verification."""

    def __init__(self, model: ChatModel) -> None:
        self.meter = MeteredModel(model)

    def _ask(self, messages: list[Message], cancel: threading.Event) -> str:
        pieces: list[str] = []
        start = time.perf_counter()
        self.first_content_seconds: float | None = None
        stream = self.meter.stream(messages, temperature=0.2, max_tokens=answer_budget())
        try:
            for piece in stream:
                if cancel.is_set():
                    raise Cancelled()
                if not pieces:
                    self.first_content_seconds = time.perf_counter() - start
                pieces.append(piece)
        finally:
            stream.close()
        if cancel.is_set():
            raise Cancelled()
        return "".join(pieces)

    def solve(self, case: AnyCase, cancel: threading.Event) -> Solution:
        from mltutor.agent.errors import ProviderError
        from mltutor.agent.tutor.prompts import language_instruction

        start = time.perf_counter()
        if isinstance(case, DerivationCase):
            numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(case.steps, 1))
            messages: list[Message] = [
                {"role": "user", "content": RAW_DERIVATION.format(steps=numbered)}
            ]
        else:
            question, _ = _question_of(case)
            instruction = language_instruction(question, "auto")
            messages = [
                {"role": "system", "content": RAW_SYSTEM},
                {"role": "user", "content": f"{question}\n{instruction}"},
            ]
        try:
            with usage_scope() as tally:
                text = self._ask(messages, cancel)
        except Cancelled as exc:
            raise CaseFailed(CaseError(kind="cancelled", message=exc.message)) from exc
        except ProviderError as exc:
            raise CaseFailed(
                CaseError(kind="provider", message=exc.message, retryable=exc.retryable)
            ) from exc
        solution = Solution(
            answer=text.strip(),
            seconds=time.perf_counter() - start,
            first_content_seconds=self.first_content_seconds,
        )
        if isinstance(case, DerivationCase):
            solution.first_wrong_step = named_step(text)
        return _apply_usage(solution, tally.snapshot())

    def close(self) -> None:
        pass


class CheckerSolver:
    """The derivation checker, no model."""

    def __init__(self, settings: Settings) -> None:
        self.limits = settings.tools

    def solve(self, case: AnyCase, cancel: threading.Event) -> Solution:
        from mltutor.tools.checker import check_derivation, format_report

        if not isinstance(case, DerivationCase):
            raise EvalError(f"case {case.id}: the checker solves derivation cases only")
        start = time.perf_counter()
        report = check_derivation(case.text, limits=self.limits)
        return Solution(
            answer=format_report(report),
            seconds=time.perf_counter() - start,
            first_wrong_step=report.first_wrong_step,
            trace={"verdict": report.verdict},
        )

    def close(self) -> None:
        pass


Search = Callable[..., list[Citation]]


class RetrieverSolver:
    """The notes search the tutor uses, alone."""

    def __init__(self, retriever: Search) -> None:
        self.retriever = retriever

    def solve(self, case: AnyCase, cancel: threading.Event) -> Solution:
        if not isinstance(case, RetrievalCase):
            raise EvalError(f"case {case.id}: the retriever solves retrieval cases only")
        start = time.perf_counter()
        hits = self.retriever(case.query, RETRIEVAL_K)
        return Solution(
            answer="; ".join(h.label for h in hits[:3]),
            seconds=time.perf_counter() - start,
            hits=list(hits),
            trace={"topics": [h.topic for h in hits]},
        )

    def close(self) -> None:
        pass


__all__ = [
    "MODEL_SOLVERS",
    "SOLVERS",
    "CaseFailed",
    "CheckerSolver",
    "MeteredModel",
    "RawSolver",
    "RetrieverSolver",
    "Solution",
    "Solver",
    "TutorSolver",
    "named_step",
]
