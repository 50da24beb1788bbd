"""A computed result sent as the start of the answer (assistant prefill) to a server that continues
it: read once, not restated, and never sent to an endpoint that would answer after it instead."""

from __future__ import annotations

from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.llm import EndpointConfig, OpenAIChatModel, continues_final_message
from mltutor.agent.tutor import prompts
from mltutor.agent.tutor.lead import relevant_evidence
from mltutor.agent.tutor.records import Lead, ToolRecord
from tests.agent.fakes import ScriptedChatModel
from tests.agent.tutor.test_graph import run

LEAD = "$$\\frac{d}{d x} x^{3} = 3 x^{2}$$"


class PrefillingModel(ScriptedChatModel):
    """A scripted model standing for a server that continues a final assistant message."""

    continues_final_message = True


def differentiate_call(line: str = LEAD) -> ToolRecord:
    return ToolRecord(
        name="differentiate",
        args={"expr": "x^3"},
        ok=True,
        summary=line,
        result_line=line,
        origin="router",
        grounded=True,
    )


def test_the_embedded_endpoint_continues_and_a_remote_one_does_not() -> None:
    embedded = OpenAIChatModel(EndpointConfig(model="m", embedded=True))
    remote = OpenAIChatModel(EndpointConfig(model="m", base_url="http://example.invalid/v1"))
    assert continues_final_message(embedded)
    assert not continues_final_message(remote)
    assert not continues_final_message(ScriptedChatModel([]))


def test_prefilled_lead_is_the_answer_start_and_is_not_repeated_in_the_prompt() -> None:
    hit = Citation(
        label="calculus § Power rule",
        topic="calculus",
        heading="Power rule",
        source="calculus.md",
        score=1.0,
        text="The power rule: d/dx x^n = n x^(n-1). " + "More words. " * 60,
    )
    call = differentiate_call()
    args: dict[str, Any] = {"lead": LEAD}
    old = prompts.draft_messages("derivative of x^3", [], [hit], [call], "auto", **args)
    new = prompts.draft_messages(
        "derivative of x^3", [], [hit], [call], "auto", prefill=True, **args
    )
    assert old[-1]["role"] == "user" and old[-1]["content"].count("3 x^{2}") == 2
    assert new[-1] == {"role": "assistant", "content": LEAD + "\n\n"}
    user = new[-2]["content"]
    assert "3 x^{2}" not in user  # the lead is read once, as the answer's start
    assert "derivative of x^3" in user
    assert "power rule" not in user and len(user) < 60  # only what changes per question
    # what to do with a prefilled result is in the system prompt, which the server keeps cached
    assert new[0] == old[0] and "already begins with a computed result" in new[0]["content"]
    # a revision still goes the old way: the previous answer and the failures follow
    revised = prompts.draft_messages(
        "derivative of x^3",
        [],
        [hit],
        [call],
        "auto",
        prefill=True,
        failures=["wrong"],
        previous="x",
        **args,
    )
    assert revised[-1]["role"] == "user" and "wrong" in revised[-1]["content"]


def test_the_prefilled_result_is_compact_latex() -> None:
    lead = (
        "$$\\frac{d}{d x} \\left(x^{2} \\sin{\\left(x \\right)}\\right) = "
        "x \\left(x \\cos{\\left(x \\right)} + 2 \\sin{\\left(x \\right)}\\right)$$"
    )
    call = differentiate_call(lead)
    messages = prompts.draft_messages(
        "d/dx x^2 sin x", [], [], [call], "auto", lead=lead, prefill=True
    )
    assert messages[-1]["content"].strip() == (
        "$$\\frac{d}{d x} (x^{2} \\sin(x)) = x (x \\cos(x) + 2 \\sin(x))$$"
    )
    assert prompts.compact_latex("\\left. f \\right|_{0} + \\left\\{ b \\right\\}") == (
        " f |_{0} + \\{ b \\}"
    )
    # braces that are arguments stay braces: \frac(a+b){2} would not be LaTeX
    assert prompts.compact_latex("\\frac{\\left(a+b\\right)}{2}") == "\\frac{(a+b)}{2}"


def test_graph_prefills_the_computed_result_for_a_continuing_model() -> None:
    model = PrefillingModel(["By the power rule [1], the exponent comes down and drops by one."])
    # (the prefilled prompt holds no notes, so the model's "[1]" is taken out)
    state, _ = run(model, "What is the derivative of x^3?")
    sent = model.stream_calls[0]["messages"]
    assert sent[-1]["role"] == "assistant"
    line = state["tool_calls"][0]["result_line"]
    assert sent[-1]["content"].strip() == prompts.compact_latex(line)
    assert state["answer"].startswith(line)
    assert state["answer"].count(line) == 1
    assert "exponent comes down" in state["answer"]
    assert "[1]" not in state["answer"].split("\n\nSource:")[0]  # it read no notes to cite


def test_other_chunks_of_the_leading_question_are_not_evidence_again() -> None:
    def chunk(qid: str, kind: str, language: str = "en") -> Citation:
        return Citation(
            label=f"regularization § {qid} {language}",
            topic="regularization",
            heading="h",
            source="regularization.md",
            score=1.0,
            text="t",
            kind=kind,
            question_id=qid,
            language=language,
        )

    lead = Lead(text="t", origin="notes", source=1, label="l", question_id="regularization-1")
    hits = [
        chunk("regularization-1", "question"),
        chunk("regularization-1", "question", "ru"),
        chunk("", "section"),
        chunk("regularization-2", "question"),
    ]
    kept = relevant_evidence(hits, lead)
    assert [(h.question_id, h.kind) for h in kept] == [
        ("regularization-1", "question"),
        ("", "section"),
    ]


def test_a_draft_cut_inside_a_formula_loses_its_last_sentence() -> None:
    cut = (
        "We apply the product rule to $x^2$ and $\\sin x$. Thus we have the terms.\n\n"
        "Therefore, the derivative of $x^2 \\sin(x)$ is $x (x \\cos(x) + 2 \\sin(x))"
    )
    assert prompts.finish(cut) == (
        "We apply the product rule to $x^2$ and $\\sin x$. Thus we have the terms."
    )
    whole = "The result is $2x$. It costs \\$5."
    assert prompts.finish(whole) == whole
    assert prompts.finish("Display: $$x^2$$ and $y$.") == "Display: $$x^2$$ and $y$."


def test_a_draft_cut_after_a_colon_loses_the_sentence_that_announced_the_formula() -> None:
    cut = "The derivative of $x^2$ is $2x$. Applying the product rule, we get:"
    assert prompts.finish(cut) == "The derivative of $x^2$ is $2x$."
    listed = "Justification:\n1. The derivative of $e^x$ is $e^x$.\n2. Applying the rule, we get:"
    assert prompts.finish(listed) == "Justification:\n1. The derivative of $e^x$ is $e^x$."
