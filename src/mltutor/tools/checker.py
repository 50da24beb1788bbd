"""The derivation checker: one step per line, find the first wrong step and say why.

Each line is checked under the time bound (a slow step becomes ``unverifiable``, never a hang) and
against the state the lines before it left: definitions (``L = ...``, ``f(x) = ...``) and the last
expression, which a line starting with ``=`` continues.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from mltutor.tools.bounded import run_bounded
from mltutor.tools.errors import ParseError, ToolError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits
from mltutor.tools.steps import State, StepOutcome, check_line

Verdict = Literal["correct", "incorrect", "unverifiable"]


@dataclass
class StepReport:
    """The outcome of one line of the derivation."""

    line: int
    """Line number in the input, from 1."""
    text: str
    """The line as given."""
    status: Literal["ok", "wrong", "unverifiable", "unparsed"]
    """ok: holds; wrong: does not follow; unverifiable: could not be decided; unparsed: not read."""
    message: str
    """What was checked, or why it failed."""
    column: int | None = None
    """Column (from 1) of the part that failed or could not be parsed."""
    diagnosis: str | None = None
    """For a wrong step: the likely mistake (sign, constant factor, chain rule, term, exponent)."""
    expected: str | None = None
    """For a wrong step: what the step should have been, where it could be computed."""


@dataclass
class CheckReport:
    """The checker's answer for a whole derivation. Dataclasses, not pydantic models, so that
    ``mltutor check`` starts without importing pydantic (~0.3x of ``import sympy``)."""

    verdict: Verdict
    """correct: every step holds; incorrect: some step is wrong; unverifiable: none wrong, some undecided."""
    first_wrong_step: int | None
    """Line number of the first wrong step, or None."""
    steps: list[StepReport]
    """One entry per non-blank line."""

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of ``mltutor check --json``."""
        return asdict(self)


def _run_step(text: str, state: State, limits: ToolLimits) -> tuple[StepOutcome, State]:
    try:
        return check_line(text, state, limits)
    except ParseError as exc:
        return StepOutcome("unparsed", exc.reason, exc.column), state.after(None)
    except ToolError as exc:
        return StepOutcome("unverifiable", exc.message), state.after(None)
    except RecursionError:
        return StepOutcome("unverifiable", "expression is nested too deeply"), state.after(None)
    except Exception as exc:  # the checker never raises on any text
        return _internal(exc), state.after(None)


def _internal(exc: Exception) -> StepOutcome:
    return StepOutcome(
        "unverifiable",
        f"this line could not be checked (unexpected {type(exc).__name__}); it was skipped",
    )


def check_derivation(text: str, *, limits: ToolLimits = DEFAULT_LIMITS) -> CheckReport:
    """Check every line of ``text``; blank lines and lines that are only comments are skipped."""
    state = State()
    steps: list[StepReport] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith(("#", "//")):
            continue
        if len(raw) > limits.max_input_chars:
            steps.append(
                StepReport(
                    line=number,
                    text=raw[:200],
                    status="unverifiable",
                    message=f"line is longer than {limits.max_input_chars} chars",
                )
            )
            state = state.after(None)
            continue
        try:
            outcome, state = run_bounded(_run_step, raw, state, limits, timeout=limits.timeout_s)
        except ToolError as exc:  # the time bound (ToolTimeout) and the bound's own errors
            outcome, state = StepOutcome("unverifiable", exc.message), state.after(None)
        except Exception as exc:  # the checker never raises on any text
            outcome, state = _internal(exc), state.after(None)
        steps.append(
            StepReport(
                line=number,
                text=raw,
                status=outcome.status,
                message=outcome.message,
                column=outcome.column,
                diagnosis=outcome.diagnosis,
                expected=outcome.expected,
            )
        )
    wrong = [s.line for s in steps if s.status == "wrong"]
    if wrong:
        verdict: Verdict = "incorrect"
    elif steps and all(s.status == "ok" for s in steps):
        verdict = "correct"
    else:
        verdict = "unverifiable"
    return CheckReport(verdict=verdict, first_wrong_step=wrong[0] if wrong else None, steps=steps)


_MARK = {"ok": "✓", "wrong": "✗", "unverifiable": "?", "unparsed": "!"}


def format_report(report: CheckReport) -> str:
    """Terminal rendering: a mark per line, the first wrong step called out with its diagnosis."""
    lines = []
    for s in report.steps:
        lines.append(f"{_MARK[s.status]} {s.line:>3}  {s.text.strip()}")
        if s.status != "ok":
            detail = s.message if s.status != "unparsed" else f"column {s.column}: {s.message}"
            lines.append(f"        {s.status}: {detail}")
        if s.diagnosis:
            lines.append(f"        likely mistake: {s.diagnosis}")
        if s.expected and s.status == "wrong":
            lines.append(f"        expected: {s.expected}")
    summary = {
        "correct": "Every step holds.",
        "incorrect": f"First wrong step: line {report.first_wrong_step}.",
        "unverifiable": "No step is wrong, but some could not be verified.",
    }[report.verdict]
    lines.append("")
    lines.append(summary)
    return "\n".join(lines)
