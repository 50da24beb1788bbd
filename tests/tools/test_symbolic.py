"""Symbolic tools through the registry: string inputs, parsed by the safe parser, checked values."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sympy as sp

from mltutor.tools.errors import ParseError, ToolError, ToolTimeout
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing import parse_math
from mltutor.tools.registry import run_tool


def run(name: str, **args: Any) -> Any:
    return run_tool(name, args)


def same(text: str, expected: str) -> bool:
    """Both strings parse (plain-text output round-trips) to expressions that are equal."""
    return bool(sp.simplify(parse_math(text) - parse_math(expected)) == 0)


# -- differentiate ---------------------------------------------------------------------------------


def test_differentiate_mixed_partial() -> None:
    out = run("differentiate", expr="x^3 y + sin(x y)", wrt=["x", "y"])
    assert same(out.derivative.text, "3x^2 + cos(x y) - x y sin(x y)")
    assert out.notation == "∂²/∂x∂y"
    assert out.derivative.latex and out.derivative.pretty


def test_differentiate_higher_order_and_value_at_point() -> None:
    out = run("differentiate", expr="x^5", order=3, at={"x": 2})
    assert same(out.derivative.text, "60 x^2")
    assert out.notation == "d³/dx³"
    assert out.numeric_at == 240.0


def test_differentiate_sigmoid_keeps_exponentials() -> None:
    out = run("differentiate", expr="sigmoid(x)", at={"x": 0})
    assert same(out.derivative.text, "sigmoid(x) (1 - sigmoid(x))")
    assert "cosh" not in out.derivative.text
    assert out.value_at is not None and out.value_at.text == "1/4"


def test_differentiate_latex_and_unicode_input() -> None:
    out = run("differentiate", expr=r"\frac{1}{2} (y - θ x)^2", wrt=["θ"])
    assert same(out.derivative.text, "-x (y - θ x)")


def test_differentiate_needs_variable_when_ambiguous() -> None:
    with pytest.raises(ToolError, match="several variables"):
        run("differentiate", expr="x y")


# -- gradient / jacobian / hessian -----------------------------------------------------------------


def test_gradient_with_point() -> None:
    out = run("gradient", expr="x^2 + 3 x y + y^2", at={"x": 1, "y": "1/2"})
    assert out.variables == ["x", "y"]
    assert same(out.gradient[0].text, "2x + 3y") and same(out.gradient[1].text, "3x + 2y")
    assert out.numeric_at == [3.5, 4.0]


def test_jacobian() -> None:
    out = run("jacobian", exprs=["x y", "x + y^2"], variables=["x", "y"], at={"x": 1, "y": 2})
    assert out.entries == [["y", "x"], ["1", "2*y"]]
    assert out.numeric_at == [[2.0, 1.0], [1.0, 4.0]]


def test_hessian_finds_and_classifies_critical_points() -> None:
    out = run("hessian", expr="x^3 - 3x + y^2")
    kinds = {p.point["x"]: p.classification for p in out.points}
    assert kinds == {"-1": "saddle", "1": "minimum"}
    at_min = next(p for p in out.points if p.point["x"] == "1")
    assert at_min.eigenvalues == pytest.approx([2.0, 6.0])


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("x^2 + y^2", "minimum"),
        ("-x^2 - y^2", "maximum"),
        ("x^2 - y^2", "saddle"),
        ("x^4 + y^2", "degenerate"),
    ],
)
def test_hessian_classification(expr: str, kind: str) -> None:
    out = run("hessian", expr=expr)
    assert [p.classification for p in out.points] == [kind]


def test_hessian_constant_eigenvalues_and_given_points() -> None:
    out = run("hessian", expr="x^2 + x y + y^2", points=[{"x": 1, "y": 1}])
    assert sorted(float(sp.N(parse_math(e.text))) for e in out.constant_eigenvalues) == [1.0, 3.0]
    assert out.points[0].classification == "not a critical point"


# -- integrate / limit / taylor ----------------------------------------------------------------------


def test_integrate_indefinite() -> None:
    out = run("integrate", expr="x e^{-x}")
    assert not out.definite and out.closed_form
    assert same(out.result.text, "-(x + 1) e^{-x}")


def test_integrate_gaussian_over_real_line() -> None:
    out = run("integrate", expr="e^{-x^2}", lower="-oo", upper="oo")
    assert out.result.text == "sqrt(pi)"
    assert out.numeric == pytest.approx(math.sqrt(math.pi))


def test_integrate_symbolic_limit() -> None:
    out = run("integrate", expr="t^2", variable="t", lower=0, upper="a")
    assert same(out.result.text, "a^3/3")


def test_integrate_needs_both_limits() -> None:
    with pytest.raises(ToolError, match="both lower and upper"):
        run("integrate", expr="x", lower=0)


@pytest.mark.parametrize(
    ("args", "value"),
    [
        ({"expr": "sin(x)/x"}, 1.0),
        ({"expr": "(1 + 1/n)^n", "to": "oo"}, math.e),
        ({"expr": "(e^x - 1)/x"}, 1.0),
        ({"expr": "x log(x)", "direction": "+"}, 0.0),
    ],
)
def test_limit_values(args: dict[str, Any], value: float) -> None:
    out = run("limit", **args)
    assert out.exists and out.numeric == pytest.approx(value)


def test_limit_one_sided_differ() -> None:
    out = run("limit", expr="1/x")
    assert not out.exists and out.left.text == "-oo" and out.right.text == "oo"
    assert run("limit", expr="1/x", direction="+").value.text == "oo"


def test_taylor() -> None:
    out = run("taylor", expr="e^x", degree=3)
    assert same(out.polynomial.text, "1 + x + x^2/2 + x^3/6")
    assert "O(x**4)" in out.series.text
    out = run("taylor", expr="log(x)", about=1, degree=2)
    assert same(out.polynomial.text, "(x - 1) - (x - 1)^2/2")


# -- simplify / equivalent / solve / lagrange / evaluate --------------------------------------------


def test_simplify_forms() -> None:
    assert run("simplify", expr="sin(x)^2 + cos(x)^2").result.text == "1"
    assert run("simplify", expr="(x^2 - 1)/(x - 1)", form="cancel").result.text == "x + 1"
    assert same(run("simplify", expr="(x + 1)^2", form="expand").result.text, "x^2 + 2x + 1")
    out = run("simplify", expr="x^2 - 1", form="factor")
    assert out.result.text == "(x - 1)*(x + 1)" and out.changed


def test_equivalent_true_and_false_with_counterexample() -> None:
    out = run("equivalent", a="sigmoid(x)(1 - sigmoid(x))", b="e^{-x}/(1 + e^{-x})^2")
    assert out.equal is True
    out = run("equivalent", a="(x + 1)^2", b="x^2 + 1")
    assert out.equal is False
    x = out.counterexample["x"]
    assert out.left_value == pytest.approx((x + 1) ** 2, rel=1e-4)
    assert out.right_value == pytest.approx(x**2 + 1, rel=1e-4)


def test_solve_quadratic_and_no_real_solution() -> None:
    out = run("solve", equations=["x^2 = 4"])
    assert sorted(s.numeric["x"] for s in out.solutions) == [-2.0, 2.0]
    out = run("solve", equations=["x^2 + 1 = 0"])
    assert out.solutions == [] and "no real solution" in out.note


def test_solve_lagrange_system() -> None:
    out = run(
        "solve", equations=["2x + λ = 0", "2y + λ = 0", "x + y = 1"], variables=["x", "y", "λ"]
    )
    assert len(out.solutions) == 1
    assert out.solutions[0].numeric == {"x": 0.5, "y": 0.5, "lambda": -1.0}


def test_solve_caps_solutions() -> None:
    out = run("solve", equations=["(x-1)(x-2)(x-3)(x-4) = 0"], max_solutions=2)
    assert len(out.solutions) == 2 and out.truncated


def test_lagrange_tool() -> None:
    out = run("lagrange", objective="x^2 + y^2", constraints=["x + y = 1"])
    assert out.multipliers == ["lambda"]
    assert out.solutions[0].numeric == {"x": 0.5, "y": 0.5, "lambda": -1.0}
    assert out.objective_values[0].text == "1/2"


def test_evaluate() -> None:
    out = run("evaluate", expr="-log(sigmoid(z))", values={"z": 2})
    assert out.value == pytest.approx(math.log1p(math.exp(-2)))
    assert run("evaluate", expr="binom(10, 3) 0.5^10").value == pytest.approx(120 / 1024)
    with pytest.raises(ToolError, match="no value given for y"):
        run("evaluate", expr="x + y", values={"x": 1})


# -- bad input and time bounds ------------------------------------------------------------------------


def test_unparsable_math_names_field_and_column() -> None:
    with pytest.raises(ParseError) as info:
        run("differentiate", expr="x +* 2")
    assert info.value.column == 4 and "expr" in info.value.message
    with pytest.raises(ToolError, match="equations"):
        run("solve", equations=["x = 1", "y = (2"])


def test_python_code_is_not_evaluated() -> None:
    with pytest.raises(ToolError):
        run("evaluate", expr="__import__('os').system('true')")


def test_bad_variable_name() -> None:
    with pytest.raises(ToolError, match="function or constant"):
        run("gradient", expr="x^2", variables=["sin"])


def test_point_value_must_be_a_number() -> None:
    with pytest.raises(ToolError, match="not a number"):
        run("gradient", expr="x^2", at={"x": "y + 1"})


def test_huge_integral_times_out_quickly() -> None:
    import time

    start = time.perf_counter()
    with pytest.raises(ToolTimeout, match=r"gave up after 0\.5 s"):
        run_tool(
            "integrate",
            {"expr": "x^50 e^{x} sin(x)^20 cos(x)^30"},
            limits=ToolLimits(timeout_s=0.5),
        )
    assert time.perf_counter() - start < 3.0


def test_input_over_size_limit_is_refused() -> None:
    with pytest.raises(ToolError, match="longer than"):
        run_tool("simplify", {"expr": "x + " * 30 + "x"}, limits=ToolLimits(max_input_chars=50))
