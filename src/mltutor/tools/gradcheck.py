"""Gradient checks by finite differences: scalar expressions (SymPy, 40 digits) and matrix-calculus
identities on random matrices (NumPy, via the :mod:`mltutor.tools.matrixlang` mini-language)."""

from __future__ import annotations

import math
import random
from typing import Annotated, Any, Literal

import numpy as np
import sympy as sp
from pydantic import Field

from mltutor.tools import matrixlang, symutil
from mltutor.tools.errors import LimitExceeded, ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import MathText, ToolModel, VarName, finite_float

_RANGES = ((-2.0, 2.0), (0.1, 2.0), (0.05, 0.95), (-2.0, -0.1))

# -- gradient_check: a scalar expression in named variables --------------------------------------


class GradientCheckIn(ToolModel):
    """A scalar function and a claimed gradient, one partial derivative per variable."""

    expr: MathText
    """The scalar function, e.g. "x^2 y + sin(y)" or "log(1 + e^{-w x})"."""

    claimed: dict[VarName, MathText] = Field(min_length=1, max_length=12)
    """Claimed partial derivative for each variable, e.g. {"x": "2 x y", "y": "x^2 + cos(y)"}.
    Other letters in the function are constants and get random values."""

    points: int = Field(default=5, ge=1, le=50)
    """How many random points to test."""

    seed: int = Field(default=0, ge=0)
    """Seed for the random points (same seed, same points)."""

    tolerance: float = Field(default=1e-6, gt=0, lt=1)
    """Largest relative error still counted as agreement."""


class GradientPoint(ToolModel):
    """The comparison at one random point."""

    point: dict[str, float]
    """Values of all variables and constants at this point."""

    finite_difference: dict[str, float]
    """Central finite-difference estimate of each partial derivative."""

    claimed: dict[str, float]
    """The claimed partial derivatives evaluated at the point."""

    relative_error: float
    """Largest relative error over the variables at this point."""


class GradientCheckOut(ToolModel):
    """Verdict of a finite-difference gradient check."""

    verdict: Literal["correct", "incorrect"]
    """Whether the claimed gradient matches finite differences at every tested point."""

    max_relative_error: float
    """Largest relative error seen."""

    worst_variable: str | None
    """The variable whose partial derivative disagreed most (None when all agree)."""

    checks: list[GradientPoint]
    """Details per tested point."""

    detail: str
    """One sentence summarising the result."""


def _hp(e: Any, sub: dict[Any, Any]) -> Any:
    """``e`` at ``sub`` to 40 digits as a real SymPy Float, or None where it is not real/finite."""
    try:
        value = e.xreplace(sub).evalf(40)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return None
    if value.free_symbols or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    return value if finite_float(value) is not None else None


def _at(e: Any, sub: dict[Any, Any]) -> float | None:
    value = _hp(e, sub)
    return None if value is None else finite_float(value)


def _fd(f: Any, sub: dict[Any, Any], var: Any) -> float | None:
    """Central difference with a tiny step, exact enough at 40 digits to isolate the derivative."""
    h = sp.Float("1e-12", 40)
    fp = _hp(f, {**sub, var: sub[var] + h})
    fm = _hp(f, {**sub, var: sub[var] - h})
    if fp is None or fm is None:
        return None
    return finite_float(sp.re(fp - fm) / (2 * h))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def gradient_check(inp: GradientCheckIn, limits: ToolLimits) -> GradientCheckOut:
    """Check a claimed gradient of a scalar expression by finite differences at random points.

    Give the function and one claimed partial derivative per variable; letters without a claimed
    derivative are treated as constants and sampled too.
    """
    f = symutil.expr(inp.expr, limits)
    variables = symutil.symbols(list(inp.claimed))
    claims = [symutil.expr(c, limits, f"claimed.{k}") for k, c in inp.claimed.items()]
    all_syms = sorted(set(symutil.free_vars([f, *claims])) | set(variables), key=str)
    rng = random.Random(inp.seed)
    checks: list[GradientPoint] = []
    attempts = 0
    while len(checks) < inp.points and attempts < 40 * inp.points:
        lo, hi = _RANGES[min(attempts // (4 * inp.points), len(_RANGES) - 1)]
        attempts += 1
        sub = {s: sp.Float(round(rng.uniform(lo, hi), 6), 40) for s in all_syms}
        if _at(f, sub) is None:
            continue
        fd_vals, claim_vals = [], []
        for var, claim in zip(variables, claims, strict=True):
            fd, cv = _fd(f, sub, var), _at(claim, sub)
            if fd is None or cv is None:
                break
            fd_vals.append(fd)
            claim_vals.append(cv)
        else:
            errors = [_rel(a, b) for a, b in zip(fd_vals, claim_vals, strict=True)]
            names = [str(v) for v in variables]
            checks.append(
                GradientPoint(
                    point={str(s): float(v) for s, v in sub.items()},
                    finite_difference=dict(zip(names, fd_vals, strict=True)),
                    claimed=dict(zip(names, claim_vals, strict=True)),
                    relative_error=max(errors),
                )
            )
    if not checks:
        raise ToolError("found no points where the function and the claim are real and finite")
    worst = max(checks, key=lambda c: c.relative_error)
    max_err = worst.relative_error
    ok = max_err <= inp.tolerance
    worst_var = (
        None
        if ok
        else max(worst.claimed, key=lambda k: _rel(worst.claimed[k], worst.finite_difference[k]))
    )
    if ok:
        detail = f"the claimed gradient matches finite differences at {len(checks)} random points"
    else:
        assert worst_var is not None
        detail = (
            f"∂/∂{worst_var} is wrong: at {_fmt(worst.point)} finite differences give "
            f"{worst.finite_difference[worst_var]:.6g} but the claim gives "
            f"{worst.claimed[worst_var]:.6g}"
        )
    return GradientCheckOut(
        verdict="correct" if ok else "incorrect",
        max_relative_error=max_err,
        worst_variable=worst_var,
        checks=checks,
        detail=detail,
    )


def _fmt(point: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.4g}" for k, v in point.items())


# -- matrix_gradient_check: matrix-calculus identities on random matrices -------------------------


class MatrixGradientCheckIn(ToolModel):
    """A scalar function of a matrix or vector and a claimed gradient, in a matrix mini-language."""

    function: str = Field(min_length=1, max_length=200)
    """Scalar function, e.g. "tr(X^T A X)", "tr(A X)", "log det X", "||A X - B||_F^2", "x^T A x".
    Capital letters are n×n matrices (I is the identity), lowercase letters are n-vectors; tr, det,
    log, exp, inv, ^T, ^{-1}, ||·||_F and juxtaposition as product are understood."""

    claimed_gradient: str = Field(min_length=1, max_length=200)
    """Claimed gradient with the same shape as the variable, e.g. "(A + A^T) X", "2 A X", "A^T",
    "X^{-T}", "2 A^T (A X - B)"."""

    wrt: str = Field(default="X", pattern=r"^[A-SU-Za-z]$")
    """The variable (one letter) the gradient is taken with respect to."""

    n: int = Field(default=4, ge=2, le=12)
    """Size of the random matrices (n×n) and vectors (n)."""

    symmetric: list[Annotated[str, Field(pattern=r"^[A-SU-Z]$")]] = Field(default=[], max_length=10)
    """Constant matrices to draw symmetric, e.g. ["A"]; others are generic (non-symmetric)."""

    trials: int = Field(default=3, ge=1, le=20)
    """How many independent random draws to test."""

    seed: int = Field(default=0, ge=0)
    """Seed for the random matrices."""

    tolerance: float = Field(default=1e-6, gt=0, lt=1)
    """Largest relative error (Frobenius) still counted as agreement."""


class MatrixGradientCheckOut(ToolModel):
    """Verdict of a matrix gradient check."""

    verdict: Literal["correct", "incorrect"]
    """Whether the claimed gradient matches finite differences in every trial."""

    max_relative_error: float
    """Largest relative Frobenius error ‖G_fd − G_claim‖ / ‖G_fd‖ over the trials."""

    holds_if_symmetric: list[str] | None
    """When the claim fails in general but holds once these matrices are symmetric; else None."""

    numeric_gradient: list[list[float]]
    """Finite-difference gradient from the first trial."""

    claimed_value: list[list[float]]
    """The claimed gradient evaluated on the first trial's matrices."""

    detail: str
    """One sentence summarising the result."""


def _draw(
    names: set[str], wrt: str, n: int, sym: set[str], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    env: dict[str, np.ndarray] = {}
    for name in sorted(names):
        kind = matrixlang.default_kind(name)
        if kind == "scalar":  # Greek letters: λ, η
            env[name] = np.array([[rng.uniform(0.5, 2.0)]])
        elif kind == "vector":
            env[name] = rng.standard_normal((n, 1))
        else:
            m = rng.standard_normal((n, n))
            if name in sym:
                m = (m + m.T) / 2
            if name == wrt:  # keep det X > 0 and X well conditioned for log det / inverses
                m = m + n * np.eye(n)
            env[name] = m
    return env


def _scalar_fn(tree: matrixlang.Node, env: dict[str, np.ndarray], n: int) -> float:
    value = matrixlang.evaluate(tree, env, n)
    if value.shape != (1, 1):
        raise ToolError(
            f"the function must be scalar-valued, but it is {value.shape[0]}×"
            f"{value.shape[1]} (wrap it in tr(...) or a norm)"
        )
    return float(value[0, 0])


def _fd_matrix(tree: matrixlang.Node, env: dict[str, np.ndarray], wrt: str, n: int) -> np.ndarray:
    x = env[wrt]
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        h = 1e-5 * max(1.0, abs(float(x[idx])))
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        fp = _scalar_fn(tree, {**env, wrt: plus}, n)
        fm = _scalar_fn(tree, {**env, wrt: minus}, n)
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def _run_trials(
    inp: MatrixGradientCheckIn,
    f: matrixlang.Node,
    g: matrixlang.Node,
    names: set[str],
    sym: set[str],
) -> tuple[float, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(inp.seed)
    worst, first_fd, first_claim = 0.0, np.zeros((0, 0)), np.zeros((0, 0))
    with np.errstate(all="ignore"):
        for trial in range(inp.trials):
            for _ in range(20):
                env = _draw(names, inp.wrt, inp.n, sym, rng)
                if math.isfinite(_scalar_fn(f, env, inp.n)):
                    break
            else:
                raise ToolError(
                    "the function is not finite at random matrices (e.g. log of a "
                    "negative determinant)"
                )
            fd = _fd_matrix(f, env, inp.wrt, inp.n)
            claim = matrixlang.evaluate(g, env, inp.n)
            if claim.shape != fd.shape:
                if claim.shape == fd.T.shape and fd.shape[1] == 1:
                    claim = claim.T  # a row-vector gradient: compare in column layout
                else:
                    raise ToolError(
                        f"the claimed gradient is {claim.shape[0]}×{claim.shape[1]} but "
                        f"{inp.wrt} is {fd.shape[0]}×{fd.shape[1]}; a gradient has the shape of "
                        f"the variable"
                    )
            scale = max(float(np.linalg.norm(fd)), float(np.linalg.norm(claim)), 1e-12)
            err = float(np.linalg.norm(fd - claim)) / scale
            if not math.isfinite(err):
                err = float("inf")
            worst = max(worst, err)
            if trial == 0:
                first_fd, first_claim = fd, claim
    return worst, first_fd, first_claim


def matrix_gradient_check(inp: MatrixGradientCheckIn, limits: ToolLimits) -> MatrixGradientCheckOut:
    """Check a matrix-calculus gradient identity numerically on random matrices.

    Example: the gradient of tr(X^T A X) with respect to X is (A + A^T) X; "2 A X" is only right
    when A is symmetric, which this tool detects and reports.
    """
    if inp.n > limits.max_matrix_size:
        raise LimitExceeded(f"n = {inp.n} is over the matrix size limit {limits.max_matrix_size}")
    f = matrixlang.parse(inp.function)
    g = matrixlang.parse(inp.claimed_gradient)
    names = matrixlang.names(f) | matrixlang.names(g) | {inp.wrt}
    if inp.wrt not in matrixlang.names(f):
        raise ToolError(f"the function does not depend on {inp.wrt}")
    sym = set(inp.symmetric)
    worst, fd, claim = _run_trials(inp, f, g, names, sym)
    ok = worst <= inp.tolerance
    holds_if: list[str] | None = None
    if ok:
        detail = f"the claimed gradient matches finite differences in {inp.trials} random trials"
    else:
        detail = (
            f"the claimed gradient is wrong: relative error {worst:.3g} against finite differences"
        )
        others = sorted(x for x in names if x.isupper() and x != inp.wrt and x not in sym)
        if others:
            retry, _, _ = _run_trials(inp, f, g, names, sym | set(others))
            if retry <= inp.tolerance:
                holds_if = others
                detail += (
                    f"; it holds only when {', '.join(others)} "
                    f"{'is' if len(others) == 1 else 'are'} symmetric"
                )
    return MatrixGradientCheckOut(
        verdict="correct" if ok else "incorrect",
        max_relative_error=worst,
        holds_if_symmetric=holds_if,
        numeric_gradient=fd.tolist(),
        claimed_value=claim.tolist(),
        detail=detail,
    )


TOOLS = (gradient_check, matrix_gradient_check)
