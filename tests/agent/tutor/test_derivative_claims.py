"""Derivatives stated in words are checked like formulas. The wrong sentences below are what the
embedded model wrote after a correct computed result (bench A/B run, issue 9), and the checker had
passed them as "2 of 2 formulas verified"."""

from __future__ import annotations

from mltutor.agent.tutor.answer import _drop_lines, compose_answer
from mltutor.agent.tutor.claims import verify
from mltutor.agent.tutor.derivative_claims import derivative_claims
from mltutor.agent.tutor.prose import split_sentences
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
    sentence = "The derivative of $x^2$ with respect to x is $2x$."
    assert derivative_claims(sentence, []) == [(sentence, "\\frac{d}{dx}\\left(x^2\\right) = 2x")]


# sentences a model writes after a computed result that are right, or not a first derivative
# stated whole, and must never be checked as "d/dx(A) = B" (second pair of eyes on the change)
NOT_CLAIMS = [
    (
        "x^3 cos(x)",
        "For $x^3$, the derivative is $3x^2$, and for $\\cos x$, the derivative is $-\\sin x$.",
    ),
    ("x^3 cos(x)", "Для $\\sin x$ производная равна $\\cos x$."),
    ("x^3", "The second derivative is $6x$."),
    (None, "The second derivative of $x^3$ is $6x$."),
    ("x^3", "Вторая производная равна $6x$."),
    (None, "The antiderivative of $x^2$ is $x^3/3$."),
    (None, "The derivative of $x^2$ at zero is $0$."),
    (None, "Производная от $x^3$ в нуле равна $0$."),
    (None, "The derivative of $x^3$ evaluated at 1 is $3$."),
    (None, "The derivative of $x^2 - 4x$ is $0$, so $x = 2$."),
    (None, "The minimum is where the derivative of $x^2 - 4x$ is $0$: $x = 2$."),
    (None, "By the chain rule, the derivative of $\\sin(x^2)$ is $\\cos(x^2)$ times $2x$."),
    (None, "The derivative of $x^2 \\sin x$ is $2x \\sin x$ plus $x^2 \\cos x$."),
    (None, "Производная $\\sin(x^2)$ равна $\\cos(x^2)$, умноженному на $2x$."),
    ("x^2", "Let $f(x) = x^2$. The derivative of $f$ is $2x$."),
    ("x^2 sin(x)", "The derivative of $u$ is $2x$."),
    ("x^3 cos(x)", "Thus the derivative is $-\\sin x$ times $x^3$ plus $3x^2 \\cos x$."),
    ("1/(1+exp(-x))", "The derivative of $\\sigma$ is $\\sigma(1 - \\sigma)$."),
]


def test_pieces_conditions_and_other_orders_are_not_checked_as_the_derivative() -> None:
    for expr, sentence in NOT_CLAIMS:
        tools = [differentiate(expr)] if expr else []
        assert derivative_claims(sentence, tools) == [], sentence
        text = f"{tools[0].result_line}\n\n{sentence}" if tools else sentence
        assert verify(text, tools).claims_failed == 0, sentence


def test_a_failed_derivative_never_takes_the_computed_result_with_it() -> None:
    # the stated value "x" also occurs in the lead's text; only the model's sentence goes
    call = differentiate("x^3")
    own = "By the power rule, the derivative of $x$ is $x$. So the exponent drops by one."
    text = f"{call.result_line}\n\n{own}"
    v = verify(text, [call])
    assert v.claims_failed == 1
    answer, _ = compose_answer(Candidate(text=text, own_text=own, verification=v), [], [call])
    assert answer.startswith(str(call.result_line))
    assert "So the exponent drops by one." in answer
    assert "the derivative of $x$ is $x$" not in answer


def test_sentences_split_where_sentences_end() -> None:
    assert split_sentences("It is steep, e.g. $2+2=5$ here. Then it is fine.") == [
        "It is steep, e.g. $2+2=5$ here.",
        "Then it is fine.",
    ]
    assert split_sentences("Это так, т.е. $x = 1$. Далее.") == ["Это так, т.е. $x = 1$.", "Далее."]
    # a failed formula that itself crosses a sentence end takes its whole line
    text = "Take $$3x^2. \\quad 2 + 2 = 5$$ and note it.\n\nThe rest stays."
    kept, lines, sentences = _drop_lines(text, ["3x^2. \\quad 2 + 2 = 5"])
    assert (kept, lines, sentences) == ("The rest stays.", 1, 0)
