"""The registry: names, generated schemas, validation messages, bounds, threads and the CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mltutor.cli import main
from mltutor.tools.errors import LimitExceeded, ParseError, ToolError, ToolTimeout
from mltutor.tools.limits import ToolLimits
from mltutor.tools.measures import FwerIn
from mltutor.tools.registry import all_tools, get_tool, invoke, openai_tool_schema, run_tool

# one valid call per tool: every registered tool must appear here and run
EXAMPLES: dict[str, dict[str, Any]] = {
    "differentiate": {"expr": "x^2 sin(x)"},
    "gradient": {"expr": "x^2 y", "at": {"x": 1, "y": 2}},
    "jacobian": {"exprs": ["x y", "x + y"]},
    "hessian": {"expr": "x^2 + y^2"},
    "integrate": {"expr": "x^2", "lower": 0, "upper": 3},
    "limit": {"expr": "sin(x)/x"},
    "taylor": {"expr": "cos(x)", "degree": 4},
    "simplify": {"expr": "(x^2 - 1)/(x + 1)"},
    "equivalent": {"a": "2 sin(x) cos(x)", "b": "sin(2x)"},
    "solve": {"equations": ["x^2 - 5x + 6 = 0"]},
    "lagrange": {"objective": "x y", "constraints": ["x + y = 2"]},
    "evaluate": {"expr": "sqrt(2)", "digits": 30},
    "gradient_check": {"expr": "x^3", "claimed": {"x": "3x^2"}},
    "matrix_gradient_check": {"function": "tr(A X)", "claimed_gradient": "A^T"},
    "matrix_info": {"matrix": [[1, 0], [0, 2]]},
    "softmax": {"logits": [1, 2, 3]},
    "logsumexp": {"values": [1, 2, 3]},
    "z_test": {"sample_mean": 1.0, "sigma": 1.0, "n": 4},
    "t_test": {"a": [1, 2, 3, 4]},
    "confidence_interval": {"data": [1, 2, 3, 4]},
    "bootstrap_ci": {"data": [1, 2, 3, 4, 5], "n_resamples": 200},
    "ab_sample_size": {"baseline_rate": 0.2, "minimum_detectable_effect": 0.05},
    "power_means": {"effect_size": 0.5, "power": 0.8},
    "multiple_testing": {"p_values": [0.01, 0.2]},
    "fwer": {"m": 10},
    "vif": {"r_squared": [0.3]},
    "distribution_measures": {"p": [0.25, 0.75], "q": [0.5, 0.5]},
    "jl_dimension": {"n_points": 1000, "epsilon": 0.1},
    "chinchilla": {"params": 1e9},
}


def test_registry_has_every_tool_once() -> None:
    names = [t.name for t in all_tools()]
    assert len(names) == len(set(names))
    assert set(names) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_tool_runs_and_returns_json(name: str) -> None:
    spec = get_tool(name)
    out = run_tool(name, EXAMPLES[name])
    assert isinstance(out, spec.output_model)
    json.dumps(out.model_dump(mode="json"), allow_nan=False)  # plain JSON, no NaN/inf


def _missing_descriptions(schema: dict[str, Any], where: str) -> list[str]:
    missing = [
        f"{where}.{k}" for k, v in schema.get("properties", {}).items() if not v.get("description")
    ]
    for name, sub in schema.get("$defs", {}).items():
        missing += _missing_descriptions(sub, f"{where}/{name}")
    return missing


def test_every_property_has_a_description() -> None:
    missing: list[str] = []
    for spec in all_tools():
        assert spec.description and not spec.description.endswith(":"), spec.name
        missing += _missing_descriptions(spec.input_schema(), spec.name)
        missing += _missing_descriptions(spec.output_model.model_json_schema(), f"{spec.name}:out")
    assert missing == []


def test_openai_schema_is_generated_from_the_model() -> None:
    spec = get_tool("differentiate")
    schema = openai_tool_schema(spec)
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "differentiate" and fn["description"] == spec.description
    params = fn["parameters"]
    assert params["required"] == ["expr"] and params["additionalProperties"] is False
    assert params["properties"]["order"]["maximum"] == 10
    assert "∂²f/∂x∂y" in params["properties"]["wrt"]["description"]
    json.dumps(schema)


def test_unknown_tool_suggests_a_name() -> None:
    with pytest.raises(ToolError, match="did you mean 'gradient'"):
        get_tool("gradiant")
    with pytest.raises(ToolError, match="unknown tool"):
        run_tool("nope", {})


def test_validation_errors_list_every_bad_field() -> None:
    with pytest.raises(ToolError) as info:
        run_tool("differentiate", {"order": 0, "colour": "red"})
    msg = info.value.message
    assert msg.startswith("invalid arguments for differentiate:")
    assert "expr: Field required" in msg
    assert "order: Input should be greater than or equal to 1" in msg
    assert "colour: unknown field" in msg


def test_wrong_types_are_reported() -> None:
    with pytest.raises(ToolError, match=r"logits\.1: Input should be a valid number"):
        run_tool("softmax", {"logits": [1, "many"]})
    with pytest.raises(ToolError, match="must be a JSON object"):
        run_tool("softmax", [1, 2])  # type: ignore[arg-type]


def test_unexpected_exceptions_become_tool_errors() -> None:
    def broken(inp: BaseModel, limits: ToolLimits) -> BaseModel:
        raise ZeroDivisionError("boom")

    with pytest.raises(ToolError, match="broken: the computation divides by zero") as info:
        invoke(broken, FwerIn(m=1), ToolLimits())
    assert "ZeroDivisionError" not in info.value.message


def test_nested_sizes_are_checked() -> None:
    limits = ToolLimits(max_input_chars=20)
    with pytest.raises(LimitExceeded, match=r"at\.x: text is longer than 20"):
        run_tool("gradient", {"expr": "x", "at": {"x": "1 + " * 10 + "1"}}, limits=limits)


def test_timeout_is_a_clear_tool_error() -> None:
    start = time.perf_counter()
    with pytest.raises(ToolTimeout, match="too large or too slow"):
        run_tool(
            "integrate",
            {"expr": "sin(x)^37 cos(x)^41 e^{3x} x^9"},
            limits=ToolLimits(timeout_s=0.3),
        )
    assert time.perf_counter() - start < 3.0


def _in_thread(calls: list[tuple[str, dict[str, Any], float]]) -> list[Any]:
    """Run the calls one after another in a worker thread (the TUI's situation)."""
    results: list[Any] = []

    def work() -> None:
        for name, payload, timeout in calls:
            try:
                results.append(run_tool(name, payload, limits=ToolLimits(timeout_s=timeout)))
            except ToolError as exc:
                results.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    return results


def test_tools_run_from_other_threads_with_the_same_bounds() -> None:
    start = time.perf_counter()
    ok, parse_err, slow = _in_thread(
        [
            ("fwer", {"m": 3}, 5.0),
            ("differentiate", {"expr": "x +* 2"}, 5.0),
            ("integrate", {"expr": "x^50 e^{x} sin(x)^20 cos(x)^30"}, 1.0),
        ]
    )
    assert ok.fwer == pytest.approx(1 - 0.95**3)
    assert isinstance(parse_err, ParseError) and parse_err.column == 4
    assert isinstance(slow, ToolTimeout)
    assert time.perf_counter() - start < 10


def test_thread_calls_recover_after_a_timeout() -> None:
    results = _in_thread(
        [
            ("fwer", {"m": 3}, 5.0),
            ("integrate", {"expr": "x^50 e^{x} sin(x)^20 cos(x)^30"}, 1.0),
            ("fwer", {"m": 4}, 1.0),
            ("differentiate", {"expr": "x^3"}, 1.0),
        ]
    )
    assert isinstance(results[1], ToolTimeout)
    assert not isinstance(results[2], ToolError), results[2]
    assert results[3].derivative.text == "3*x**2"


# -- CLI: every tool is scriptable -----------------------------------------------------------------


@pytest.fixture
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "none.toml"))


def test_cli_tool_list(capsys: pytest.CaptureFixture[str], no_user_config: None) -> None:
    assert main(["tool", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {t["name"] for t in listed} == set(EXAMPLES)
    assert all(t["description"] for t in listed)


def test_cli_tool_run(capsys: pytest.CaptureFixture[str], no_user_config: None) -> None:
    assert main(["tool", "run", "solve", '{"equations": ["x^2 = 9"]}']) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(s["numeric"]["x"] for s in out["solutions"]) == [-3.0, 3.0]
    assert main(["tool", "run", "solve", '{"equations": ["x^2 = "]}']) == 1
    err = json.loads(capsys.readouterr().out)
    assert err["tool"] == "solve" and "equations[0]" in err["error"]


def test_cli_tool_schema(capsys: pytest.CaptureFixture[str], no_user_config: None) -> None:
    assert main(["tool", "schema", "matrix_info"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["function"]["parameters"]["properties"]["matrix"]["description"]


# -- the catalogue: one module per tool, imported only when that tool runs -------------------------


def test_catalogue_matches_the_modules() -> None:
    import importlib

    from mltutor.tools.registry import CATALOGUE

    by_module: dict[str, list[str]] = {}
    for name, (module, _) in CATALOGUE.items():
        by_module.setdefault(module, []).append(name)
    for module, names in by_module.items():
        tools = importlib.import_module(f"mltutor.tools.{module}").TOOLS
        assert [f.__name__ for f in tools] == names, module


def _loaded_after(code: str) -> set[str]:
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


def test_a_numpy_free_tool_run_loads_no_heavy_module() -> None:
    # issue 14: `tool run softmax` took ~2 s importing SymPy, SciPy and all 28 tools' models
    loaded = _loaded_after(
        "from mltutor.cli import main\nmain(['tool', 'run', 'softmax', '{\"logits\": [1, 2, 3]}'])"
    )
    heavy = {"sympy", "scipy", "numpy", "mltutor.settings", "multiprocessing"} & loaded
    assert not heavy
    assert "mltutor.tools.numeric" in loaded and "mltutor.tools.calculus" not in loaded


def test_in_process_tools_never_load_sympy() -> None:
    from mltutor.tools.registry import CATALOGUE

    modules = sorted({module for module, isolated in CATALOGUE.values() if not isolated})
    loaded = _loaded_after("\n".join(f"import mltutor.tools.{m}" for m in modules))
    assert "sympy" not in loaded  # their cost is bounded by their input sizes, not by SymPy
