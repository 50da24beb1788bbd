"""Right before eloquent: our notes lead the answer, prose is checked against them, Russian stays
Russian, and nothing is shown as checked when nothing was.

These drive the graph with a scripted model and a small, transparent statement checker (the real
grader has its own tests); what is under test here is what the graph does with the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.tutor.graph import build_graph
from mltutor.agent.tutor.lead import (
    choose_lead,
    corroborated,
    drop_repeats,
    heading_answers,
    language_of,
    trim,
)
from mltutor.agent.tutor.prose import sentences_of
from mltutor.agent.tutor.state import RunContext
from mltutor.agent.tutor.toolbox import ToolBox, grounded, numbers_in
from mltutor.knowledge.questions import Question
from tests.agent.fakes import ScriptedChatModel, plain

L1 = Question(
    id="regularization-1",
    topic="regularization",
    difficulty="medium",
    question="Why does L1 regularization give sparse weights while L2 does not?",
    reference_answer=(
        "The L1 ball is a diamond with corners on the axes, so the loss contours usually touch it "
        "at a corner where some weights are exactly zero. The L1 subgradient has constant size λ, "
        "so it pushes small weights all the way to zero, while the L2 gradient 2λw fades near zero."
    ),
    key_points=["diamond with corners on the axes", "constant-size subgradient"],
    follow_ups=["What prior corresponds to L1?"],
    question_ru="Почему L1-регуляризация даёт разреженные веса, а L2 нет?",
    reference_answer_ru=(
        "Шар L1 — это ромб с углами на осях, поэтому линии уровня функции потерь обычно касаются "
        "его в углу, где часть весов ровно нулевая. Субградиент L1 имеет постоянную величину λ."
    ),
    key_points_ru=["ромб с углами на осях", "субградиент постоянной величины"],
    follow_ups_ru=["Какое априорное распределение соответствует L1?"],
)

QUESTION_HIT = Citation(
    label="regularization § Q: Why does L1 regularization give sparse…",
    topic="regularization",
    heading="Q: Why does L1 regularization give sparse weights",
    source="notes/regularization.md",
    score=1.0,
    text="Interview question: ...\n\n" + L1.reference_answer,
    kind="question",
    question_id="regularization-1",
)
SECTION_HIT = Citation(
    label="regularization § Intuition",
    topic="regularization",
    heading="Regularization > Intuition",
    source="notes/regularization.md",
    score=0.8,
    text="L1 penalises |w|; L2 penalises w². Weight decay is L2 for SGD.",
)
OTHER_TOPIC = Citation(
    label="multiple-testing § Peeking",
    topic="multiple-testing",
    heading="Multiple testing > Peeking",
    source="notes/multiple-testing.md",
    score=0.5,
    text="Peeking at an A/B test inflates the false positive rate; Benjamini-Hochberg ...",
    kind="question",
    question_id="multiple-testing-3",
)


def retriever(query: str, k: int, *, exclude_question_ids: Any = ()) -> list[Citation]:
    hits = [QUESTION_HIT, SECTION_HIT, OTHER_TOPIC]
    return [h for h in hits if h.question_id not in exclude_question_ids][:k]


def bank_match(question: str) -> tuple[str, float, bool] | None:
    lowered = question.lower()
    if "l1" in lowered and ("sparse" in lowered or "разрежен" in lowered):
        return ("regularization-1", 0.9, True)
    if "l1" in lowered:
        return ("regularization-1", 0.5, False)  # a guess: leads only when retrieval agrees
    return None


def lookup(qid: str) -> Question | None:
    return L1 if qid == L1.id else None


@dataclass
class Verdict:
    sentence: str
    verdict: str
    evidence: str = ""
    source: int | None = None
    reason: str = ""


class KeywordChecker:
    """Contradicted when a sentence says L2 gives sparsity; supported when it mentions a corner
    or the subgradient; otherwise unsupported. Records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str], str | None]] = []

    def check_statements(
        self, sentences: list[str], evidence: list[str], *, language: str | None = None
    ) -> list[Verdict]:
        self.calls.append((sentences, evidence, language))
        out = []
        for s in sentences:
            low = s.lower()
            if "l2" in low and "sparse" in low and "not" not in low:
                out.append(Verdict(s, "contradicted", evidence[0][:80], 1, "swapped L1/L2"))
            elif "corner" in low or "subgradient" in low or "угл" in low:
                out.append(Verdict(s, "supported", evidence[0][:80], 1))
            else:
                out.append(Verdict(s, "unsupported"))
        return out


def run(
    model: Any, question: str, checker: Any = None, **ctx: Any
) -> tuple[dict[str, Any], list[Any]]:
    graph = build_graph(
        model,
        ToolBox(),
        retriever,
        statements=checker if checker is not None else KeywordChecker(),
        bank_match=bank_match,
        lookup=lookup,
    )
    events: list[Any] = []
    state: dict[str, Any] = {}
    for mode, chunk in graph.stream(
        {"question": question}, context=RunContext(**ctx), stream_mode=["custom", "values"]
    ):
        if mode == "custom":
            events.append(chunk)
        else:
            state = plain(chunk)
    return state, events


def test_notes_lead_comes_first_marked_and_cited() -> None:
    model = ScriptedChatModel(["For example, with two weights the corner (0, 1) is hit first [1]."])
    state, events = run(model, "Why does L1 regularization give sparse weights?")
    tokens = [e for e in events if e.type == "token"]
    assert tokens[0].origin == "notes"
    assert tokens[0].text.startswith("**From our notes** ([1] regularization § Q:")
    assert "diamond with corners" in tokens[0].text
    # the lead is streamed before the model is asked anything
    first_model = next(i for i, e in enumerate(events) if e.type == "token" and e.origin == "model")
    assert events.index(tokens[0]) < first_model
    answer = state["answer"]
    assert answer.startswith("**From our notes**") and "corner (0, 1)" in answer
    assert state["citations"][0]["question_id"] == "regularization-1"
    # the model was told what already opens the answer and asked only to add to it
    prompt = model.stream_calls[0]["messages"][-1]["content"]
    assert "already begins with this text from our notes" in prompt


def test_model_repeating_the_lead_is_not_shown_twice() -> None:
    copied = L1.reference_answer.split(". ")[0] + "."
    model = ScriptedChatModel([f"{copied} For example, the corner (0, 1) is hit first [1]."])
    state, _ = run(model, "Why does L1 regularization give sparse weights?")
    answer = state["answer"]
    assert answer.count("diamond with corners on the axes") == 1
    assert "corner (0, 1)" in answer
    assert drop_repeats("Entirely new words here about priors.", L1.reference_answer) == (
        "Entirely new words here about priors."
    )


def test_other_topics_chunks_are_not_evidence() -> None:
    model = ScriptedChatModel(["The subgradient argument [1] explains it."])
    state, _ = run(model, "Why does L1 regularization give sparse weights?")
    assert [h["topic"] for h in state["hits"]] == ["regularization", "regularization"]
    prompt = model.stream_calls[0]["messages"][-1]["content"]
    assert "Benjamini" not in prompt and "Peeking" not in prompt


def test_an_unconfident_bank_guess_leads_only_when_retrieval_agrees() -> None:
    def lead_for(question: str, hits: list[Citation]) -> str | None:
        lead, _ = choose_lead(question, hits, language="en", bank_match=bank_match, lookup=lookup)
        return lead.question_id if lead is not None else None

    # the guess (score 0.5, not confident) is confirmed by the top hit being that question's chunk
    assert lead_for("How does L1 zero out weights?", [QUESTION_HIT, SECTION_HIT]) == L1.id
    # ... not when retrieval puts something else first
    assert lead_for("How does L1 zero out weights?", [SECTION_HIT, QUESTION_HIT]) is None
    # ... nor when the question asks a computation of its own (numbers in it)
    assert lead_for("With L1 and lambda 0.5, which of w = 0.2, 3 become 0?", [QUESTION_HIT]) is None
    assert corroborated("Why is L1 sparse?", L1.id, [QUESTION_HIT])
    assert not corroborated("Why is L1 sparse for 3 weights?", L1.id, [QUESTION_HIT])


def test_excluded_question_never_leads_nor_is_retrieved() -> None:
    model = ScriptedChatModel(["L1 sets small weights to zero [1]."])
    state, events = run(
        model,
        "Why does L1 regularization give sparse weights?",
        exclude_question_ids=("regularization-1",),
    )
    assert all(e.origin == "model" for e in events if e.type == "token")
    assert all(h["question_id"] != "regularization-1" for h in state["hits"])
    assert "diamond" not in model.stream_calls[0]["messages"][-1]["content"]


def test_contradicting_sentence_is_removed_and_said_so() -> None:
    bad = (
        "With L2 the weights become sparse too, just more slowly [1]. "
        "The corner of the diamond is where a weight is zero [1]."
    )
    good = "The corner of the diamond is where a weight is exactly zero [1]."
    model = ScriptedChatModel([bad, good])
    state, events = run(model, "Why does L1 regularization give sparse weights?")
    # our notes lead: the contradicting addition is removed, visibly, with no second draft
    assert state["revisions"] == 0 and len(model.stream_calls) == 1
    assert "L2 the weights become sparse" not in state["answer"]
    assert "corner of the diamond" in state["answer"]
    assert "1 statement(s) that contradict the notes ([1]) were removed" in state["answer"]
    verification = [e for e in events if e.type == "verification"][-1]
    assert verification.statements_contradicted == 1


def test_contradicting_draft_without_a_lead_is_revised() -> None:
    bad = "With L2 the weights become sparse too, just more slowly [1]."
    good = "The corner of the diamond is where a weight is exactly zero [1]."
    model = ScriptedChatModel([bad, good])
    question = "Why does L1 regularization give sparse weights?"
    state, events = run(model, question, exclude_question_ids=("regularization-1",))
    assert not state.get("lead")
    assert state["revisions"] == 1
    revise = model.stream_calls[1]["messages"][-1]["content"]
    assert "contradicts the notes" in revise
    assert "L2 the weights become sparse" not in state["answer"]
    verification = [e for e in events if e.type == "verification"][-1]
    assert verification.statements_checked >= 1 and verification.statements_contradicted == 0


def test_contradiction_left_after_revisions_is_removed_from_the_answer() -> None:
    bad = (
        "With L2 the weights become sparse too, just more slowly [1]. "
        "The corner of the diamond is where a weight is zero [1]."
    )
    model = ScriptedChatModel([bad, bad])
    state, events = run(model, "Why does L1 regularization give sparse weights?")
    assert "L2 the weights become sparse" not in state["answer"]
    assert "corner of the diamond" in state["answer"]
    assert "1 statement(s) that contradict the notes ([1]) were removed" in state["answer"]
    v = [e for e in events if e.type == "verification"][-1]
    assert v.statements_contradicted == 1
    assert "contradicted the notes" in v.summary


def test_unsupported_sentences_are_marked_as_the_models_own() -> None:
    model = ScriptedChatModel(
        ["Lasso was popularised by Tibshirani in the nineties for genomics [1]."]
    )
    state, events = run(model, "Why does L1 regularization give sparse weights?")
    assert "nineties for genomics [1]. †" in state["answer"]
    assert "The model's own words" in state["answer"]
    final = [e for e in events if e.type == "final"][-1]
    assert "0 of 1 statements supported by the notes" in final.verified


def test_panel_says_what_was_checked_and_never_claims_an_empty_check() -> None:
    model = ScriptedChatModel(["The subgradient has constant size λ [1], so tiny weights hit 0."])
    _, events = run(model, "Why does L1 regularization give sparse weights?")
    v = [e for e in events if e.type == "verification"][-1]
    assert v.anything_checked and v.summary == "1 of 1 statements supported by the notes"
    # no evidence and no formulas: nothing checked, and the sentence says so
    model = ScriptedChatModel(["Hello! Ask me anything about ML maths."])
    graph = build_graph(model, ToolBox(), None)
    events = list(graph.stream({"question": "hi"}, context=RunContext(), stream_mode="custom"))
    v = [e for e in events if e.type == "verification"][-1]
    assert not v.anything_checked
    final = [e for e in events if e.type == "final"][-1]
    assert "nothing in the answer could be checked" in final.verified.lower()


def test_russian_question_gets_the_russian_notes_text() -> None:
    checker = KeywordChecker()
    model = ScriptedChatModel(["Например, при двух весах первым касается угол (0, 1) [1]."])
    _, events = run(model, "Почему L1-регуляризация даёт разреженные веса?", checker)
    lead = next(e for e in events if e.type == "token")
    assert lead.origin == "notes" and lead.text.startswith("**Из наших конспектов**")
    assert "ромб с углами на осях" in lead.text and "diamond" not in lead.text
    prompt = model.stream_calls[0]["messages"][-1]["content"]
    assert "Answer in Russian" in prompt
    assert checker.calls and checker.calls[0][2] == "ru"


def test_heading_match_and_helpers() -> None:
    assert heading_answers("что такое бутстрап", "Статистика > Бутстрап: что это такое и зачем")
    assert not heading_answers("что такое бутстрап", "Статистика > Наивный Байес")
    assert language_of("Что такое p-value?") == "ru" and language_of("What is a p-value?") == "en"
    assert language_of("What is a p-value?", "ru") == "ru"
    long = "First sentence here. " * 80
    cut = trim(long, 100)
    assert len(cut) <= 100 and cut.endswith(".")
    assert sentences_of("$$x = 1$$\nThe gradient vanishes near zero. Source: [1] a § b") == [
        "The gradient vanishes near zero."
    ]


def test_model_tool_calls_must_take_their_numbers_from_the_question() -> None:
    q = "How many tokens should a compute-optimal 7B model be trained on?"
    assert 7e9 in numbers_in(q)
    assert grounded({"params": 7e9}, q)
    assert grounded({"params": 7_000_000_000, "tokens_per_param": 20}, q) is False
    assert not grounded({"compute": 5.76e23}, q)
    assert grounded({"p_values": [0.01, 0.04]}, "Adjust p = 0.01 and 0.04 with Holm")


def test_arithmetic_in_prose_is_checked_like_any_claim() -> None:
    """The Chinchilla answer once said "1.4e11/6.93e10 ≈ 20.0" unchecked (it is about 2)."""
    from mltutor.agent.tutor.claims import math_spans, verify

    text = "So the model sees 1.4e11/6.93e10 ≈ 20.0 tokens per parameter, and 2*3 = 6."
    assert "1.4e11/6.93e10 ≈ 20.0" in math_spans(text)
    v = verify(text, [])
    assert v.claims_checked == 2 and v.claims_failed == 1
    assert "2.0202" in v.failures[0]
    assert math_spans("Python 3.11 is the version we use.") == []


def test_phases_say_what_is_happening_before_any_token() -> None:
    model = ScriptedChatModel(["The subgradient argument [1] explains it."])
    _, events = run(model, "Why does L1 regularization give sparse weights?")
    phases = [(e.phase, e.detail) for e in events if e.type == "phase"]
    names = [p for p, _ in phases]
    assert names[:1] == ["retrieving"] and "reading" in names and "writing" in names
    assert names.index("reading") < names.index("writing") < names.index("verifying")
    reading = next(d for p, d in phases if p == "reading")
    assert reading.endswith("tokens of notes and question") and reading[0].isdigit()


def test_with_the_notes_leading_the_model_is_not_asked_to_choose_a_tool() -> None:
    q = "Why does L1 regularization give sparse weights, and is the effect significant?"
    led = ScriptedChatModel(["The corner (0, 1) is hit first [1]."])
    run(led, q)
    assert led.complete_calls == []  # no tool-choice call (every tool schema in its prompt)
    unled = ScriptedChatModel(["no tool", "L1 sets small weights to zero [1]."])
    run(unled, q, exclude_question_ids=("regularization-1",))
    assert len(unled.complete_calls) == 1  # without a lead the tools are still offered
    assert unled.complete_calls[0]["max_tokens"] == 160  # a call, not an answer in prose


def test_with_a_notes_lead_the_prompt_holds_the_lead_and_not_other_excerpts() -> None:
    model = ScriptedChatModel(["For example, the corner (0, 1) is hit first [1]."])
    state, _ = run(model, "Why does L1 regularization give sparse weights?")
    assert len(state["hits"]) == 2  # the section is still evidence for checking the prose ...
    prompt = model.stream_calls[0]["messages"][-1]["content"]
    assert "diamond with corners on the axes" in prompt
    assert "Weight decay is L2 for SGD" not in prompt  # ... but is not read by the model
