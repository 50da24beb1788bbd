"""The tools as the agent sees them: schemas for the model and a runner that never raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits


@dataclass
class ToolOutcome:
    """Result of one tool call, ready for events and the trace."""

    name: str
    args: dict[str, Any]
    ok: bool
    result: dict[str, Any]
    summary: str = ""
    origin: str = "router"
    extra: dict[str, Any] = field(default_factory=dict)


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
        from mltutor.tools.registry import get_tool, openai_tool_schema

        return [openai_tool_schema(get_tool(n)) for n in names]

    def run(self, name: str, args: dict[str, Any], origin: str = "router") -> ToolOutcome:
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
        return ToolOutcome(name, args, ok, result, summarize(name, args, result), origin)
