"""The Hessian tool: second derivatives, eigenvalues, and classification of critical points."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import sympy as sp
from pydantic import Field

from mltutor.tools import symutil
from mltutor.tools.calculus import Point
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import MathOut, MathText, ToolModel, VarName, finite_float

MAX_CRITICAL_POINTS = 20


class HessianIn(ToolModel):
    """A scalar expression, its variables and (optionally) points to classify."""

    expr: MathText
    """The scalar function, e.g. "x^3 - 3 x + y^2"."""

    variables: list[VarName] = Field(default=[], max_length=8)
    """Variables in order; empty means all variables, sorted by name."""

    points: list[Point] | None = Field(default=None, max_length=MAX_CRITICAL_POINTS)
    """Points to analyse; if omitted, the critical points (∇f = 0) are found and classified."""


class PointAnalysis(ToolModel):
    """Second-order analysis at one point."""

    point: dict[str, str]
    """Exact coordinates."""

    point_numeric: dict[str, float]
    """Coordinates as floats."""

    hessian: MathOut
    """The Hessian at the point."""

    eigenvalues: list[float]
    """Eigenvalues of the Hessian at the point, ascending."""

    classification: Literal["minimum", "maximum", "saddle", "degenerate", "not a critical point"]
    """Local minimum (all eigenvalues > 0), maximum (all < 0), saddle (mixed signs), degenerate
    (some eigenvalue 0: the second-derivative test is inconclusive); only at points with ∇f = 0."""


class HessianOut(ToolModel):
    """The Hessian and the classification of points."""

    variables: list[str]
    """The variables, in row/column order."""

    hessian: MathOut
    """The Hessian matrix of second partial derivatives."""

    constant_eigenvalues: list[MathOut] | None
    """Exact eigenvalues when the Hessian does not depend on the variables (e.g. a quadratic)."""

    points: list[PointAnalysis]
    """Analysis per point (given, or the critical points found)."""

    note: str
    """Remarks, e.g. how the points were found or why some were skipped."""


def _classify(eigs: np.ndarray, critical: bool) -> Any:
    if not critical:
        return "not a critical point"
    tol = 1e-9 * max(1.0, float(np.abs(eigs).max(initial=0.0)))
    if np.any(eigs > tol) and np.any(eigs < -tol):
        return "saddle"
    if np.all(eigs > tol):
        return "minimum"
    if np.all(eigs < -tol):
        return "maximum"
    return "degenerate"


def critical_points(grad: list[Any], variables: list[Any]) -> tuple[list[dict[Any, Any]], str]:
    """Real solutions of ∇f = 0 (at most MAX_CRITICAL_POINTS) and a note on what was skipped."""
    sols = sp.solve(grad, variables, dict=True)
    points, skipped = [], 0
    for sol in sols:
        if set(sol) != set(variables) or any(v.free_symbols for v in sol.values()):
            skipped += 1
            continue
        if any(finite_float(v.evalf(30)) is None for v in sol.values()):
            continue  # complex critical point
        points.append(sol)
    note = f"critical points from solving ∇f = 0: found {len(points)}"
    if skipped:
        note += f"; {skipped} solution families with free parameters were not classified"
    if len(points) > MAX_CRITICAL_POINTS:
        note += f"; showing the first {MAX_CRITICAL_POINTS}"
    return points[:MAX_CRITICAL_POINTS], note


def hessian(inp: HessianIn, limits: ToolLimits) -> HessianOut:
    """Hessian matrix with eigenvalues, and classification (minimum/maximum/saddle/degenerate) of
    critical points found by solving ∇f = 0, or of given points."""
    f = symutil.expr(inp.expr, limits)
    variables = symutil.resolve_vars(inp.variables, [f])
    grad = [sp.diff(f, v) for v in variables]
    h = sp.Matrix([[symutil.tidy(sp.diff(g, v), limits) for v in variables] for g in grad])
    const_eigs = None
    if not h.free_symbols and len(variables) <= 3:
        const_eigs = [
            MathOut.of(sp.simplify(e)) for e, k in h.eigenvals().items() for _ in range(k)
        ]
    if inp.points is not None:
        pts = [symutil.point(p, limits, f"points[{i}]") for i, p in enumerate(inp.points)]
        note = "analysed the given points"
    else:
        pts, note = critical_points(grad, variables)
    analyses = []
    for pt in pts:
        missing = [str(v) for v in variables if v not in pt]
        if missing:
            raise ToolError(f"a point is missing values for {', '.join(missing)}")
        h_at = sp.simplify(h.xreplace(pt))
        floats = [finite_float(x.evalf(30)) for x in h_at]
        if any(x is None for x in floats):
            note += "; skipped a point where the Hessian is not real and finite"
            continue
        arr = np.array(floats, dtype=float).reshape(h_at.shape)
        eigs = np.linalg.eigvalsh(arr)
        is_critical = all(sp.simplify(g.xreplace(pt)) == 0 for g in grad)
        analyses.append(
            PointAnalysis(
                point={str(v): sp.sstr(pt[v]) for v in variables},
                point_numeric={str(v): float(sp.N(pt[v])) for v in variables},
                hessian=MathOut.of(h_at),
                eigenvalues=eigs.tolist(),
                classification=_classify(eigs, is_critical),
            )
        )
    return HessianOut(
        variables=[str(v) for v in variables],
        hessian=MathOut.of(h),
        constant_eigenvalues=const_eigs,
        points=analyses,
        note=note,
    )


TOOLS = (hessian,)
