"""Formula claims in a draft: only what is shown wrong is failed (and removed from the answer).

An equation that holds for some values (a constraint, an equation to solve, "definition = value")
is a condition, not an identity: unverifiable, never removed. A derivative, an integral, arithmetic
with numbers only, an identity claim that fails, an equation that holds for no value, and a chain
whose numeric steps contradict each other are still failed.
"""

from __future__ import annotations

from typing import Any

import pytest

from mltutor.agent.events import Citation
from mltutor.agent.tutor.claims import verify
from mltutor.agent.tutor.graph import build_graph
from mltutor.agent.tutor.state import RunContext
from mltutor.agent.tutor.toolbox import ToolBox
from tests.agent.fakes import ScriptedChatModel, plain

# correct in context, but not identities: the checker cannot decide them, so they must stay
CONDITIONS = [
    "x + y = 1",  # a constraint
    "a x^2 + b x + c = 0",  # an equation to solve
    "x^2 = 4",
    "3x = x + 4",  # a solving step with the unknown on both sides
    "p(1-p) = 0.25",
    "P(A|B) = P(A)",  # independence, stated
    "f(x) = x^2 = 4",  # definition = value at some point
    "P(A|B) = P(B|A)P(A)/P(B) = 0.3",  # Bayes' rule, then its value for numbers given elsewhere
    "Var(X) = E[X^2] - E[X]^2 = 2",
    "2x = 4 = 2*2",  # a condition, then arithmetic that holds
]

# shown wrong: these must still fail
WRONG = [
    ("\\frac{d}{dx} x^2 = 3x", "the correct value is 2*x"),  # a derivative
    ("\\int x dx = x^2 + C", "2 times the correct one"),  # an antiderivative
    ("2+2 = 5", "the correct value is 4"),  # arithmetic
    ("1.4e11/6.93e10 ≈ 20", "2.0202"),  # arithmetic with a wrong order of magnitude
    ("(a+b)^2 = a^2 + b^2", "a term was dropped: 2*a*b"),  # an identity claim in two variables
    ("\\log(x^2) = \\log(x)^2", "the correct value is log(x^2)"),  # with functions
    ("x + 1 = x", "the correct value is x + 1"),  # holds for no value at all
    ("e^x e^{-x} = 2", "the correct value is 1"),
    ("Var(X) = E[X^2] - E[X]^2 = 4 - 1 = 2", "the correct value is 3"),  # numbers contradict
    ("2x = 6 = 2*2", "the correct value is 6"),  # a condition, then arithmetic that fails
]


@pytest.mark.parametrize("claim", CONDITIONS)
def test_a_condition_is_unverifiable_not_wrong(claim: str) -> None:
    v = verify(f"We have ${claim}$.", [])
    assert v.claims_failed == 0, v.failures
    assert v.failed_spans == []
    assert v.unverifiable + len(v.verified) == 1


@pytest.mark.parametrize(("claim", "why"), WRONG)
def test_what_is_shown_wrong_still_fails(claim: str, why: str) -> None:
    v = verify(f"We have ${claim}$.", [])
    assert v.claims_failed == 1 and v.failed_spans == [claim]
    assert v.failures[0].startswith(f"`{claim}` is wrong")
    assert why in v.failures[0]


def test_the_failure_names_the_step_that_is_wrong() -> None:
    """In ``2x = 6 = 2*2`` the condition ``2x = 6`` is fine; ``6 = 2*2`` is what fails."""
    v = verify("$2x = 6 = 2*2$", [])
    assert "2/3 times the correct one" in v.failures[0]
    assert "3/x" not in v.failures[0]  # not the comparison of 2x with 6


def test_identities_that_hold_are_verified() -> None:
    text = "$(a+b)^2 = a^2 + 2ab + b^2$ and $\\frac{d}{dx} x^2 = 2x$ and $2+2 = 4$."
    v = verify(text, [])
    assert v.claims_failed == 0 and len(v.verified) == 3


HIT = Citation(
    label="probability § Bayes' rule",
    topic="probability",
    heading="Probability > Bayes' rule",
    source="probability.md",
    score=1.0,
    text="Bayes' rule: P(A|B) = P(B|A) P(A) / P(B).",
)

DRAFT = "\n".join(
    [
        "Bayes' rule [1]: $P(A|B) = P(B|A)P(A)/P(B) = 0.3$ with the numbers above.",
        "The weights satisfy the constraint $w_1 + w_2 = 1$.",
        "For the variance, $Var(X) = E[X^2] - E[X]^2 = 2$.",
        "The minimum is where $2w - 4 = 0$, so $w = 2$.",
        "A common slip is $\\frac{d}{dx} x^2 = 3x$.",
        "And $2+2 = 5$.",
        "So the model sees 1.4e11/6.93e10 ≈ 20 tokens per parameter.",
    ]
)


def test_answer_keeps_correct_lines_and_removes_wrong_ones() -> None:
    """Through the graph with the scripted model: the draft's conditions and "definition = value"
    lines survive; the wrong derivative, sum and ratio are removed, visibly."""
    model = ScriptedChatModel([DRAFT])
    graph = build_graph(model, ToolBox(), lambda query, k, **kw: [HIT][:k])
    state: dict[str, Any] = {}
    for mode, chunk in graph.stream(
        {"question": "How do I use Bayes' rule and the variance formula?"},
        context=RunContext(max_revisions=0),
        stream_mode=["custom", "values"],
    ):
        if mode == "values":
            state = plain(chunk)
    answer = state["answer"]
    for kept in DRAFT.splitlines()[:4]:
        assert kept in answer
    for removed in DRAFT.splitlines()[4:]:
        assert removed not in answer
    assert "3 line(s) with formulas that did not verify were removed" in answer
    v = state["verification"]
    assert v["claims_failed"] == 3 and v["unverifiable"] >= 3
