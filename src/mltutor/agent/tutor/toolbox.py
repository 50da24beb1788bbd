"""The tools as the agent sees them: schemas for the model and a runner that never raises."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from mltutor.agent.tutor.records import ToolRecord
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits


def summarize(name: str, args: dict[str, Any], result: dict[str, Any]) -> str:
    """One display line for a tool result."""
    if "error" in result:
        return f"{name} failed: {result['error']}"
    if name == "check_derivation":
        first = result.get("first_wrong_step")
        return f"derivation {result.get('verdict')}" + (
            f", first wrong step: line {first}" if first else ""
        )
    for key in ("derivative", "result", "gradient", "value", "limit", "series", "simplified"):
        value = result.get(key)
        if isinstance(value, dict) and "text" in value:
            return f"{name}: {value['text'].replace('**', '^')}"
    scalars = [
        f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}"
        for k, v in result.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return f"{name}: " + ", ".join(scalars[:4]) if scalars else name


def result_line(name: str, args: dict[str, Any], result: dict[str, Any]) -> str | None:
    """The computed result as one LaTeX display line (``$$ d/dx (f) = f' $$``), or None.

    Answers to tool-routed questions start with this line, so the stated result is the computed
    one whatever the model writes after it.
    """
    if "error" in result:
        return None
    try:
        import sympy as sp

        from mltutor.tools.errors import ToolError
        from mltutor.tools.parsing import parse_math, parse_symbol

        f = parse_math(str(args["expr"]))
        lhs = sp.latex(f)
        if name == "differentiate":
            wrt = [parse_symbol(v) for v in args.get("wrt") or []] or sorted(
                f.free_symbols, key=str
            )
            if len(wrt) != 1:
                return None
            order = int(args.get("order", 1))
            d = "d" if len(f.free_symbols) <= 1 else "\\partial"
            num = d if order == 1 else f"{d}^{{{order}}}"
            den = f"{d} {sp.latex(wrt[0])}" + ("" if order == 1 else f"^{{{order}}}")
            return (
                f"$$\\frac{{{num}}}{{{den}}} \\left({lhs}\\right) = "
                f"{result['derivative']['latex']}$$"
            )
        if name == "integrate":
            var = (
                sp.latex(parse_symbol(args["variable"]))
                if args.get("variable")
                else sp.latex(sorted(f.free_symbols, key=str)[0])
                if f.free_symbols
                else "x"
            )
            if args.get("lower") is not None:
                lo = sp.latex(parse_math(str(args["lower"])))
                hi = sp.latex(parse_math(str(args["upper"])))
                return f"$$\\int_{{{lo}}}^{{{hi}}} {lhs} \\, d{var} = {result['result']['latex']}$$"
            return f"$$\\int {lhs} \\, d{var} = {result['result']['latex']} + C$$"
    except (ToolError, KeyError, IndexError, TypeError, ValueError):
        return None
    return None


class ToolBox:
    """Runs the typed tools (and the derivation checker) under the configured bounds."""

    def __init__(self, limits: ToolLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def names(self) -> list[str]:
        from mltutor.tools.registry import all_tools

        return [t.name for t in all_tools()]

    def schemas(self, names: list[str]) -> list[dict[str, Any]]:
        """OpenAI tool schemas, generated from the pydantic input models."""
        from mltutor.tools.bounded import prestart
        from mltutor.tools.registry import get_tool, openai_tool_schema

        prestart(background=True)  # the tools' worker starts while the model writes its call
        return [openai_tool_schema(get_tool(n)) for n in names]

    def run(
        self, name: str, args: dict[str, Any], origin: Literal["router", "model"] = "router"
    ) -> ToolRecord:
        """Run a tool; failures come back as ``ok=False`` with the error text, never raise."""
        from mltutor.tools.errors import ToolError

        try:
            if name == "check_derivation":
                from mltutor.tools.checker import check_derivation

                text = str(args.get("text", ""))
                result = check_derivation(text, limits=self.limits).to_json()
            else:
                from mltutor.tools.registry import run_tool

                result = run_tool(name, args, limits=self.limits).model_dump(mode="json")
            ok = True
        except ToolError as exc:
            result, ok = {"error": exc.message}, False
        except Exception as exc:  # a tool bug must not fail the whole answer
            result, ok = {"error": f"the tool failed unexpectedly ({type(exc).__name__})"}, False
        return ToolRecord(
            name=name,
            args=args,
            ok=ok,
            result=result,
            summary=summarize(name, args, result),
            origin=origin,
            result_line=result_line(name, args, result) if ok and origin == "router" else None,
            inputs=describe_inputs(args),
        )


_NUMBER_RE = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?)\s*([kKmMbBtT]|тыс|млн|млрд)?\b"
)
_SCALE = {"k": 1e3, "тыс": 1e3, "m": 1e6, "млн": 1e6, "b": 1e9, "млрд": 1e9, "t": 1e12}
_WORD_SCALE_RE = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(thousand|million|billion|trillion|тысяч\w*|миллион\w*|миллиард\w*)",
    re.IGNORECASE,
)
_WORD_SCALES = {
    "thousand": 1e3,
    "тысяч": 1e3,
    "million": 1e6,
    "миллион": 1e6,
    "billion": 1e9,
    "миллиард": 1e9,
    "trillion": 1e12,
}


def numbers_in(text: str) -> list[float]:
    """Numbers a person wrote, with their scale words applied ("7B" = 7e9, "3 млн" = 3e6)."""
    out: list[float] = []
    for m in _NUMBER_RE.finditer(text):
        try:
            value = float(m.group(1).replace(",", "."))
        except ValueError:
            continue
        suffix = (m.group(2) or "").lower()
        out.append(value)
        if suffix:
            out.append(value * _SCALE.get(suffix, 1.0))
    for m in _WORD_SCALE_RE.finditer(text):
        word = m.group(2).lower()
        scale = next((v for k, v in _WORD_SCALES.items() if word.startswith(k)), 1.0)
        out.append(float(m.group(1).replace(",", ".")) * scale)
    return out


def _arg_numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, str):
        return numbers_in(value)
    if isinstance(value, dict):
        return [n for v in value.values() for n in _arg_numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _arg_numbers(v)]
    return []


_DEFAULTS = {0.0, 1.0, 2.0, 0.05, 0.8, 0.95, 0.5, 0.2, 0.1}
"""Conventional values a tool call may use without the question saying them (alpha, power...)."""


def grounded(args: dict[str, Any], question: str) -> bool:
    """Whether every number in a model-chosen call appears in the question (or is a convention).

    A 1.5B model asked about "a 7B model" once called the scaling-law tool with a compute budget it
    made up; its result must not be presented as the answer.
    """
    asked = numbers_in(question)
    for n in _arg_numbers(args):
        if n in _DEFAULTS or not math.isfinite(n):
            continue
        if not any(math.isclose(n, a, rel_tol=1e-6, abs_tol=1e-12) for a in asked):
            return False
    return True


def describe_inputs(args: dict[str, Any]) -> str:
    """The inputs of a call in one short line, shown next to its result."""
    parts = []
    for key, value in args.items():
        shown = value if isinstance(value, str) else repr(value)
        parts.append(f"{key} = {str(shown)[:60]}")
    return ", ".join(parts)[:200]
