"""Symbolic calculus tools (SymPy): derivatives, gradient, Jacobian, integrals, limits, Taylor series.

The Hessian lives in :mod:`mltutor.tools.hessian`. Every string is parsed by the safe parser
(:mod:`mltutor.tools.parsing`, via :mod:`mltutor.tools.symutil`).
"""

from __future__ import annotations

from typing import Any, Literal

import sympy as sp
from pydantic import Field, model_validator

from mltutor.tools import symutil
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import MathOut, MathText, PointValue, ToolModel, VarName, finite_float

Point = dict[VarName, PointValue]


def _at(e: Any, values: Point | None, limits: ToolLimits) -> tuple[MathOut | None, Any]:
    """Exact value of ``e`` at the point (simplified) and its float, or (None, None)."""
    if values is None:
        return None, None
    exact = sp.simplify(e.xreplace(symutil.point(values, limits)))
    return MathOut.of(exact), finite_float(exact.evalf(30)) if not exact.free_symbols else None


# -- differentiate ------------------------------------------------------------------------------


class DifferentiateIn(ToolModel):
    """An expression and the variables to differentiate it by."""

    expr: MathText
    """The expression, e.g. "x^3 y + sin(x y)" or "\\sigma(w x + b)"."""

    wrt: list[VarName] = Field(default=[], max_length=10)
    """Variables to differentiate by, in order; ["x", "y"] gives ∂²f/∂x∂y. Empty: the expression's
    only variable."""

    order: int = Field(default=1, ge=1, le=10)
    """How many times to differentiate by each listed variable: wrt ["x"], order 3 is d³f/dx³."""

    at: Point | None = None
    """Optional point to evaluate the derivative at, e.g. {"x": 1, "y": "1/2"}."""


class DerivativeOut(ToolModel):
    """A derivative, simplified."""

    derivative: MathOut
    """The derivative."""

    notation: str
    """What was computed, e.g. "∂²/∂x∂y"."""

    value_at: MathOut | None
    """Exact value at the requested point, if one was given."""

    numeric_at: float | None
    """Numeric value at the requested point, if real and finite."""


def differentiate(inp: DifferentiateIn, limits: ToolLimits) -> DerivativeOut:
    """Derivative of any order, ordinary or partial (list several variables for mixed partials)."""
    f = symutil.expr(inp.expr, limits)
    variables = [symutil.symbol(v) for v in inp.wrt] or symutil.resolve_vars([], [f], one=True)
    symutil.check_order(len(variables) * inp.order)
    args: list[Any] = []
    for v in variables:
        args += [v, inp.order]
    d = symutil.tidy(sp.diff(f, *args), limits)
    total = len(variables) * inp.order
    partial = "∂" if len(set(variables)) > 1 or len(f.free_symbols) > 1 else "d"
    sup = "" if total == 1 else _superscript(total)
    denominators = "".join(
        f"{partial}{v}" + ("" if inp.order == 1 else _superscript(inp.order)) for v in variables
    )
    value, numeric = _at(d, inp.at, limits)
    return DerivativeOut(
        derivative=MathOut.of(d),
        notation=f"{partial}{sup}/{denominators}",
        value_at=value,
        numeric_at=numeric,
    )


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


# -- gradient / jacobian -----------------------------------------------------------------------


class GradientIn(ToolModel):
    """A scalar expression and the variables of its gradient."""

    expr: MathText
    """The scalar function, e.g. "x^2 + 3 x y + y^2"."""

    variables: list[VarName] = Field(default=[], max_length=12)
    """Variables in order; empty means all variables of the expression, sorted by name."""

    at: Point | None = None
    """Optional point to evaluate the gradient at."""


class GradientOut(ToolModel):
    """The gradient vector."""

    variables: list[str]
    """The variables, in the order of the components."""

    gradient: list[MathOut]
    """∂f/∂v for each variable v."""

    value_at: list[MathOut] | None
    """Exact gradient at the requested point."""

    numeric_at: list[float | None] | None
    """Numeric gradient at the requested point (None where not real)."""


def gradient(inp: GradientIn, limits: ToolLimits) -> GradientOut:
    """Gradient (vector of partial derivatives) of a scalar expression, optionally at a point."""
    f = symutil.expr(inp.expr, limits)
    variables = symutil.resolve_vars(inp.variables, [f])
    parts = [symutil.tidy(sp.diff(f, v), limits) for v in variables]
    at = [_at(p, inp.at, limits) for p in parts] if inp.at is not None else None
    return GradientOut(
        variables=[str(v) for v in variables],
        gradient=[MathOut.of(p) for p in parts],
        value_at=[a[0] or MathOut.of(sp.nan) for a in at] if at else None,
        numeric_at=[a[1] for a in at] if at else None,
    )


class JacobianIn(ToolModel):
    """A vector of expressions and the variables."""

    exprs: list[MathText] = Field(min_length=1, max_length=12)
    """Component functions f_1..f_m, e.g. ["x y", "x + y^2"]."""

    variables: list[VarName] = Field(default=[], max_length=12)
    """Variables in column order; empty means all variables, sorted by name."""

    at: Point | None = None
    """Optional point to evaluate the Jacobian at."""


class MatrixOut(ToolModel):
    """A symbolic matrix."""

    variables: list[str]
    """The variables, in column order."""

    matrix: MathOut
    """The whole matrix."""

    entries: list[list[str]]
    """Entries as plain text, row by row."""

    value_at: MathOut | None
    """Exact matrix at the requested point."""

    numeric_at: list[list[float]] | None
    """Numeric matrix at the requested point (when all entries are real)."""


def _matrix_out(m: Any, variables: list[Any], at: Point | None, limits: ToolLimits) -> MatrixOut:
    value = numeric = None
    if at is not None:
        exact = sp.simplify(m.xreplace(symutil.point(at, limits)))
        value = MathOut.of(exact)
        floats = [[finite_float(x) for x in row] for row in exact.tolist()]
        if all(x is not None for row in floats for x in row):
            numeric = [[float(x or 0.0) for x in row] for row in floats]
    return MatrixOut(
        variables=[str(v) for v in variables],
        matrix=MathOut.of(m),
        entries=[[sp.sstr(x) for x in row] for row in m.tolist()],
        value_at=value,
        numeric_at=numeric,
    )


def jacobian(inp: JacobianIn, limits: ToolLimits) -> MatrixOut:
    """Jacobian matrix ∂f_i/∂x_j of a vector of expressions, optionally at a point."""
    fs = [symutil.expr(e, limits, f"exprs[{i}]") for i, e in enumerate(inp.exprs)]
    variables = symutil.resolve_vars(inp.variables, fs)
    m = sp.Matrix([[symutil.tidy(sp.diff(f, v), limits) for v in variables] for f in fs])
    return _matrix_out(m, variables, inp.at, limits)


# -- integrate ------------------------------------------------------------------------------------


class IntegrateIn(ToolModel):
    """An integrand, the variable and optional limits."""

    expr: MathText
    """The integrand, e.g. "x e^{-x}"."""

    variable: VarName | None = None
    """Integration variable; may be omitted when the integrand has one variable."""

    lower: PointValue | None = None
    """Lower limit for a definite integral, e.g. 0, "-oo" or "a"."""

    upper: PointValue | None = None
    """Upper limit for a definite integral, e.g. 1, "oo" or "pi/2"."""

    @model_validator(mode="after")
    def _both_limits(self) -> IntegrateIn:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper for a definite integral, or neither")
        return self


class IntegralOut(ToolModel):
    """An antiderivative or a definite integral."""

    result: MathOut
    """The antiderivative (without the constant of integration) or the definite integral's value."""

    definite: bool
    """Whether limits were given."""

    closed_form: bool
    """False when SymPy could not find a closed form (the result is an unevaluated integral)."""

    numeric: float | None
    """Numeric value of a definite integral without free symbols, if real and finite."""


def integrate(inp: IntegrateIn, limits: ToolLimits) -> IntegralOut:
    """Indefinite or definite integral (limits may be infinite: "oo"), with a numeric value."""
    f = symutil.expr(inp.expr, limits)
    var = _one_var(inp.variable, f)
    if inp.lower is not None and inp.upper is not None:
        lo = _bound(inp.lower, limits, "lower")
        hi = _bound(inp.upper, limits, "upper")
        result = sp.integrate(f, (var, lo, hi))
        numeric = None
        if not result.free_symbols:
            value = (
                result.evalf(30)
                if not result.has(sp.Integral)
                else sp.Integral(f, (var, lo, hi)).evalf(15)
            )
            numeric = finite_float(value)
        result = symutil.tidy(result, limits) if not result.has(sp.Integral) else result
        return IntegralOut(
            result=MathOut.of(result),
            definite=True,
            closed_form=not result.has(sp.Integral),
            numeric=numeric,
        )
    result = sp.integrate(f, var)
    if not result.has(sp.Integral):
        result = symutil.tidy(result, limits)
    return IntegralOut(
        result=MathOut.of(result),
        definite=False,
        closed_form=not result.has(sp.Integral),
        numeric=None,
    )


def _one_var(name: str | None, f: Any) -> Any:
    return symutil.symbol(name) if name else symutil.resolve_vars([], [f], one=True)[0]


def _bound(value: PointValue, limits: ToolLimits, field: str) -> Any:
    if isinstance(value, str):
        return symutil.expr(value, limits, field)
    return symutil.number(value, limits, field)


# -- limit -----------------------------------------------------------------------------------------


class LimitIn(ToolModel):
    """An expression, a variable and the point it approaches."""

    expr: MathText
    """The expression, e.g. "sin(x)/x" or "(1 + 1/n)^n"."""

    variable: VarName | None = None
    """The variable; may be omitted when the expression has one variable."""

    to: PointValue = 0.0
    """The point approached: a number, "oo" or "-oo"."""

    direction: Literal["both", "+", "-"] = "both"
    """Two-sided ("both"), from the right ("+") or from the left ("-")."""


class LimitOut(ToolModel):
    """A limit, or the one-sided limits when they differ."""

    exists: bool
    """Whether the (requested) limit exists, possibly as ±∞."""

    value: MathOut | None
    """The limit when it exists (may be oo or -oo)."""

    left: MathOut | None
    """Limit from the left (two-sided requests at a finite point)."""

    right: MathOut | None
    """Limit from the right (two-sided requests at a finite point)."""

    numeric: float | None
    """The limit as a float when finite."""


def limit(inp: LimitIn, limits: ToolLimits) -> LimitOut:
    """Limit of an expression as a variable approaches a point or ±∞, two-sided or one-sided."""
    f = symutil.expr(inp.expr, limits)
    var = _one_var(inp.variable, f)
    x0 = _bound(inp.to, limits, "to")
    if x0.free_symbols:
        raise ToolError("the point approached must be a number, oo or -oo")
    if x0.is_infinite or inp.direction != "both":
        val = sp.limit(f, var, x0, dir="-" if inp.direction == "-" else "+")
        ok = not val.has(sp.AccumBounds, sp.nan, sp.zoo, sp.Limit)
        return LimitOut(
            exists=ok,
            value=MathOut.of(val) if ok else None,
            left=None,
            right=None,
            numeric=finite_float(val) if ok else None,
        )
    left, right = sp.limit(f, var, x0, dir="-"), sp.limit(f, var, x0, dir="+")
    same = (
        bool(sp.simplify(left - right) == 0)
        if not (left.is_infinite or right.is_infinite)
        else left == right
    )
    ok = same and not left.has(sp.AccumBounds, sp.nan, sp.zoo, sp.Limit)
    return LimitOut(
        exists=ok,
        value=MathOut.of(left) if ok else None,
        left=MathOut.of(left),
        right=MathOut.of(right),
        numeric=finite_float(left) if ok else None,
    )


# -- taylor ----------------------------------------------------------------------------------------


class TaylorIn(ToolModel):
    """An expression and the expansion point and degree."""

    expr: MathText
    """The expression, e.g. "e^x", "log(1 + x)" or "sigmoid(x)"."""

    variable: VarName | None = None
    """Expansion variable; may be omitted when the expression has one variable."""

    about: PointValue = 0.0
    """Expansion point a (0 gives a Maclaurin series)."""

    degree: int = Field(default=5, ge=0, le=20)
    """Highest power of (x − a) kept."""


class TaylorOut(ToolModel):
    """A Taylor polynomial."""

    polynomial: MathOut
    """Terms up to (x − a)^degree."""

    series: MathOut
    """The same with the order term O((x − a)^(degree+1))."""


def taylor(inp: TaylorIn, limits: ToolLimits) -> TaylorOut:
    """Taylor (or Laurent/Puiseux) series of an expression about a point up to a given degree."""
    f = symutil.expr(inp.expr, limits)
    var = _one_var(inp.variable, f)
    a = _bound(inp.about, limits, "about")
    if a.free_symbols or a.is_infinite:
        raise ToolError("the expansion point must be a finite number")
    s = sp.series(f, var, a, n=inp.degree + 1)
    return TaylorOut(polynomial=MathOut.of(s.removeO()), series=MathOut.of(s))


TOOLS = (differentiate, gradient, jacobian, integrate, limit, taylor)
