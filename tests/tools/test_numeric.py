"""Numeric tools: gradient checks (scalar and matrix calculus), matrix facts, softmax, log-sum-exp."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.special import logsumexp as scipy_logsumexp
from scipy.special import softmax as scipy_softmax

from mltutor.tools import matrixlang
from mltutor.tools.errors import LimitExceeded, ParseError, ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.registry import run_tool


def run(name: str, **args: Any) -> Any:
    return run_tool(name, args)


# -- gradient_check ------------------------------------------------------------------------------


def test_gradient_check_accepts_correct_gradient() -> None:
    out = run("gradient_check", expr="x^2 y + sin(y)", claimed={"x": "2 x y", "y": "x^2 + cos(y)"})
    assert out.verdict == "correct" and out.max_relative_error < 1e-9
    assert len(out.checks) == 5


def test_gradient_check_rejects_sign_error_and_names_variable() -> None:
    out = run("gradient_check", expr="x^2 y + sin(y)", claimed={"x": "2 x y", "y": "x^2 - cos(y)"})
    assert out.verdict == "incorrect" and out.worst_variable == "y"
    assert "∂/∂y is wrong" in out.detail


def test_gradient_check_logistic_loss_with_constant() -> None:
    # d/dw log(1 + e^{-y w x}) = -y x σ(-y w x); x and y are constants sampled at random
    out = run("gradient_check", expr="log(1 + e^{-y w x})", claimed={"w": "-y x sigmoid(-y w x)"})
    assert out.verdict == "correct"
    assert set(out.checks[0].point) == {"w", "x", "y"}


def test_gradient_check_samples_inside_the_domain() -> None:
    out = run("gradient_check", expr="log(x) + sqrt(x)", claimed={"x": "1/x + 1/(2 sqrt(x))"})
    assert out.verdict == "correct"
    assert all(c.point["x"] > 0 for c in out.checks)


def test_gradient_check_bad_math() -> None:
    with pytest.raises(ParseError, match=r"claimed\.x"):
        run("gradient_check", expr="x^2", claimed={"x": "2 x +"})


# -- matrix_gradient_check -------------------------------------------------------------------------


def test_trace_quadratic_form_gradient() -> None:
    out = run("matrix_gradient_check", function="tr(X^T A X)", claimed_gradient="(A + A^T) X")
    assert out.verdict == "correct" and out.max_relative_error < 1e-6


def test_2AX_is_rejected_for_nonsymmetric_A_but_holds_for_symmetric() -> None:
    out = run("matrix_gradient_check", function="tr(X^T A X)", claimed_gradient="2 A X")
    assert out.verdict == "incorrect" and out.max_relative_error > 0.1
    assert out.holds_if_symmetric == ["A"]
    assert "only when A is symmetric" in out.detail
    sym = run(
        "matrix_gradient_check", function="tr(X^T A X)", claimed_gradient="2AX", symmetric=["A"]
    )
    assert sym.verdict == "correct"


@pytest.mark.parametrize(
    ("function", "claim", "wrt"),
    [
        ("tr(A X)", "A^T", "X"),
        ("log det X", "X^{-T}", "X"),
        ("||A X - B||_F^2", "2 A^T (A X - B)", "X"),
        ("x^T A x", "(A + A^T) x", "x"),
        ("a^T x", "a", "x"),
        ("‖Ax − b‖²", "2Aᵀ(Ax − b)", "x"),
        (r"\operatorname{tr}(X^\top A X B)", "A X B + A^T X B^T", "X"),
    ],
)
def test_matrix_identities(function: str, claim: str, wrt: str) -> None:
    out = run("matrix_gradient_check", function=function, claimed_gradient=claim, wrt=wrt)
    assert out.verdict == "correct", out.detail


def test_log_det_gradient_is_inverse_transpose_not_inverse() -> None:
    out = run("matrix_gradient_check", function="log det X", claimed_gradient="X^{-1}")
    assert out.verdict == "incorrect" and out.holds_if_symmetric is None


def test_numeric_gradient_matches_closed_form() -> None:
    out = run("matrix_gradient_check", function="tr(A X)", claimed_gradient="A^T", n=3)
    fd, claim = np.array(out.numeric_gradient), np.array(out.claimed_value)
    assert fd.shape == (3, 3) and np.allclose(fd, claim, atol=1e-7)


def test_matrix_gradient_shape_and_scalar_errors() -> None:
    with pytest.raises(ToolError, match="shape of the variable"):
        run("matrix_gradient_check", function="x^T x", claimed_gradient="x x^T", wrt="x")
    with pytest.raises(ToolError, match="scalar-valued"):
        run("matrix_gradient_check", function="A X", claimed_gradient="A")
    with pytest.raises(ToolError, match="does not depend on X"):
        run("matrix_gradient_check", function="tr(A)", claimed_gradient="A")


def test_matrix_language_rejects_unknown_syntax_with_column() -> None:
    with pytest.raises(ParseError) as info:
        run("matrix_gradient_check", function="tr(X @ A)", claimed_gradient="A")
    assert info.value.column == 6
    with pytest.raises(ParseError):
        matrixlang.parse("__import__('os')")


def test_matrix_gradient_size_limit() -> None:
    with pytest.raises(LimitExceeded):
        run_tool(
            "matrix_gradient_check",
            {"function": "tr(X)", "claimed_gradient": "I", "n": 5},
            limits=ToolLimits(max_matrix_size=4),
        )
    with pytest.raises(ToolError, match="less than or equal to 12"):
        run("matrix_gradient_check", function="tr(X)", claimed_gradient="I", n=100)


# -- matrix_info ------------------------------------------------------------------------------------


def test_matrix_info_symmetric() -> None:
    out = run("matrix_info", matrix=[[2, 1], [1, 3]], eigenvectors=True)
    assert out.eigenvalues == pytest.approx([(5 - math.sqrt(5)) / 2, (5 + math.sqrt(5)) / 2])
    assert out.condition_number == pytest.approx((5 + math.sqrt(5)) / (5 - math.sqrt(5)))
    assert out.determinant == pytest.approx(5.0) and out.definiteness == "positive definite"
    v = np.array(out.eigenvectors)
    assert np.allclose(np.array([[2, 1], [1, 3]]) @ v, v * np.array(out.eigenvalues))


def test_matrix_info_rotation_and_singular() -> None:
    rot = run("matrix_info", matrix=[[0, -1], [1, 0]])
    assert rot.eigenvalues_imag == pytest.approx([-1.0, 1.0]) and rot.definiteness is None
    sing = run("matrix_info", matrix=[[1, 2], [2, 4]])
    assert sing.rank == 1 and sing.condition_number is None
    assert sing.definiteness == "positive semidefinite"


def test_matrix_info_rectangular_svd() -> None:
    a = np.array([[3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    out = run("matrix_info", matrix=a.tolist())
    assert out.singular_values == pytest.approx([4.0, 3.0]) and out.eigenvalues is None
    assert out.shape == [2, 3] and out.rank == 2


def test_matrix_info_bad_input() -> None:
    with pytest.raises(ToolError, match="same length"):
        run("matrix_info", matrix=[[1, 2], [3]])
    with pytest.raises(ToolError, match="matrix"):
        run("matrix_info", matrix=[[1, "a"]])
    with pytest.raises(LimitExceeded, match="larger than the limit"):
        run_tool(
            "matrix_info", {"matrix": np.eye(5).tolist()}, limits=ToolLimits(max_matrix_size=4)
        )


# -- softmax / logsumexp -----------------------------------------------------------------------------


def test_softmax_is_stable_for_huge_logits() -> None:
    logits = [1000.0, 1001.0, 1002.0]
    out = run("softmax", logits=logits)
    assert out.probabilities == pytest.approx(scipy_softmax(logits).tolist())
    assert out.naive_overflows and out.shift == 1002.0
    assert out.log_probabilities == pytest.approx(np.log(scipy_softmax(logits)).tolist())


def test_softmax_temperature() -> None:
    out = run("softmax", logits=[1.0, 2.0], temperature=0.5)
    assert out.probabilities == pytest.approx(scipy_softmax([2.0, 4.0]).tolist())
    assert not out.naive_overflows


def test_logsumexp() -> None:
    out = run("logsumexp", values=[-1000.0, -1000.0])
    assert out.value == pytest.approx(-1000 + math.log(2)) and out.naive_underflows
    vals = [0.5, 710.0, -3.0]
    out = run("logsumexp", values=vals)
    assert out.value == pytest.approx(float(scipy_logsumexp(vals))) and out.naive_overflows


def test_softmax_bad_input() -> None:
    with pytest.raises(ToolError, match="logits"):
        run("softmax", logits=[])
    with pytest.raises(ToolError, match="temperature"):
        run("softmax", logits=[1.0], temperature=0)
    with pytest.raises(LimitExceeded):
        run_tool("logsumexp", {"values": [1.0] * 20}, limits=ToolLimits(max_list_len=10))
