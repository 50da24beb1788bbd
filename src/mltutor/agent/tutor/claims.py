"""Self-verification: find the mathematical claims in a draft and check them with our tools.

A claim is an equality in a math span (``$...$``, ``$$...$$``, ``\\(...\\)``, backticks, or a line that
is mostly math). Each is run through the derivation checker as a one-line derivation. Results a tool
computed for this question must also appear in the answer (an equivalent expression or number).
"""

from __future__ import annotations

import re
from typing import Any

from mltutor.agent.tutor.records import ToolRecord, VerificationRecord
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits
from mltutor.tools.parsing.vocabulary import math_words_re

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


def verify(
    text: str, tool_calls: list[ToolRecord], limits: ToolLimits = DEFAULT_LIMITS
) -> VerificationRecord:
    """Check every claim in ``text`` and that tool results are stated. Never raises."""
    from mltutor.tools.checker import check_derivation

    result = VerificationRecord()
    for span, claim in claim_spans(text):
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
