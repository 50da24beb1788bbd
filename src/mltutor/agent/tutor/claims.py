"""Self-verification: find the mathematical claims in a draft and check them with our tools.

A claim is an equality in a math span (``$...$``, ``$$...$$``, ``\\(...\\)``, backticks, or a line that
is mostly math). Each is run through the derivation checker as a one-line derivation. Results a tool
computed for this question must also appear in the answer (an equivalent expression or number).

A derivative stated in words ("the derivative of $A$ is $B$") is the claim ``d/dx(A) = B`` (see
:mod:`~mltutor.agent.tutor.derivative_claims`).

A claim is failed only when it is shown wrong: a derivative, integral, limit or sum the checker
refutes, arithmetic with numbers only, an equation that holds for no value (``x + 1 = x``), or an
identity between expressions in the same variables that fails (``(a+b)^2 = a^2 + b^2``). An equation
that holds for some values is a condition or an equation to solve (``x + y = 1``, ``x^2 = 4``,
``f(x) = x^2 = 4``, ``3x = x + 4``): unverifiable, never removed; the rest of its chain is still
checked (``2x = 6 = 2*2`` fails on ``6 = 2*2``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mltutor.agent.tutor.derivative_claims import derivative_claims
from mltutor.agent.tutor.records import ToolRecord, VerificationRecord
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits
from mltutor.tools.parsing.vocabulary import math_words_re

if TYPE_CHECKING:
    from mltutor.tools.checker import StepReport

_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|`([^`\n]+)`", re.DOTALL)
_PROSE_RE = re.compile(r"[A-Za-z]{4,}|[А-Яа-яЁё]{3,}")
_MATH_WORDS_RE = math_words_re()
_MAX_CLAIMS = 12


_ARITHMETIC_RE = re.compile(
    r"(?<![\w.])(\(?-?\d[\d.,]*(?:[eE][+-]?\d+)?(?:\s*[-+*/×·^]\s*\(?-?\d[\d.]*(?:[eE][+-]?\d+)?\)?)+)"
    r"\s*(=|≈|\\approx)\s*(-?\d[\d.]*(?:[eE][+-]?\d+)?)(?![\w.]*\d)"
)
"""Arithmetic written in a sentence ("1.4e11/6.93e10 ≈ 20.0"): checked like any other claim."""


def _is_equation(s: str) -> bool:
    return "=" in s or "≈" in s or "\\approx" in s


def math_spans(text: str) -> list[str]:
    """Math fragments of a Markdown answer: delimited spans, bare lines that are mostly math, and
    arithmetic inside sentences."""
    spans = [next(g for g in m.groups() if g) for m in _SPAN_RE.finditer(text)]
    rest = _SPAN_RE.sub(" ", text)
    for line in rest.splitlines():
        candidate = line.strip().strip("-*•>").strip()
        if _is_equation(candidate) and not _PROSE_RE.search(_MATH_WORDS_RE.sub("", candidate)):
            spans.append(candidate)
        else:
            spans += [
                f"{m.group(1)} {m.group(2)} {m.group(3)}".replace("×", "*").replace("·", "*")
                for m in _ARITHMETIC_RE.finditer(candidate)
            ]
    return [s.strip() for s in spans if s.strip()]


def _clean_claim(span: str) -> str:
    span = re.sub(r"\\text\{[^}]*\}|\\quad|\\qquad|&", " ", span)
    span = span.replace("\\\\", " ").strip().rstrip(".,;:")
    return span


def claim_spans(text: str) -> list[tuple[str, str]]:
    """(span as written, cleaned claim) for equalities worth checking, at most a dozen."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for span in math_spans(text):
        claim = _clean_claim(span)
        if _is_equation(claim) and "==" not in claim and len(claim) <= 240 and claim not in seen:
            seen.add(claim)
            out.append((span, claim))
    return out[:_MAX_CLAIMS]


def claims(text: str) -> list[str]:
    """Equalities worth checking, in order of appearance, at most a dozen."""
    return [claim for _, claim in claim_spans(text)]


def _parts(span: str, limits: ToolLimits) -> list[Any]:
    from mltutor.tools.parsing import parse_chain

    try:
        return [p.expr for p in parse_chain(_clean_claim(span), limits=limits)]
    except (ToolError, RecursionError):
        return []


def _expected_math(name: str, result: dict[str, Any]) -> str | None:
    for key in ("derivative", "result", "gradient", "series", "simplified"):
        value = result.get(key)
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            return str(value["text"])
    return None


def _number_stated(value: float, text: str) -> bool:
    for m in re.finditer(r"-?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?", text):
        try:
            shown = float(m.group(0).replace(",", "."))
        except ValueError:
            continue
        digits = len(m.group(0).split(".")[1]) if "." in m.group(0) else 0
        if abs(shown - value) <= max(0.5 * 10**-digits, 1e-9 * abs(value)) * 1.01:
            return True
    return False


def _stated(expected: str, text: str, limits: ToolLimits) -> bool:
    """Whether an expression equivalent to ``expected`` appears in the answer."""
    from mltutor.tools.equivalence import compare
    from mltutor.tools.parsing import parse_math

    try:
        target = parse_math(expected, limits=limits)
    except ToolError:
        return True  # cannot judge; do not punish
    for span in math_spans(text):
        for part in _parts(span, limits):
            try:
                if compare(part, target, deep=False).equal:
                    return True
            except (TypeError, ValueError, ArithmeticError, RecursionError):
                continue
    return False


_OPERATORS = ("Derivative", "Integral", "Limit", "Sum", "Product")


def _nonzero_constant(diff: Any, names: list[Any]) -> bool:
    """Whether ``diff`` takes one nonzero value at several random points (in double precision:
    cheap on any input, so no worker process is needed)."""
    import random

    from mltutor.tools.floateval import float_at

    rng = random.Random(7)
    values = []
    for _ in range(5):
        try:
            value = float_at(diff, {n: rng.uniform(0.3, 3.0) for n in names})
        except (NotImplementedError, ArithmeticError, ValueError, TypeError):
            return False
        if value is None:
            return False
        values.append(value)
    first = values[0]
    return abs(first) > 1e-9 and all(abs(v - first) <= 1e-9 * abs(first) for v in values)


def _shown_false(a: Any, b: Any) -> bool:
    """Whether ``a = b``, which the checker found not to hold in general, is false as written
    rather than a condition on its variables (an equation to solve, a constraint)."""
    import sympy as sp

    if any(e.has(*(getattr(sp, name) for name in _OPERATORS)) for e in (a, b)):
        return True  # d/dx, ∫, lim, Σ: a claim about the operator's result
    names_a, names_b = a.free_symbols, b.free_symbols
    if not names_a | names_b:
        return True  # numbers only: arithmetic
    if _nonzero_constant(a - b, sorted(names_a | names_b, key=str)):
        return True  # holds for no value at all (x + 1 = x, e^x e^{-x} = 2)
    if names_a != names_b or a.is_number or b.is_number:
        return False  # = a number, or a relation between different variables: a condition
    if len(names_a) >= 2:
        return True  # (a+b)^2 = a^2 + b^2: an identity claim in several variables
    # one variable on both sides: a polynomial equation is one to solve (3x = x + 4), a claim
    # with functions (log(x^2) = log(x)^2, sqrt(x^2) = x) is an identity claim
    return not (a.is_polynomial(*names_a) and b.is_polynomial(*names_a))


def _standing_failure(claim: str, step: StepReport, limits: ToolLimits) -> StepReport | None:
    """The checker's "wrong" on ``claim`` if it shows a false statement (or the failure found
    further along its chain), else None: anything it cannot read or decide is not wrong. Only
    reads the parsed parts (the parser's size limits hold) and evaluates in double precision; the
    rest of a chain goes through the checker, under its own bound."""
    from mltutor.tools.checker import check_derivation
    from mltutor.tools.matrix_lines import MatrixState, is_matrix_line
    from mltutor.tools.parsing import parse_chain
    from mltutor.tools.steps import clean

    line = clean(claim)
    if is_matrix_line(line, MatrixState(), True):
        return step  # the matrix checker reports properties and equations as unverifiable itself
    try:
        parts = parse_chain(line, limits=limits)
    except (ToolError, RecursionError):
        return None
    at = next((i for i, p in enumerate(parts) if i and p.col == step.column), None)
    if at is None:
        return None
    if _shown_false(parts[at - 1].expr, parts[at].expr):
        return step
    if at + 1 >= len(parts):
        return None
    # a condition (2x = 6); what follows it is still checked (6 = 2*2)
    rest = parts[at].text + "".join(f" {p.relation} {p.text}" for p in parts[at + 1 :])
    report = check_derivation(rest, limits=limits)
    if not report.steps or report.steps[0].status != "wrong":
        return None
    return _standing_failure(rest, report.steps[0], limits)


def _failure(claim: str, step: StepReport, limits: ToolLimits) -> StepReport | None:
    try:
        return _standing_failure(claim, step, limits)
    except Exception:  # a bug here: undecided, so not wrong
        return None


def verify(
    text: str, tool_calls: list[ToolRecord], limits: ToolLimits = DEFAULT_LIMITS
) -> VerificationRecord:
    """Check every claim in ``text`` and that tool results are stated. Never raises."""
    from mltutor.tools.checker import check_derivation

    result = VerificationRecord()
    stated = derivative_claims(text, tool_calls)  # "the derivative of $A$ is $B$"
    for span, claim in [*claim_spans(text), *stated]:
        try:
            report = check_derivation(claim, limits=limits)
        except Exception:  # the checker promises not to raise; a bug there must not fail the answer
            result.unverifiable += 1
            continue
        if not report.steps:
            continue
        step = report.steps[0]
        if step.status == "ok" and step.message.startswith("verified"):
            result.claims_checked += 1
            result.verified.append(claim)
        elif step.status in ("unverifiable", "unparsed"):
            result.unverifiable += 1  # never counted as wrong: we could not read or decide it
        elif step.status == "wrong":
            shown = _failure(claim, step, limits)
            if shown is None:  # a condition or an equation to solve, not a false statement
                result.unverifiable += 1
                continue
            step = shown
            result.claims_checked += 1
            result.claims_failed += 1
            # no internal sample points here: this text goes back to the model and the user
            why = f" ({step.diagnosis})" if step.diagnosis else ""
            fix = f"; the correct value is {step.expected}" if step.expected else ""
            result.failures.append(f"`{claim}` is wrong{why}{fix}")
            result.failed_spans.append(span)
    for call in tool_calls:
        if not call.ok or not call.grounded:
            continue
        name, res = call.name, call.result
        if name == "check_derivation":
            first = res.get("first_wrong_step")
            result.tool_results_expected += 1
            if first is None or re.search(
                rf"(?:line|step|строк\w*|шаг\w*)\s*{first}\b", text, re.I
            ):
                result.tool_results_stated += 1
            else:
                result.claims_failed += 1
                result.failures.append(
                    f"the answer must say that line {first} is the first wrong step"
                )
            continue
        expected = _expected_math(name, res)
        if expected is not None:
            result.tool_results_expected += 1
            if _stated(expected, text, limits):
                result.tool_results_stated += 1
                result.claims_checked += 1
                result.verified.append(f"{name} result {expected.replace('**', '^')}")
            else:
                result.claims_checked += 1
                result.claims_failed += 1
                result.failures.append(
                    f"the answer does not state the computed {name} result "
                    f"{expected.replace('**', '^')}"
                )
            continue
        numbers = [v for k, v in res.items() if isinstance(v, float) and k not in {"alpha"}]
        if numbers:
            result.tool_results_expected += 1
            if any(_number_stated(v, text) for v in numbers[:3]):
                result.tool_results_stated += 1
    return result
