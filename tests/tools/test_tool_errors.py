"""Every registered tool under hostile arguments: a result or a ToolError, nothing else.

A result is plain JSON (no NaN or Infinity); an error message names no Python exception (a user
cannot act on "OverflowError: math range error"). Hostile values are put into a valid call one field
at a time, so they reach the computation instead of stopping at validation.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.registry import CATALOGUE, get_tool, parse_arguments, run_tool
from tests.tools.test_registry import EXAMPLES

LIMITS = ToolLimits(timeout_s=2.0)

FLOATS = [
    0.0,
    -0.0,
    5e-324,
    1e-320,
    -1e-300,
    1e-16,
    0.5,
    1 - 1e-16,
    1.0,
    -1.0,
    1e16,
    1e300,
    -1e300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
]
INTS = [0, 1, -1, 2, 10**9, 2**63, -(2**63), 10**18, 10**400, 10**5000]
STRINGS = [
    "",
    " ",
    "x",
    "oo",
    "-oo",
    "nan",
    "zoo",
    "1/0",
    "0/0",
    "x^(10^6)",
    "10^4400",
    "(x+1)^(10^6)",
    "factorial(10^5)",
    "\\frac{1}{0}",
    "e^(e^(e^(e^x)))",
    "sin(" * 40 + "x" + ")" * 40,
    "x" * 3000,
    "𝑥 + λ",
    "__import__('os').system('true')",
]
ODD: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    None,
    True,
    [],
    {},
    [[]],
    ["a", 1],
    {"x": 1},
]

numbers = st.sampled_from(FLOATS + INTS)
anything = st.one_of(
    numbers,
    st.sampled_from(STRINGS),
    st.sampled_from(ODD),
    st.lists(st.sampled_from(FLOATS), min_size=1, max_size=4),
    st.lists(st.lists(st.sampled_from(FLOATS), min_size=2, max_size=2), min_size=2, max_size=2),
    st.dictionaries(st.sampled_from(["x", "y", "w"]), st.sampled_from(FLOATS + STRINGS[:6])),
)


def values_like(current: Any) -> st.SearchStrategy[Any]:
    """Mostly hostile values of the same kind as ``current`` (so they pass validation and reach
    the computation), sometimes anything at all."""
    if isinstance(current, bool):
        like: st.SearchStrategy[Any] = st.sampled_from(ODD)
    elif isinstance(current, int | float):
        like = numbers
    elif isinstance(current, str):
        like = st.sampled_from(STRINGS)
    elif isinstance(current, list) and current and isinstance(current[0], list):
        like = st.lists(
            st.lists(st.sampled_from(FLOATS), min_size=2, max_size=2), min_size=2, max_size=2
        )
    elif isinstance(current, list):
        like = st.lists(numbers, min_size=1, max_size=5)
    else:
        return anything
    return st.one_of(like, like, like, anything)


RAW_EXCEPTION = re.compile(r"\b(?!Tool)[A-Z][A-Za-z]*(Error|Exception|Warning)\b|Traceback")


def _current(example: dict[str, Any], defaults: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The value at ``path`` in the example (or the field's default)."""
    value: Any = example if path[0] in example else defaults
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _paths(example: dict[str, Any], fields: list[str]) -> list[tuple[Any, ...]]:
    """Places to put a hostile value: every input field, and the first item of lists and dicts."""
    paths: list[tuple[Any, ...]] = [(f,) for f in fields]
    for key, value in example.items():
        if isinstance(value, list) and value:
            paths.append((key, 0))
            if isinstance(value[0], list) and value[0]:
                paths.append((key, 0, 0))
        elif isinstance(value, dict) and value:
            paths.append((key, next(iter(value))))
    return paths


def _with(example: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(example)
    target: Any = payload
    for step in path[:-1]:
        if not isinstance(target, dict | list) or (isinstance(target, dict) and step not in target):
            return payload  # an earlier replacement removed this place
        if isinstance(target, list) and not (isinstance(step, int) and step < len(target)):
            return payload
        target = target[step]
    if isinstance(target, dict) or (isinstance(target, list) and path[-1] < len(target)):
        target[path[-1]] = value
    return payload


def assert_result_or_tool_error(name: str, payload: dict[str, Any]) -> None:
    try:
        out = run_tool(name, payload, limits=LIMITS)
    except ToolError as exc:
        assert exc.message.strip(), "an error without a message"
        assert not RAW_EXCEPTION.search(exc.message), exc.message
        return
    json.dumps(out.model_dump(mode="json"), allow_nan=False)  # finite JSON only


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_tool_survives_hostile_arguments(name: str) -> None:
    spec = get_tool(name)
    example = EXAMPLES[name]
    defaults = {k: f.default for k, f in spec.input_model.model_fields.items()}
    paths = _paths(example, list(defaults))
    change = st.sampled_from(paths).flatmap(
        lambda p: st.tuples(st.just(p), values_like(_current(example, defaults, p)))
    )

    @settings(
        max_examples=30 if spec.isolated else 80,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(change, min_size=1, max_size=2))
    def check(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
        payload = example
        for path, value in changes:
            payload = _with(payload, path, value)
        assert_result_or_tool_error(name, payload)

    check()


# -- the cases reported in issue 15 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "payload", "says"),
    [
        ("softmax", {"logits": [1, 2], "temperature": 1e-320}, "temperature .* is too small"),
        ("ab_sample_size", {"baseline_rate": 0.5, "minimum_detectable_effect": 1e-300}, "small"),
        ("jl_dimension", {"n_points": 10, "epsilon": 1e-320}, "epsilon .* is too small"),
        ("evaluate", {"expr": "10^4400"}, "too many digits"),
        ("evaluate", {"expr": "x", "values": {"x": float("nan")}}, "NaN is not a number"),
        ("evaluate", {"expr": "x", "values": {"x": float("inf")}}, "infinity"),
        ("fwer", {"m": 10**5000}, "over 300 digits"),
        ("z_test", {"sample_mean": 1e308, "sigma": 1e-300, "n": 1}, "not a finite number"),
    ],
)
def test_reported_crashes_are_clear_errors(name: str, payload: dict[str, Any], says: str) -> None:
    with pytest.raises(ToolError, match=says) as info:
        run_tool(name, payload, limits=LIMITS)
    assert not RAW_EXCEPTION.search(info.value.message)


def test_deeply_nested_arguments_are_a_tool_error() -> None:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ToolError, match="nested too deeply"):
        run_tool("softmax", {"logits": nested})


def test_nan_is_not_called_infinity() -> None:
    with pytest.raises(ToolError) as info:
        run_tool("differentiate", {"expr": "x^2", "at": {"x": math.nan}})
    assert "NaN" in info.value.message and "oo" not in info.value.message.split("(")[0]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"m": ' + "9" * 5000 + "}", "over 300 digits"),
        ('{"logits": [NaN]}', "NaN is not a valid number"),
        ('{"logits": [Infinity]}', "Infinity is not a valid number"),
        ('{"logits": [1e999]}', "too large for floating point"),
        ('{"logits": [1, 2', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_argument_text_is_parsed_safely(text: str, says: str) -> None:
    with pytest.raises(ToolError, match=says):
        parse_arguments(text)


def test_parsed_arguments_round_trip() -> None:
    assert parse_arguments('{"logits": [1, 2.5, -3], "n": 10}') == {"logits": [1, 2.5, -3], "n": 10}
