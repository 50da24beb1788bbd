"""A tool call's inputs and full result as readable text (the Tools panel's details).

Results arrive as the tool's output model in JSON (``ToolResultEvent.result``); the UI never imports
the tools. They share a shape: math values are ``{text, latex, pretty}`` (``pretty`` is SymPy's
Unicode drawing, over several lines for a matrix or a fraction), the rest are numbers, strings,
lists and nested records (a Hessian's critical points, each with its own matrix, eigenvalues and
classification). So one walk renders every tool: labels beside values, drawings kept intact and
aligned on their middle row, nested records indented under a bullet.
"""

from __future__ import annotations

import json
from typing import Any

from rich.cells import cell_len
from rich.text import Text

_SKIP = frozenset({"latex"})
"""Keys never shown (the LaTeX source of a value also shown drawn)."""

_EMPHASIS = {
    "minimum": "bold green",
    "maximum": "bold cyan",
    "saddle": "bold yellow",
    "degenerate": "bold magenta",
    "not a critical point": "bold",
    "correct": "bold green",
    "incorrect": "bold red",
}
"""Verdict words shown in colour (a Hessian's classification, a derivation's verdict)."""


def is_math(value: Any) -> bool:
    """Whether ``value`` is a math output (``{text, latex, pretty}``)."""
    return isinstance(value, dict) and "text" in value and ("pretty" in value or "latex" in value)


def number(value: float) -> str:
    """A float with up to six significant digits (integers without a decimal point)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _label(key: str) -> str:
    return key.replace("_", " ")


def _scalar(value: Any) -> str | None:
    """One-line form of a simple value; None for values that need more room."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(float(value))
    if isinstance(value, str):
        return value if "\n" not in value else None
    if is_math(value):
        pretty = str(value.get("pretty") or value["text"])
        return pretty if "\n" not in pretty else None
    if isinstance(value, list) and all(_is_simple(v) for v in value):
        return ", ".join(_scalar(v) or "" for v in value)
    if (
        isinstance(value, dict)
        and value
        and all(_is_simple(v) for v in value.values())
        and all(isinstance(k, str) and len(k) <= 12 for k in value)
    ):  # a point: "(x, y) = (-1, 0)"
        keys, vals = list(value), [_scalar(v) or "" for v in value.values()]
        if len(keys) > 1:
            return f"({', '.join(keys)}) = ({', '.join(vals)})"
        return f"{keys[0]} = {vals[0]}"
    return None


def _is_simple(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, bool | int | float)
        or (isinstance(value, str) and "\n" not in value)
    )


def _value_lines(value: Any) -> list[str] | None:
    """A multi-line drawing of ``value`` (a matrix, a fraction), or None."""
    if is_math(value):
        pretty = str(value.get("pretty") or value["text"])
        return pretty.split("\n")
    if isinstance(value, str) and "\n" in value:
        return value.split("\n")
    return None


def _field(out: Text, indent: str, key: str, value: Any) -> None:
    label = f"{indent}{_label(key)}: "
    simple = _scalar(value)
    if simple is not None:
        out.append(label, style="dim")
        out.append(simple + "\n", style=_EMPHASIS.get(simple, ""))
        return
    drawing = _value_lines(value)
    if drawing is not None:  # the label beside the drawing's middle row
        middle, pad = (len(drawing) - 1) // 2, " " * cell_len(label)
        for i, line in enumerate(drawing):
            out.append(label if i == middle else pad, style="dim")
            out.append(line.rstrip() + "\n")
        return
    if isinstance(value, list):
        out.append(label.rstrip() + "\n", style="dim")
        for item in value:
            if isinstance(item, dict):
                _record(out, indent + "  ", item, bullet=True)
            else:
                out.append(f"{indent}  • {_scalar(item) or json.dumps(item, ensure_ascii=False)}\n")
        return
    if isinstance(value, dict):
        out.append(label.rstrip() + "\n", style="dim")
        _record(out, indent + "  ", value)
        return
    out.append(label, style="dim")
    out.append(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def _record(out: Text, indent: str, record: dict[str, Any], *, bullet: bool = False) -> None:
    keys = [k for k in record if k not in _SKIP and record[k] is not None]
    if "point" in keys and "point_numeric" in keys:
        keys.remove("point_numeric")  # the exact point is shown; the float copy adds nothing
    for i, key in enumerate(keys):
        prefix = indent + ("• " if i == 0 else "  ") if bullet else indent
        _field(out, prefix, key, record[key])


def tool_details(args: dict[str, Any], result: dict[str, Any] | None, *, ok: bool = True) -> Text:
    """The inputs, then the whole result (or the error), as indented text."""
    out = Text()
    if args:
        shown = ", ".join(f"{_label(k)} = {_scalar(v) or json.dumps(v)}" for k, v in args.items())
        out.append("inputs: ", style="dim")
        out.append(shown + "\n")
    if result is None:
        out.append("running…\n", style="yellow")
    elif not ok:
        out.append(str(result.get("error", result)) + "\n", style="red")
    else:  # fields that only repeat an input (a Hessian's variables) are left out
        _record(out, "", {k: v for k, v in result.items() if args.get(k) != v})
    out.rstrip()
    return out
