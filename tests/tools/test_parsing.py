"""The safe parser: every notation the issue lists, round-trips, and errors with columns."""

from __future__ import annotations

import pytest
import sympy as sp

from mltutor.tools.errors import LimitExceeded, ParseError, Unsupported
from mltutor.tools.parsing import (
    ParseContext,
    parse_chain,
    parse_equation,
    parse_math,
    parse_symbol,
)
from mltutor.tools.parsing.base import Definition
from mltutor.tools.render import latex, plain

x, y, z, w = (sp.Symbol(n, real=True) for n in "xyzw")
sig = 1 / (1 + sp.exp(-x))


def S(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def same(text: str, expected: object) -> None:
    got = parse_math(text)
    assert got == expected or sp.simplify(got - expected) == 0, f"{text!r} -> {got}, not {expected}"


PLAIN = [
    ("x^2", x**2),
    ("x**2", x**2),
    ("2x", 2 * x),
    ("x y", x * y),
    ("2(x+1)", 2 * x + 2),
    ("x sin(x)", x * sp.sin(x)),
    ("e^(-x)", sp.exp(-x)),
    ("exp(x)", sp.exp(x)),
    ("log(x)", sp.log(x)),
    ("ln(x)", sp.log(x)),
    ("sqrt(x)", sp.sqrt(x)),
    ("sin(x)", sp.sin(x)),
    ("cos(x) + tan(x)", sp.cos(x) + sp.tan(x)),
    ("tanh(x)", sp.tanh(x)),
    ("sigmoid(x)", sig),
    ("softplus(x)", sp.log(1 + sp.exp(x))),
    ("relu(x)", sp.Max(0, x)),
    ("abs(x)", sp.Abs(x)),
    ("x1 + x_1", 2 * S("x_1")),
    ("z_2", S("z_2")),
    ("yhat - y", S("yhat") - y),
    ("1.4e11", sp.Integer(140_000_000_000)),
    ("1.4 * 10^10", sp.Integer(14_000_000_000)),
    ("2xy", 2 * x * y),
    ("sinx", sp.sin(x)),
    ("lnx", sp.log(x)),
    ("-x^2", -(x**2)),
    ("2^3^2", sp.Integer(512)),
    ("1/2x", x / 2),
    ("x^-1", 1 / x),
    ("e^-x", sp.exp(-x)),
    ("log_2(8)", sp.Integer(3)),
    ("log(x, 2)", sp.log(x, 2)),
    ("sin^2(x)", sp.sin(x) ** 2),
    ("|x - 1|", sp.Abs(x - 1)),
    ("5!", sp.Integer(120)),
    ("40%", sp.Rational(2, 5)),
    ("max(0, x)", sp.Max(0, x)),
    ("[x + 1]^2", (x + 1) ** 2),
    (".5x", x / 2),
    ("w(x + 1)", w * x + w),
    ("x(1 - x)", x - x**2),
    ("p(1-p)", S("p") * (1 - S("p"))),
]

UNICODE = [
    ("σ(x)", sig),
    ("λ μ", S("lambda") * S("mu")),
    ("θ + α + β + ε", S("theta") + S("alpha") + S("beta") + S("epsilon")),
    ("π", sp.pi),
    ("x · y", x * y),
    ("x × y", x * y),
    ("x − y", x - y),
    ("√x", sp.sqrt(x)),
    ("√(x + 1)", sp.sqrt(x + 1)),
    ("x² + y³", x**2 + y**3),
    ("σ(x)(1 − σ(x))", sig * (1 - sig)),
    ("σ(1 − σ)", S("sigma") * (1 - S("sigma"))),
    ("ŷ", S("yhat")),
    ("θ₁ + θ1", 2 * S("theta_1")),
    ("x⁻¹", 1 / x),
    ("∞", sp.oo),
]

LATEX = [
    (r"\frac{1}{2}", sp.Rational(1, 2)),
    (r"\frac{x+1}{x-1}", (x + 1) / (x - 1)),
    (r"\sqrt{x}", sp.sqrt(x)),
    (r"\sqrt[3]{x}", sp.root(x, 3)),
    (r"x \cdot y", x * y),
    (r"x \times y", x * y),
    (r"\left( x + 1 \right)^2", (x + 1) ** 2),
    (r"\sigma", S("sigma")),
    (r"\lambda x", S("lambda") * x),
    (r"\log x", sp.log(x)),
    (r"\ln(x)", sp.log(x)),
    (r"\exp(x)", sp.exp(x)),
    (r"e^{-x^2}", sp.exp(-(x**2))),
    (r"x_{1}", S("x_1")),
    (r"\sin^2 x + \cos^2 x", sp.Integer(1)),
    (r"\log_2 x", sp.log(x, 2)),
    (r"\hat{y}", S("yhat")),
    (r"a\,b", S("a") * S("b")),
    (r"\mathrm{e}^{x}", sp.exp(x)),
    (r"\dfrac{1}{1 + e^{-x}}", sig),
    (r"\left| x \right|", sp.Abs(x)),
]


@pytest.mark.parametrize(("text", "expected"), PLAIN + UNICODE + LATEX)
def test_notation(text: str, expected: object) -> None:
    same(text, expected)


@pytest.mark.parametrize(
    ("text", "operand", "variables"),
    [
        ("d/dx x^2", x**2, [(x, 1)]),
        ("d/dx [x^2 + 1]", x**2 + 1, [(x, 1)]),
        ("d/dx (x^2 sin(x))", x**2 * sp.sin(x), [(x, 1)]),
        ("d/dx x^2 sin(x)", x**2 * sp.sin(x), [(x, 1)]),
        ("d/dx x^2 + 3x", x**2 + 3 * x, [(x, 1)]),
        ("∂/∂x (x^2 y)", x**2 * y, [(x, 1)]),
        (r"\frac{d}{dx} x^3", x**3, [(x, 1)]),
        (r"\frac{\partial}{\partial x} x y", x * y, [(x, 1)]),
        ("d^2/dx^2 x^4", x**4, [(x, 2)]),
        ("∂²/∂x² (x^3)", x**3, [(x, 2)]),
        (r"\frac{d^2}{dx^2} x^4", x**4, [(x, 2)]),
        (r"\frac{\partial^2}{\partial x \partial y} (x^2 y^2)", x**2 * y**2, [(x, 1), (y, 1)]),
    ],
)
def test_derivative_forms(text: str, operand: object, variables: list[tuple[object, int]]) -> None:
    got = parse_math(text)
    assert isinstance(got, sp.Derivative)
    assert sp.simplify(got.expr - operand) == 0
    assert [(v, n) for v, n in got.variable_count] == variables


def test_leibniz_with_definitions() -> None:
    body = (S("yhat") - y) ** 2
    ctx = ParseContext({"L": Definition("L", (), body)})
    for text in (
        "dL/dyhat",
        "∂L/∂yhat",
        r"\frac{dL}{d\hat{y}}",
        r"\frac{\partial L}{\partial yhat}",
    ):
        got = parse_math(text, ctx=ctx)
        assert isinstance(got, sp.Derivative), text
        assert got.doit() == sp.diff(body, S("yhat"))


def test_leibniz_without_definition_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="not defined"):
        parse_math("dL/dw")


def test_function_definitions_and_primes() -> None:
    ctx = ParseContext({"f": Definition("f", (x,), x**3)})
    assert parse_math("f(2)", ctx=ctx) == 8
    assert parse_math("f'(x)", ctx=ctx) == 3 * x**2
    assert parse_math("f''(y)", ctx=ctx) == 6 * y
    assert sp.simplify(parse_math("σ'(x)") - sig * (1 - sig)) == 0
    assert parse_math("tanh'(x)") == 1 - sp.tanh(x) ** 2
    assert parse_math("f(x)") == sp.Function("f")(x)


@pytest.mark.parametrize(
    ("text", "integrand", "limits"),
    [
        ("∫ x dx", x, (x,)),
        ("∫ 2x + 1 dx", 2 * x + 1, (x,)),
        ("∫_0^1 x^2 dx", x**2, (x, 0, 1)),
        (r"\int_0^1 x^2 \, dx", x**2, (x, 0, 1)),
        (r"\int_{0}^{\infty} e^{-x} dx", sp.exp(-x), (x, 0, sp.oo)),
        (r"\int x \, \mathrm{d}x", x, (x,)),
        (r"\int \frac{1}{x} dx", 1 / x, (x,)),
    ],
)
def test_integrals(text: str, integrand: object, limits: tuple[object, ...]) -> None:
    got = parse_math(text)
    assert isinstance(got, sp.Integral)
    assert sp.simplify(got.function - integrand) == 0
    assert tuple(got.limits[0]) == limits


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("x +", 4, "expected an expression"),
        ("(x + 1", 7, "expected ')'"),
        ("x + 1)", 6, "unexpected ')'"),
        ("2 * * 3", 5, "expected a number"),
        ("sin", 4, "expected '('"),
        ("x @ y", 3, "unexpected character '@'"),
        (r"\foo{x}", 1, "unsupported LaTeX command"),
        ("∫ x", 4, "expected dx"),
        ("(x]", 3, "expected ')'"),
        ("|x", 3, "expected '|'"),
        ("x = 1", 3, "expected one expression"),
        ("__import__('os').system('ls')", 17, "unexpected character '.'"),
        ("__import__('os')", 1, "expected a number"),
    ],
)
def test_errors_name_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_math(text)
    assert info.value.column == column, info.value
    assert fragment in str(info.value)
    assert "^" in info.value.caret()


@pytest.mark.parametrize(
    "text", ["2^10^10", "10^50000", "1e99999", "(2^1000)^1000", "100000!", "x^(10^7)"]
)
def test_size_limits(text: str) -> None:
    with pytest.raises(LimitExceeded):
        parse_math(text)


def test_nesting_limit() -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_math("(" * 500 + "x" + ")" * 500)


@pytest.mark.parametrize(
    "text",
    [
        "x^2 sin(x) + 3",
        "exp(-x^2/2)/sqrt(2 pi)",
        "log(1 + exp(x))",
        "(x - y)^2 / (2 sigma^2)",
        "1/(1 + exp(-w x))",
        "x_1^2 + x_2^2",
        "lambda (x + y - 1)",
    ],
)
def test_plain_round_trip(text: str) -> None:
    expr = parse_math(text)
    assert sp.simplify(parse_math(plain(expr)) - expr) == 0


@pytest.mark.parametrize(
    "text", ["x^2 sin(x)", "exp(-x)/(1 + exp(-x))", "sqrt(x^2 + 1)", "log(x) + tanh(x)"]
)
def test_latex_round_trip(text: str) -> None:
    expr = parse_math(text)
    assert sp.simplify(parse_math(latex(expr)) - expr) == 0


def test_chain_parts_and_decimals() -> None:
    parts = parse_chain("1 - 0.95^10 = 0.4013 ≈ 0.40")
    assert [p.relation for p in parts] == ["", "=", "≈"]
    assert [p.decimals for p in parts] == [None, 4, 2]
    assert parts[1].col == 15 and parts[1].text == "0.4013"


def test_equation_and_symbol() -> None:
    assert parse_equation("x + y = 1") == x + y - 1
    assert parse_symbol("x_1") == S("x_1") == parse_symbol("x1")
    assert parse_symbol("θ") == S("theta") == parse_symbol(r"\theta")
    with pytest.raises(ParseError):
        parse_symbol("x + 1")
    with pytest.raises(ParseError):
        parse_symbol("sin")
