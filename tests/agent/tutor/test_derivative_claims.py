"""Derivatives stated in words are checked like formulas. The wrong sentences below are what the
embedded model wrote after a correct computed result (bench A/B run, issue 9), and the checker had
passed them as "2 of 2 formulas verified"."""

from __future__ import annotations

from mltutor.agent.tutor.answer import compose_answer
from mltutor.agent.tutor.claims import verify
from mltutor.agent.tutor.derivative_claims import derivative_claims
from mltutor.agent.tutor.records import Candidate, ToolRecord
from mltutor.agent.tutor.toolbox import ToolBox


def differentiate(expr: str) -> ToolRecord:
    return ToolBox().run("differentiate", {"expr": expr, "wrt": []}, "router")


def test_a_wrong_derivative_stated_in_words_fails_and_its_sentence_goes() -> None:
    call = differentiate("x^3 cos(x)")
    own = (
        "This result is obtained by applying the product rule. The derivative of $x^3$ is $3x^2$, "
        "and the derivative of $\\cos(x)$ is $-\\sin(x)$. Therefore, the derivative of the product "
        "is $3x^2 \\cdot (-\\sin(x)) + \\cos(x) \\cdot 3x^2 = -3x^2 \\sin(x) + 3x^2 \\cos(x)$."
    )
    text = f"{call.result_line}\n\n{own}"
    v = verify(text, [call])
    assert v.claims_failed == 1, v.failures
    assert "the correct value is" in v.failures[0]
    # the two right sub-derivatives were checked and verified, not merely passed over
    assert sum("\\frac{d}{dx}" in c for c in v.verified) == 2
    answer, _ = compose_answer(Candidate(text=text, own_text=own, verification=v), [], [call])
    assert "-3x^2 \\sin(x) + 3x^2" not in answer
    assert "The derivative of $x^3$ is $3x^2$" in answer  # the right sentences stay
    assert "1 sentence(s) with formulas that did not verify were removed" in answer


def test_wrong_restatement_of_the_computed_result_fails() -> None:
    call = differentiate("x^2 sin(x)")
    own = (
        "The correct derivative of $x^2 \\sin(x)$ is indeed $x \\left(2x \\cos(x) + \\sin(x)\\right)$. "
        "This follows from the product rule."
    )
    v = verify(f"{call.result_line}\n\n{own}", [call])
    assert v.claims_failed == 1
    assert "x*(x*cos(x) + 2*sin(x))" in v.failures[0]


def test_right_statements_in_english_and_russian_verify() -> None:
    call = differentiate("x ln(x)")
    en = "The derivative of \\(x\\) is \\(1\\) and the derivative of $\\ln(x)$ is $\\frac{1}{x}$."
    ru = "Производная $\\ln(x)$ равна $1/x$, поэтому производная произведения равна $\\ln(x) + 1$."
    for own in (en, ru):
        v = verify(f"{call.result_line}\n\n{own}", [call])
        assert v.claims_failed == 0, v.failures
        assert v.claims_checked >= 2
    wrong_ru = "Производная $\\ln(x)$ равна $x$."
    assert verify(f"{call.result_line}\n\n{wrong_ru}", [call]).claims_failed == 1


def test_what_is_not_a_stated_derivative_is_left_alone() -> None:
    # no tool computed anything: "the derivative is $B$" has no known referent
    assert derivative_claims("So the derivative is $2x$.", []) == []
    # several variables and no tool: which variable is meant is unknown
    assert derivative_claims("The derivative of $x y$ is $y$.", []) == []
    # a derivative named but no value stated
    assert derivative_claims("The derivative of $x^2$ is easy to find.", []) == []
    # a condition to solve, not a stated derivative
    tool = [differentiate("x^2 - 4x")]
    assert derivative_claims("The derivative of $x^2 - 4x$ is $0$ at $x = 2$.", tool) == []
    assert derivative_claims("At the minimum the derivative is $0$ when $x = 2$.", tool) == []
    assert derivative_claims("Производная равна $0$ в точке $x = 2$.", tool) == []
    claims = derivative_claims("The derivative of $x^2$ with respect to x is $2x$.", [])
    assert claims == [("2x", "\\frac{d}{dx}\\left(x^2\\right) = 2x")]
