"""The tool registry: names, schemas and the one bounded, validated way to run a tool.

A tool is a module-level function ``fn(inp: SomeInput, limits: ToolLimits) -> SomeOutput``. Its name
is the function name, its description the first paragraph of its docstring, and its input/output
models come from its type hints, so the schema given to the LLM is generated, never hand-written.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError

from mltutor.tools import (
    algebra,
    calculus,
    estimation,
    gradcheck,
    hessian,
    measures,
    numeric,
    stats,
)
from mltutor.tools.bounded import run_bounded
from mltutor.tools.errors import LimitExceeded, ToolError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits

ToolFn = Callable[[Any, ToolLimits], BaseModel]

_TOOL_FUNCTIONS: tuple[ToolFn, ...] = (
    *calculus.TOOLS,
    *hessian.TOOLS,
    *algebra.TOOLS,
    *gradcheck.TOOLS,
    *numeric.TOOLS,
    *stats.TOOLS,
    *estimation.TOOLS,
    *measures.TOOLS,
)


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what the LLM and the CLI see, and the function that runs it."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: ToolFn

    @classmethod
    def from_function(cls, fn: ToolFn) -> ToolSpec:
        """Build the spec from the function's name, docstring and type hints."""
        hints = get_type_hints(fn)
        params = [p for p in inspect.signature(fn).parameters if p != "limits"]
        if len(params) != 1:
            raise TypeError(f"tool {fn.__name__} must take (inp, limits)")
        doc = inspect.getdoc(fn) or ""
        description = " ".join(doc.split("\n\n", 1)[0].split())
        if not description:
            raise TypeError(f"tool {fn.__name__} has no docstring")
        return cls(fn.__name__, description, hints[params[0]], hints["return"], fn)

    def input_schema(self) -> dict[str, Any]:
        """JSON schema of the arguments (from the pydantic input model)."""
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema


@cache
def _specs() -> dict[str, ToolSpec]:
    specs = [ToolSpec.from_function(fn) for fn in _TOOL_FUNCTIONS]
    return {s.name: s for s in specs}


def all_tools() -> list[ToolSpec]:
    """Every registered tool, in registry order."""
    return list(_specs().values())


def get_tool(name: str) -> ToolSpec:
    """The tool called ``name``; ToolError (with a suggestion) when there is none."""
    specs = _specs()
    if name in specs:
        return specs[name]
    close = difflib.get_close_matches(name, list(specs), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ToolError(f"unknown tool {name!r}{hint} (see `mltutor tool list`)")


def openai_tool_schema(spec: ToolSpec) -> dict[str, Any]:
    """The tool in OpenAI function-calling format."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.input_schema(),
        },
    }


def _describe_errors(tool: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        lines.append(f"{where}: {message}")
    return f"invalid arguments for {tool}: " + "; ".join(lines)


def check_sizes(value: Any, limits: ToolLimits, where: str = "arguments") -> None:
    """Refuse strings, lists and matrices larger than ``limits`` anywhere in the input."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            check_sizes(getattr(value, name), limits, name)
    elif isinstance(value, str):
        if len(value) > limits.max_input_chars:
            raise LimitExceeded(f"{where}: text is longer than {limits.max_input_chars} characters")
    elif isinstance(value, dict):
        if len(value) > limits.max_list_len:
            raise LimitExceeded(f"{where}: more than {limits.max_list_len} entries")
        for key, item in value.items():
            check_sizes(key, limits, where)
            check_sizes(item, limits, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        if value and all(isinstance(row, list | tuple) for row in value):
            cols = max(len(row) for row in value)
            if max(len(value), cols) > limits.max_matrix_size:
                raise LimitExceeded(
                    f"{where}: matrix is {len(value)}×{cols}, larger than the limit of "
                    f"{limits.max_matrix_size} per side"
                )
        elif len(value) > limits.max_list_len:
            raise LimitExceeded(f"{where}: list has {len(value)} items, over {limits.max_list_len}")
        for item in value:
            if isinstance(item, str | BaseModel | dict):
                check_sizes(item, limits, where)


def invoke(fn: ToolFn, inp: BaseModel, limits: ToolLimits) -> BaseModel:
    """Run one tool function, turning any failure into a ToolError (runs in the bounded context)."""
    try:
        return fn(inp, limits)
    except ToolError:
        raise
    except RecursionError:
        raise ToolError("the expression is nested too deeply to compute") from None
    except MemoryError:
        raise LimitExceeded("the computation needs too much memory") from None
    except Exception as exc:
        raise ToolError(f"{fn.__name__} failed: {type(exc).__name__}: {exc}"[:500]) from None


def run_tool(name: str, payload: dict[str, Any], limits: ToolLimits = DEFAULT_LIMITS) -> BaseModel:
    """Validate ``payload``, check its size, run the tool under the time bound, return its output.

    Every failure (unknown tool, invalid arguments, limits, timeout, bug) is a :class:`ToolError`.
    """
    spec = get_tool(name)
    if not isinstance(payload, dict):
        raise ToolError(f"arguments for {name} must be a JSON object")
    try:
        inp = spec.input_model.model_validate(payload)
    except ValidationError as exc:
        raise ToolError(_describe_errors(name, exc)) from None
    check_sizes(inp, limits)
    try:
        return run_bounded(invoke, spec.fn, inp, limits, timeout=limits.timeout_s)
    except ToolError:
        raise
    except Exception as exc:
        raise ToolError(f"{name} failed: {type(exc).__name__}: {exc}"[:500]) from None
