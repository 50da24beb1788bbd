"""The tool results the fake service replays are what the real tools return for those inputs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.scripts import HESSIAN_ARGS, HESSIAN_RESULT, SIGMOID_ARGS, SIGMOID_DERIVATIVE


@pytest.mark.parametrize(
    ("name", "args", "recorded"),
    [
        ("hessian", HESSIAN_ARGS, HESSIAN_RESULT),
        ("differentiate", SIGMOID_ARGS, SIGMOID_DERIVATIVE),
    ],
)
def test_recorded_tool_results_match_the_tools(
    name: str, args: dict[str, Any], recorded: dict[str, Any]
) -> None:
    from mltutor.tools.registry import run_tool

    assert run_tool(name, args).model_dump(mode="json") == recorded
