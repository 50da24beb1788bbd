"""Symbolic algebra tools (SymPy): simplify, equivalence, solving (incl. Lagrange), evaluation."""

from __future__ import annotations

from typing import Any, Literal

import sympy as sp
from pydantic import Field

from mltutor.tools import symutil
from mltutor.tools.errors import ToolError, Unsupported
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import MathOut, MathText, PointValue, ToolModel, VarName, finite_float

# -- simplify ---------------------------------------------------------------------------------


class SimplifyIn(ToolModel):
    """An expression and the kind of rewriting wanted."""

    expr: MathText
    """The expression, e.g. "(x^2 - 1)/(x - 1)" or "sin(x)^2 + cos(x)^2"."""

    form: Literal[
        "simplify", "expand", "factor", "cancel", "together", "trigsimp", "expand_log"
    ] = "simplify"
    """Rewriting: general "simplify", "expand" products, "factor" polynomials, "cancel" a rational
    function, "together" over a common denominator, "trigsimp", or "expand_log"."""


class SimplifyOut(ToolModel):
    """The rewritten expression."""

    result: MathOut
    """The expression after rewriting."""

    changed: bool
    """Whether the rewriting changed the expression."""


_FORMS: dict[str, Any] = {
    "simplify": sp.simplify,
    "expand": sp.expand,
    "factor": sp.factor,
    "cancel": sp.cancel,
    "together": sp.together,
    "trigsimp": sp.trigsimp,
    "expand_log": sp.expand_log,
}


def simplify(inp: SimplifyIn, limits: ToolLimits) -> SimplifyOut:
    """Simplify, expand, factor, cancel or combine an expression (variables are real)."""
    e = symutil.expr(inp.expr, limits)
    out = _FORMS[inp.form](e)
    return SimplifyOut(result=MathOut.of(out), changed=out != e)


# -- equivalent -------------------------------------------------------------------------------


class EquivalentIn(ToolModel):
    """Two expressions to compare."""

    a: MathText
    """First expression, e.g. "sigmoid(x) (1 - sigmoid(x))"."""

    b: MathText
    """Second expression, e.g. "e^{-x} / (1 + e^{-x})^2"."""


class EquivalentOut(ToolModel):
    """Whether two expressions are equal for all real values of their variables."""

    equal: bool | None
    """True or False when decided; None when it could not be decided."""

    method: str
    """How it was decided: "symbolic", "numeric" or "undecided"."""

    counterexample: dict[str, float] | None
    """A point where the two differ (when not equal)."""

    left_value: float | None
    """Value of a at the counterexample."""

    right_value: float | None
    """Value of b at the counterexample."""

    detail: str
    """One sentence for the user."""

    a: MathOut
    """The first expression as parsed."""

    b: MathOut
    """The second expression as parsed."""


def equivalent(inp: EquivalentIn, limits: ToolLimits) -> EquivalentOut:
    """Decide whether two expressions are equal; if not, give a point where they differ."""
    from mltutor.tools.equivalence import compare

    a = symutil.expr(inp.a, limits, "a")
    b = symutil.expr(inp.b, limits, "b")
    r = compare(a, b)
    return EquivalentOut(
        equal=r.equal,
        method=r.method,
        counterexample=r.counterexample,
        left_value=r.left_value,
        right_value=r.right_value,
        detail=r.detail,
        a=MathOut.of(a),
        b=MathOut.of(b),
    )


# -- solve / lagrange -------------------------------------------------------------------------


class SolveIn(ToolModel):
    """Equations (a system is solved simultaneously) and the unknowns."""

    equations: list[MathText] = Field(min_length=1, max_length=12)
    """Each "lhs = rhs", or an expression meaning "= 0", e.g. ["2x - λ = 0", "x + y = 1"]."""

    variables: list[VarName] = Field(default=[], max_length=12)
    """Unknowns to solve for; empty means every variable that appears."""

    max_solutions: int = Field(default=20, ge=1, le=100)
    """At most this many solutions are returned."""


class Solution(ToolModel):
    """One solution of a system."""

    values: dict[str, MathOut]
    """Exact value of each solved variable."""

    numeric: dict[str, float | None]
    """Numeric value of each solved variable (None when complex or symbolic)."""

    free: list[str]
    """Unknowns left free (a family of solutions parametrised by them)."""


class SolveOut(ToolModel):
    """All real solutions found."""

    variables: list[str]
    """The unknowns."""

    solutions: list[Solution]
    """The solutions (real, since variables are real)."""

    truncated: bool
    """Whether more solutions existed than max_solutions."""

    note: str
    """Remarks, e.g. that periodic equations only list principal solutions."""


def _solutions(sols: list[dict[Any, Any]], variables: list[Any], cap: int) -> list[Solution]:
    out = []
    for sol in sols[:cap]:
        values = {str(v): MathOut.of(sol[v]) for v in variables if v in sol}
        numeric = {
            str(v): (finite_float(sol[v].evalf(30)) if not sol[v].free_symbols else None)
            for v in variables
            if v in sol
        }
        out.append(
            Solution(
                values=values, numeric=numeric, free=[str(v) for v in variables if v not in sol]
            )
        )
    return out


def _solve(eqs: list[Any], variables: list[Any]) -> list[dict[Any, Any]]:
    try:
        sols = sp.solve(eqs, variables, dict=True)
    except NotImplementedError as exc:
        raise Unsupported(f"SymPy cannot solve this in closed form ({exc})") from None
    return list(sols)


def _note(eqs: list[Any], sols: list[Any]) -> str:
    notes = []
    if not sols:
        notes.append("no real solution found")
    if any(e.has(sp.sin, sp.cos, sp.tan) for e in eqs):
        notes.append("periodic equations: only principal solutions are listed")
    return "; ".join(notes)


def solve(inp: SolveIn, limits: ToolLimits) -> SolveOut:
    """Solve an equation or a system (e.g. Lagrange/KKT stationarity conditions) for real values."""
    eqs = [symutil.equation(t, limits, f"equations[{i}]") for i, t in enumerate(inp.equations)]
    variables = symutil.resolve_vars(inp.variables, eqs)
    sols = _solve(eqs, variables)
    return SolveOut(
        variables=[str(v) for v in variables],
        solutions=_solutions(sols, variables, inp.max_solutions),
        truncated=len(sols) > inp.max_solutions,
        note=_note(eqs, sols),
    )


class LagrangeIn(ToolModel):
    """An objective and equality constraints."""

    objective: MathText
    """Function f to optimise, e.g. "x^2 + y^2"."""

    constraints: list[MathText] = Field(min_length=1, max_length=6)
    """Equality constraints "g = c" (or g meaning g = 0), e.g. ["x + y = 1"]."""

    variables: list[VarName] = Field(default=[], max_length=10)
    """Decision variables; empty means all variables of the objective and constraints."""


class LagrangeOut(ToolModel):
    """Stationary points of the Lagrangian."""

    lagrangian: MathOut
    """L = f + Σ λ_i (g_i − c_i) (this sign convention: λ = −1 in the x² + y², x + y = 1 case)."""

    multipliers: list[str]
    """Names of the multipliers, one per constraint."""

    equations: list[MathOut]
    """The stationarity system ∂L/∂x = 0 for every variable and multiplier."""

    solutions: list[Solution]
    """Solutions of the system, with the multipliers."""

    objective_values: list[MathOut | None]
    """f at each solution (None for solution families)."""

    note: str
    """Remarks about the solutions."""


def lagrange(inp: LagrangeIn, limits: ToolLimits) -> LagrangeOut:
    """Lagrange multipliers: build L = f + Σ λ_i (g_i − c_i), solve ∇L = 0, report points and f."""
    f = symutil.expr(inp.objective, limits, "objective")
    gs = [symutil.equation(c, limits, f"constraints[{i}]") for i, c in enumerate(inp.constraints)]
    variables = symutil.resolve_vars(inp.variables, [f, *gs])
    base = "lambda" if not any(str(v).startswith("lambda") for v in variables) else "mu"
    lams = (
        [symutil.symbol(base)]
        if len(gs) == 1
        else [symutil.symbol(f"{base}_{i + 1}") for i in range(len(gs))]
    )
    lag = f + sum((lam * g for lam, g in zip(lams, gs, strict=True)), sp.Integer(0))
    unknowns = [*variables, *lams]
    eqs = [sp.diff(lag, v) for v in unknowns]
    sols = _solve(eqs, unknowns)
    cap = 20
    values = [
        MathOut.of(sp.simplify(f.xreplace(s))) if all(v in s for v in variables) else None
        for s in sols[:cap]
    ]
    return LagrangeOut(
        lagrangian=MathOut.of(lag),
        multipliers=[str(m) for m in lams],
        equations=[MathOut.of(sp.Eq(e, 0)) for e in eqs],
        solutions=_solutions(sols, unknowns, cap),
        objective_values=values,
        note=_note(eqs, sols),
    )


# -- evaluate ---------------------------------------------------------------------------------


class EvaluateIn(ToolModel):
    """An expression and values for its variables."""

    expr: MathText
    """The expression, e.g. "-log(sigmoid(z))" or "binom(10, 3) 0.5^10"."""

    values: dict[VarName, PointValue] = Field(default={}, max_length=50)
    """Value for every variable, e.g. {"z": 2, "p": "1/3"}."""

    digits: int = Field(default=15, ge=1, le=100)
    """Significant digits of the numeric result."""


class EvaluateOut(ToolModel):
    """The value of an expression."""

    exact: MathOut
    """Exact value after substitution (simplified)."""

    numeric: str
    """Decimal value to the requested digits (may be complex)."""

    value: float | None
    """The value as a float when real and finite."""


def evaluate(inp: EvaluateIn, limits: ToolLimits) -> EvaluateOut:
    """Evaluate an expression exactly and numerically at given values of its variables."""
    e = symutil.expr(inp.expr, limits)
    sub = symutil.point(inp.values, limits, "values")
    exact = e.xreplace(sub)
    if exact.free_symbols:
        missing = ", ".join(sorted(str(s) for s in exact.free_symbols))
        raise ToolError(f"no value given for {missing}")
    exact = sp.simplify(exact)
    num = exact.evalf(inp.digits)
    return EvaluateOut(
        exact=MathOut.of(exact), numeric=sp.sstr(num), value=finite_float(num.evalf(30))
    )


TOOLS = (simplify, equivalent, solve, lagrange, evaluate)
