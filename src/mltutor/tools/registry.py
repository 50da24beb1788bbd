"""The tool registry: names, schemas and the one bounded, validated way to run a tool.

A tool is a module-level function ``fn(inp: SomeInput, limits: ToolLimits) -> SomeOutput``. Its name
is the function name, its description the first paragraph of its docstring, and its input/output
models come from its type hints, so the schema given to the LLM is generated, never hand-written.

The catalogue below names each tool's module, so running one tool imports only that module (the
NumPy tools never load SymPy or SciPy), and says where it runs: symbolic tools, whose cost no input
limit bounds, run in the bounded worker process (:func:`mltutor.tools.bounded.run_bounded`); closed
forms over size-limited NumPy arrays run in this process under a watchdog.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError

from mltutor.tools.bounded import run_bounded, run_watched
from mltutor.tools.errors import LimitExceeded, ToolError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits

ToolFn = Callable[[Any, ToolLimits], BaseModel]

ISOLATED, IN_PROCESS = True, False

CATALOGUE: dict[str, tuple[str, bool]] = {
    "differentiate": ("calculus", ISOLATED),
    "gradient": ("calculus", ISOLATED),
    "jacobian": ("calculus", ISOLATED),
    "integrate": ("calculus", ISOLATED),
    "limit": ("calculus", ISOLATED),
    "taylor": ("calculus", ISOLATED),
    "hessian": ("hessian", ISOLATED),
    "simplify": ("algebra", ISOLATED),
    "equivalent": ("algebra", ISOLATED),
    "solve": ("algebra", ISOLATED),
    "lagrange": ("algebra", ISOLATED),
    "evaluate": ("algebra", ISOLATED),
    "gradient_check": ("gradcheck", ISOLATED),
    "matrix_gradient_check": ("gradcheck", ISOLATED),
    "matrix_info": ("numeric", IN_PROCESS),
    "softmax": ("numeric", IN_PROCESS),
    "logsumexp": ("numeric", IN_PROCESS),
    "z_test": ("stats", IN_PROCESS),
    "t_test": ("stats", IN_PROCESS),
    "multiple_testing": ("multitest", IN_PROCESS),
    "confidence_interval": ("estimation", IN_PROCESS),
    "bootstrap_ci": ("estimation", ISOLATED),
    "ab_sample_size": ("abtest", IN_PROCESS),
    "power_means": ("power", IN_PROCESS),
    "fwer": ("measures", IN_PROCESS),
    "vif": ("measures", IN_PROCESS),
    "distribution_measures": ("measures", IN_PROCESS),
    "jl_dimension": ("measures", IN_PROCESS),
    "chinchilla": ("measures", IN_PROCESS),
}
"""Every tool: its module under ``mltutor.tools`` and whether it runs in the worker process."""


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what the LLM and the CLI see, and the function that runs it."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: ToolFn
    isolated: bool = True

    @classmethod
    def from_function(cls, fn: ToolFn, isolated: bool = True) -> ToolSpec:
        """Build the spec from the function's name, docstring and type hints."""
        hints = get_type_hints(fn)
        params = [p for p in inspect.signature(fn).parameters if p != "limits"]
        if len(params) != 1:
            raise TypeError(f"tool {fn.__name__} must take (inp, limits)")
        doc = inspect.getdoc(fn) or ""
        description = " ".join(doc.split("\n\n", 1)[0].split())
        if not description:
            raise TypeError(f"tool {fn.__name__} has no docstring")
        return cls(fn.__name__, description, hints[params[0]], hints["return"], fn, isolated)

    def input_schema(self) -> dict[str, Any]:
        """JSON schema of the arguments (from the pydantic input model)."""
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema


@cache
def _spec(name: str) -> ToolSpec:
    module, isolated = CATALOGUE[name]
    fn = getattr(importlib.import_module(f"mltutor.tools.{module}"), name)
    return ToolSpec.from_function(fn, isolated)


def all_tools() -> list[ToolSpec]:
    """Every registered tool, in catalogue order (imports every tool module)."""
    return [_spec(name) for name in CATALOGUE]


def get_tool(name: str) -> ToolSpec:
    """The tool called ``name``; ToolError (with a suggestion) when there is none."""
    if name in CATALOGUE:
        return _spec(name)
    close = difflib.get_close_matches(name, list(CATALOGUE), n=1)
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
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        lines.append(f"{where}: {message}")
    return f"invalid arguments for {tool}: " + "; ".join(dict.fromkeys(lines))


MAX_ARGUMENT_INT_BITS = 1000
"""Largest integer (about 300 digits) accepted anywhere in tool arguments."""


def check_numbers(value: Any, where: str = "arguments") -> None:
    """Refuse NaN, infinities and integers over ~300 digits anywhere in raw arguments."""
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        kind = "NaN is not a number" if math.isnan(value) else "infinity is not a finite number"
        raise ToolError(f'{where}: {kind}; give a finite number (write infinity as the text "oo")')
    if isinstance(value, int) and value.bit_length() > MAX_ARGUMENT_INT_BITS:
        raise LimitExceeded(f"{where}: the integer has over 300 digits; use a smaller number")
    if isinstance(value, dict):
        for key, item in value.items():
            check_numbers(item, f"{where}.{key}" if where != "arguments" else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_numbers(item, f"{where}.{i}")


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


def _non_finite(value: Any, where: str) -> str | None:
    """The path of the first NaN or infinite float in a tool's output, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found = _non_finite(getattr(value, name), name if where == "" else f"{where}.{name}")
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _non_finite(item, f"{where}.{i}")
            if found:
                return found
    return None


_PLAIN_MESSAGES: dict[type[BaseException], str] = {
    OverflowError: "a number became too large for floating point (over 1.8e308); "
    "use smaller inputs",
    ZeroDivisionError: "the computation divides by zero (an input is 0 or too close to 0); "
    "check the inputs",
    FloatingPointError: "the computation is numerically undefined for these inputs",
}


def plain_error(tool: str, exc: BaseException) -> ToolError:
    """A ToolError a user can act on for an unexpected Python error inside a tool."""
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return LimitExceeded(f"{tool}: a number in the computation has too many digits to handle")
    for kind, message in _PLAIN_MESSAGES.items():
        if isinstance(exc, kind):
            return ToolError(f"{tool}: {message}")
    detail = str(exc).strip() or "no detail"
    return ToolError(f"{tool} could not compute this ({detail[:300]}); check the arguments")


def invoke(fn: ToolFn, inp: BaseModel, limits: ToolLimits) -> BaseModel:
    """Run one tool function, turning any failure into a ToolError (runs in the bounded context).

    The output never holds NaN or infinity: a non-finite number is reported as an error.
    """
    numpy = sys.modules.get("numpy")  # overflow becomes inf/NaN, reported below, not a warning
    quiet = numpy.errstate(all="ignore") if numpy is not None else contextlib.nullcontext()
    try:
        with quiet:
            out = fn(inp, limits)
    except ToolError:
        raise
    except RecursionError:
        raise ToolError("the expression is nested too deeply to compute") from None
    except MemoryError:
        raise LimitExceeded(
            f"the computation needs more memory than its bound ({limits.max_memory_mb} MB); "
            "simplify the input or use smaller numbers"
        ) from None
    except Exception as exc:
        raise plain_error(fn.__name__, exc) from None
    bad = _non_finite(out, "")
    if bad:
        raise ToolError(
            f"{fn.__name__}: the result {bad} is not a finite number (it overflows or is "
            "undefined for these inputs); use less extreme values"
        )
    return out


def run_tool(name: str, payload: dict[str, Any], limits: ToolLimits = DEFAULT_LIMITS) -> BaseModel:
    """Validate ``payload``, check its size, run the tool under the time bound, return its output.

    Every failure (unknown tool, invalid arguments, limits, timeout, bug) is a :class:`ToolError`.
    """
    spec = get_tool(name)
    if not isinstance(payload, dict):
        raise ToolError(f"arguments for {name} must be a JSON object")
    try:
        check_numbers(payload)
        inp = spec.input_model.model_validate(payload)
    except ValidationError as exc:
        raise ToolError(_describe_errors(name, exc)) from None
    except RecursionError:
        raise ToolError(f"arguments for {name} are nested too deeply") from None
    check_sizes(inp, limits)
    run = run_bounded if spec.isolated else run_watched
    try:
        return run(invoke, spec.fn, inp, limits, timeout=limits.timeout_s)
    except ToolError:
        raise
    except Exception as exc:
        raise plain_error(name, exc) from None


def parse_arguments(text: str, max_chars: int = 200_000) -> dict[str, Any]:
    """Tool arguments from JSON text, safely: bounded size, no NaN/Infinity, no huge integers.

    Python's ``json`` accepts ``NaN`` and raises a bare ``ValueError`` for integers past 4300 digits;
    here both are a :class:`ToolError` that says what to write instead.
    """
    import json

    if len(text) > max_chars:
        raise LimitExceeded(f"the arguments are longer than {max_chars} characters")

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > 300:
            raise LimitExceeded(
                "an integer in the arguments has over 300 digits; use a smaller one"
            )
        return int(digits)

    def no_constant(name: str) -> float:
        raise ToolError(
            f'{name} is not a valid number in the arguments (write infinity as the text "oo")'
        )

    def finite_float(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):
            raise LimitExceeded(f"the number {literal[:40]} is too large for floating point")
        return number

    try:
        value = json.loads(
            text, parse_int=bounded_int, parse_float=finite_float, parse_constant=no_constant
        )
    except json.JSONDecodeError as exc:
        raise ToolError(f"arguments are not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ToolError("the arguments are nested too deeply") from None
    if not isinstance(value, dict):
        raise ToolError('arguments must be a JSON object, e.g. {"expr": "x^2"}')
    return value
