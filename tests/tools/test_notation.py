"""Issue 14 notation and issue 15 correctness items, one behaviour per test.

Reference derivatives are the ones SymPy's test suite asserts (sympy/functions/elementary/tests/
test_trigonometric.py::test_asin etc.); the numeric items are the inputs quoted in issue 15.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from mltutor.tools.checker import check_derivation, format_report
from mltutor.tools.errors import ParseError, Unsupported
from mltutor.tools.parsing import parse_math
from mltutor.tools.parsing.objects import Covariance, Expect, Prob, Variance

x = sp.Symbol("x", real=True)


# -- inverse functions (issue 14 §1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sin^-1(x)", sp.asin(x)),
        ("sin^{-1}(x)", sp.asin(x)),
        (r"\sin^{-1} x", sp.asin(x)),
        (r"\tan^{-1}(x)", sp.atan(x)),
        ("tan⁻¹(x)", sp.atan(x)),
        ("cos⁻¹ x", sp.acos(x)),
        ("sinh^-1(x)", sp.asinh(x)),
        (r"\sinh^{-1}(x/2)", sp.asinh(x / 2)),
        (r"\cosh^{-1} x", sp.acosh(x)),
        ("tanh^{-1}(x)", sp.atanh(x)),
        ("sin^(-1)(x)", sp.asin(x)),
        ("asinh(x)", sp.asinh(x)),
        ("acosh(x)", sp.acosh(x)),
        ("atanh(x)", sp.atanh(x)),
        ("arsinh(x)", sp.asinh(x)),
        ("arcosh(x)", sp.acosh(x)),
        ("artanh(x)", sp.atanh(x)),
        ("arcsinh(x/2)", sp.asinh(x / 2)),
        (r"\operatorname{arsinh}(x)", sp.asinh(x)),
        (r"\operatorname{arcosh} x", sp.acosh(x)),
        ("arcsec(x) + arccsc(x) + arccot(x)", sp.asec(x) + sp.acsc(x) + sp.acot(x)),
        ("sech(x) csch(x) coth(x)", sp.sech(x) * sp.csch(x) * sp.coth(x)),
    ],
)
def test_inverse_function_spellings(text: str, expected: object) -> None:
    assert parse_math(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sin^2 x", sp.sin(x) ** 2),
        (r"\sin^2 x", sp.sin(x) ** 2),
        ("(sin x)^{-1}", 1 / sp.sin(x)),
        ("sin(x)^{-1}", 1 / sp.sin(x)),
        ("1/sin(x)", 1 / sp.sin(x)),
        ("x^-1", 1 / x),
    ],
)
def test_powers_and_reciprocals_stay_what_they_were(text: str, expected: object) -> None:
    assert parse_math(text) == expected


def test_inverse_of_a_function_without_one_is_not_guessed() -> None:
    with pytest.raises(Unsupported, match="ambiguous"):
        parse_math("log^{-1}(x)")


@pytest.mark.parametrize(
    ("text", "integrand"),
    [
        (r"\int \frac{dx}{4+9x^{2}}", 1 / (4 + 9 * x**2)),
        (r"\int \frac{x\,dx}{1+x^2}", x / (1 + x**2)),
        ("∫ dx/(1 + x^2)", 1 / (1 + x**2)),
        ("∫ dx", sp.Integer(1)),
    ],
)
def test_differential_in_the_numerator(text: str, integrand: object) -> None:
    got = parse_math(text)
    assert isinstance(got, sp.Integral)
    assert sp.simplify(got.function - integrand) == 0 and got.limits[0][0] == x


@pytest.mark.parametrize(
    "text",
    [
        "∫ 1/√(1−x²) dx = sin^{-1}(x) + C",
        r"\int \frac{dx}{4+9x^{2}} = \frac{1}{6}\tan^{-1}\left(\frac{3x}{2}\right) + C",
        "d/dx arcsinh(x/2) = 1/sqrt(x^2 + 4)",
        "d/dx acosh(x) = 1/sqrt(x^2 - 1)",
        "d/dx arcsin(x/3) = 1/sqrt(9 - x^2)",
        "∫ 1/sqrt(x^2 - 1) dx = cosh^-1(x) + C",
        "d/dx asech(x) = -1/(x sqrt(1 - x^2))",
    ],
)
def test_domains_are_respected(text: str) -> None:
    """acosh lives on x >= 1, arcsin on [-1, 1]: outside, the real forms of the derivative differ
    (1/sqrt(x-1)/sqrt(x+1) is -1/sqrt(x^2-1) for x < -1), so samples must stay in the domain."""
    report = check_derivation(text)
    assert report.verdict == "correct", format_report(report)


# -- statistics and ML notation (issue 14 §1b) ------------------------------------------------------


def test_expectation_variance_covariance_probability_are_read() -> None:
    X, Y = sp.Symbol("X", real=True), sp.Symbol("Y", real=True)
    assert parse_math("E[X]") == Expect(X) == parse_math(r"\mathbb{E}[X]") == parse_math("𝔼[X]")
    assert parse_math("Var(X)") == Variance(X) == parse_math(r"\operatorname{Var}(X)")
    assert parse_math("Cov(X, Y)") == Covariance(X, Y)
    conditional = parse_math("P(A|B)")
    assert isinstance(conditional, Prob) and len(conditional.args) == 2
    assert parse_math(r"P(A \mid B)") == conditional == parse_math("P(A | B)")
    assert str(parse_math("P(H | fair)")) == "P(H | fair)"
    assert parse_math("P(A ∩ B)") == parse_math("P(B, A)") == parse_math(r"P(A \cap B)")
    assert parse_math("P(A^c)") == parse_math("P(¬A)") == parse_math(r"P(\bar{A})")
    assert parse_math("p(1 - p)") == sp.Symbol("p", real=True) * (1 - sp.Symbol("p", real=True))


def test_sums_and_nabla_are_read() -> None:
    i, n = sp.Symbol("i", real=True), sp.Symbol("n", real=True)
    assert parse_math(r"\sum_{i=1}^{n} i") == sp.Sum(i, (i, 1, n))
    assert parse_math("Σ_{i=1}^n i") == sp.Sum(i, (i, 1, n))
    assert parse_math("Σ_i i") == sp.Sum(i, (i, 1, n))
    assert parse_math("Σ^{-1}") == sp.Symbol("Sigma", real=True) ** -1
    w = sp.Symbol("w", real=True)
    assert parse_math(r"\nabla_w (w^2)") == sp.Derivative(w**2, w)
    assert parse_math("∇_{w} w^2") == sp.Derivative(w**2, w) == parse_math("∇_w w^2")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("E[2X + 3] = 2E[X] + 3", "correct"),
        ("Var(aX + b) = a^2 Var(X)", "correct"),
        ("P(A|B) = P(B|A) P(A) / P(B)", "correct"),
        (
            "P(H | fair) = 0.5\nP(fair) = 0.5\nP(H) = 0.75\nP(fair | H) = 0.5*0.5/0.75 = 1/3",
            "correct",
        ),
        ("P(H | fair) = 0.5\nP(fair) = 0.5\nP(H) = 0.75\nP(fair | H) = 0.5", "incorrect"),
        ("\\sum_{i=1}^{10} i = 55", "correct"),
        ("\\sum_{i=1}^{10} i = 56", "incorrect"),
        ("L = ||Xw - y||^2\n∇_w L = 2 X^T (Xw - y)", "correct"),
        ("L = ||Xw - y||^2\n∇_w L = X^T (Xw - y)", "incorrect"),
        ("Var(X) = 4\nE[X] = 1\nE[X^2] = 5", "correct"),
        ("E[X | Y] = 3", "unverifiable"),
    ],
)
def test_what_can_be_checked_is_checked(text: str, verdict: str) -> None:
    report = check_derivation(text)
    assert report.verdict == verdict, format_report(report)


@pytest.mark.parametrize(
    "text",
    [
        "d/dw L = 2 X^T (Xw - y)",  # issue 14: L was never defined
        "UᵀU = I",  # issue 14: a property of U, not an identity
        "X^\\top X w = X^\\top y",  # an equation in w
        "Xᵀ = X",
        "∇_x x^T A x = 2 A x",  # only for symmetric A
        "∂/∂X tr(AX) = A",  # numerator layout
        "E[XY] = E[X]E[Y]",  # needs independence
        "dL/dw = 2w",
        "d/dw L = 2w",
        "Σ_i w_i = 1",
        "E_{x}[x] = 0",
    ],
)
def test_what_cannot_be_decided_is_never_wrong(text: str) -> None:
    report = check_derivation(text)
    assert report.verdict == "unverifiable", format_report(report)
    assert all(s.status != "wrong" for s in report.steps)


def test_transpose_is_never_read_as_a_power() -> None:
    for text in ("(X^T)^T = X", "(X^\\top)^\\top = X", "(Xᵀ)ᵀ = X", "X^{T} X = (X^T X)^T"):
        report = check_derivation(text)
        assert report.verdict == "correct", format_report(report)
    report = check_derivation("tr(X^T X) = tr(X)^2")
    assert report.verdict == "incorrect" and "random matrices" in report.steps[0].message
    report = check_derivation("X^T X = X X^T")  # true for symmetric X, so not wrong
    assert report.verdict == "unverifiable" and "symmetric" in report.steps[0].message


# -- diagnoses (issue 14 §2) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("d/dx 2^x = 2^x", "ln(2)"),
        ("d/dx 10^x = 10^x", "ln(10)"),
        ("d/dx π x^2 = 2x", "π"),
        ("d/dx e^{2x} = e^{2x}", "chain-rule"),
        ("d/dx x^3 = 3x^3", "exponent"),
        ("d/dx (x^2 sin x) = 2x cos x", "product rule"),
        ("d/dx ln x = x", "reciprocal"),
        ("∫ x^3 dx = 3x^2", "differentiated"),
        ("d/dx x^3 = x^4/4", "integrated"),
        ("1 - 0.95^10 = 0.5987", "complement"),
        ("E[X^2] = E[X]^2", "Var(X)"),
        ("(AB)^T = A^T B^T", "reverses"),
        ("∇_x ‖x‖² = x", "1/2"),
    ],
)
def test_diagnoses_are_readable(text: str, fragment: str) -> None:
    report = check_derivation(text)
    wrong = next(s for s in report.steps if s.status == "wrong")
    assert wrong.diagnosis and fragment in wrong.diagnosis, format_report(report)
    assert not re.search(r"\d{5,}/\d{5,}", wrong.diagnosis)  # no rounded (ln 2)² fractions


# -- numbers (issue 15 §4) --------------------------------------------------------------------------


def test_long_decimals_do_not_crash() -> None:
    report = check_derivation("0.33333333333333333333333333333 = 1/3")
    assert report.verdict == "correct", format_report(report)
    report = check_derivation("1/3 = 0.33333333333333333333333333334")
    assert report.verdict == "incorrect", format_report(report)


def test_huge_factorial_is_unverifiable_with_a_reason() -> None:
    report = check_derivation("(10^400)! = 1")
    assert report.verdict == "unverifiable"
    assert "too large" in report.steps[0].message


@pytest.mark.parametrize(
    "text",
    [
        "0.05^10 = 0",
        "x + 10^(-13) = x",
        "10^(-30) = 0",
        "e^(-100) = 0",
        "2^(-60) + x = x",
        "1 + 10^{-20} = 1",
    ],
)
def test_tiny_differences_are_differences(text: str) -> None:
    report = check_derivation(text)
    assert report.verdict == "incorrect", format_report(report)


@pytest.mark.parametrize(
    "text",
    [
        "sin(π/7)^2 + cos(π/7)^2 = 1",
        "log(8)/log(2) = 3",
        "sqrt(2) sqrt(8) = 4",
        "e^{ln 5} = 5",
        "(x + 1)^2 - x^2 - 2x = 1",
        "sin(x)^2 + cos(x)^2 - 1 = 0",
    ],
)
def test_exact_equalities_with_cancellation_hold(text: str) -> None:
    report = check_derivation(text)
    assert report.verdict == "correct", format_report(report)


def test_unicode_fractions_and_superscript_letters() -> None:
    assert parse_math("½x") == x / 2
    n = sp.Symbol("n", real=True)
    assert parse_math("xⁿ") == x**n and parse_math("xⁿ⁻¹") == x ** (n - 1)
    with pytest.raises(ParseError):
        parse_math("x⁻")


# -- conditions and constants of table formulas ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("d/dx |x| = 1 for x > 0", "correct"),
        (r"\frac{d}{dx} \text{ReLU}(x) = 1 \text{ for } x > 0", "correct"),
        ("d/dx |x| = 1", "incorrect"),
        ("sqrt(x^2) = x for x ≥ 0", "correct"),
        ("sqrt(x^2) = x", "incorrect"),
        ("ln(xy) = ln x + ln y for x, y > 0", "correct"),
        (r"\sum_{k=0}^{\infty} x^k = \frac{1}{1-x} \quad \text{for } |x| < 1", "correct"),
        ("∇_x x^T A x = 2Ax for symmetric A", "correct"),
        ("x^2 = x if x is 0 or 1", "unverifiable"),  # a condition it cannot read: never wrong
        (r"\int \frac{1}{\sqrt{a^2 - x^2}} dx = \arcsin\frac{x}{a} + C", "correct"),  # a > 0
        ("∫ 1/(a^2 + x^2) dx = (1/a) arctan(x/a) + C", "correct"),
        ("d/dx tan^(-1)x = 1/(1 + x^2)", "correct"),
        (r"\sum_{k=0}^{n} \binom{n}{k} = 2^n", "correct"),
        (r"\text{Var}(X) = \mathbb{E}[X^2] - (\mathbb{E}[X])^2", "correct"),
    ],
)
def test_conditions_and_table_constants(text: str, verdict: str) -> None:
    report = check_derivation(text)
    assert report.verdict == verdict, format_report(report)


def test_positive_constant_is_stated_as_an_assumption() -> None:
    report = check_derivation(r"\int \frac{dx}{\sqrt{a^2 - x^2}} = \arcsin\frac{x}{a} + C")
    assert "a > 0" in report.steps[0].message


def test_antiderivative_on_one_branch_is_not_wrong() -> None:
    """∫ dx/(x√(x²−1)) = arcsec x + C holds for x > 1 (Stewart's branch makes it hold for all
    |x| > 1); SymPy's arcsec differs for x < −1, so this is undecided, never wrong."""
    report = check_derivation("∫ 1/(x sqrt(x^2 - 1)) dx = arcsec(x) + C")
    assert report.verdict == "unverifiable" and "positive x" in report.steps[0].message
    report = check_derivation("∫ 1/(x sqrt(x^2 - 1)) dx = 2 arcsec(x) + C")
    assert report.verdict == "incorrect"


@pytest.mark.parametrize(
    "text",
    [
        "d/dx log_a(x) = 1/(x ln a)",
        "d/dx arctan(x) + d/dx arccot(x) = 0",
        "P(A ∪ B) = P(A) + P(B) for disjoint A and B",
        "P(Aᶜ) = 1 - P(A)",
    ],
)
def test_more_notation_holds(text: str) -> None:
    report = check_derivation(text)
    assert report.verdict == "correct", format_report(report)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # a derivative along a defined quantity: backprop through z = w x + b
        (
            "z = w x + b\na = σ(z)\nL = -(y log(a) + (1 - y) log(1 - a))\ndL/dz = a - y\n"
            "dL/dw = (a - y) x",
            "correct",
        ),
        ("ŷ = w x + b\nL = (ŷ - y)^2\n∂L/∂ŷ = 2ŷ", "incorrect"),
        # numbers plugged in for letters whose values no line states
        ("SE = σ/√n = 2/√100 = 0.2", "correct"),
        ("z = (x̄ − μ)/(σ/√n) = (52 − 50)/(10/√100) = 2", "correct"),
        ("P(F|H) = P(H|F)P(F)/P(H) = 0.5*0.5/0.75 = 1/3", "correct"),
        ("σ/√n = 0.2", "unverifiable"),
        ("SE = σ/√n = 2/√100 = 0.3", "incorrect"),
        # sums: over values of x, subscripts after accents, one term of a sum
        ("E[X] = Σ_x x P(X = x)", "unverifiable"),
        ("MSE = (1/n) Σ_i (y_i − ŷ_i)²\n∂MSE/∂ŷ_1 = −(2/n)(y_1 − ŷ_1)", "correct"),
        ("MSE = (1/n) Σ_i (y_i − ŷ_i)²\n∂MSE/∂ŷ_2 = (2/n)(y_2 − ŷ_2)", "incorrect"),
        ("MSE = (1/n) Σ_i (y_i − ŷ_i)²\n∂MSE/∂ŷ_i = −(2/n)(y_i − ŷ_i)", "unverifiable"),
        (r"\theta_t - \eta (\theta_t - 1) = (1 - \eta)\theta_t + \eta", "correct"),
    ],
)
def test_ml_derivation_patterns(text: str, verdict: str) -> None:
    report = check_derivation(text)
    assert report.verdict == verdict, format_report(report)
