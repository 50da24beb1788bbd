"""The tutor graph driven by a scripted model: routing, tools, verification, revision, best-of-N."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mltutor.agent.errors import Cancelled, ProviderError
from mltutor.agent.events import Citation
from mltutor.agent.tutor.graph import build_graph
from mltutor.agent.tutor.state import RunContext
from mltutor.agent.tutor.toolbox import ToolBox
from tests.agent.fakes import ScriptedChatModel, malformed, plain, tool_completion

CALCULUS_HIT = Citation(
    label="calculus § Product rule",
    topic="calculus",
    heading="Calculus > Product rule",
    source="calculus.md",
    score=1.0,
    text="The product rule: (uv)' = u'v + uv'. Derivative of a product.",
)


def retriever(query: str, k: int, **kw: Any) -> list[Citation]:
    return [CALCULUS_HIT][:k]


def run(model: Any, question: str, **ctx: Any) -> tuple[dict[str, Any], list[Any]]:
    graph = build_graph(model, ToolBox(), retriever)
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


def types(events: list[Any]) -> list[str]:
    out: list[str] = []
    for e in events:
        if e.type == "phase":
            continue
        if not out or out[-1] != e.type:
            out.append(e.type)
    return out


RIGHT = "By the product rule [1], $\\frac{d}{dx} x^2 \\sin x = 2x \\sin x + x^2 \\cos x$."
WRONG = "By the product rule [1], $\\frac{d}{dx} x^2 \\sin x = 2x \\cos x$."


def test_derivative_question_routes_to_tool_and_verifies() -> None:
    model = ScriptedChatModel([RIGHT])
    state, events = run(model, "What is the derivative of x^2 sin(x)?")
    # a routed tool runs before retrieval: its result is on screen first
    assert types(events) == [
        "tool_started",
        "tool_result",
        "token",
        "retrieval",
        "token",
        "candidate_scored",
        "verification",
        "final",
    ]
    call = state["tool_calls"][0]
    assert call["name"] == "differentiate" and call["ok"] and call["origin"] == "router"
    assert state["verification"]["claims_failed"] == 0
    assert state["verification"]["claims_checked"] >= 1
    # the computed result opens the answer; the model's explanation follows
    assert state["answer"].startswith("$$\\frac{d}{d x}")
    assert "x \\left(x \\cos" in state["answer"].splitlines()[0]
    assert state["answer"].endswith(RIGHT)
    assert [c["label"] for c in state["citations"]] == ["calculus § Product rule"]
    final = events[-1]
    assert "verified" in final.verified
    # the tool result was in the prompt as evidence
    prompt = model.stream_calls[0]["messages"][-1]["content"]
    assert "differentiate" in prompt and "[1] calculus § Product rule" in prompt


NO_LEAD = "Why do we need calculus in machine learning?"
"""Nothing computes it and no note heading answers it: the model's draft is the whole answer."""


def test_failed_verification_triggers_revision() -> None:
    model = ScriptedChatModel([WRONG, RIGHT])
    state, events = run(model, NO_LEAD, max_revisions=1)
    assert not state["tool_calls"] and not state.get("lead")
    verifications = [e for e in events if e.type == "verification"]
    assert [v.claims_failed > 0 for v in verifications] == [True, False]
    assert state["revisions"] == 1
    assert state["answer"].startswith(RIGHT)
    revise_prompt = model.stream_calls[1]["messages"][-1]["content"]
    assert "is wrong" in revise_prompt and "correct value" in revise_prompt


def test_revision_budget_exhausted_removes_what_failed() -> None:
    model = ScriptedChatModel([WRONG, WRONG])
    state, _ = run(model, NO_LEAD, max_revisions=1)
    assert state["revisions"] == 1 and len(model.stream_calls) == 2
    answer = state["answer"]
    assert "2x \\cos x$" not in answer  # the wrong statement was removed ...
    assert "did not verify were removed" in answer  # ... visibly


def test_after_a_computed_lead_what_fails_is_removed_without_a_second_draft() -> None:
    model = ScriptedChatModel([WRONG, RIGHT])
    state, _ = run(model, "derivative of x^2 sin(x)", max_revisions=1)
    assert state["revisions"] == 0 and len(model.stream_calls) == 1
    answer = state["answer"]
    assert "2x \\cos x$" not in answer  # the wrong statement was removed ...
    assert "did not verify were removed" in answer  # ... visibly
    assert answer.startswith("$$\\frac{d}{d x}")  # and the computed result still leads


def test_best_of_n_picks_the_verified_candidate() -> None:
    model = ScriptedChatModel([WRONG, RIGHT, RIGHT])
    state, events = run(model, "derivative of x^2 sin(x)", best_of=3, max_revisions=0)
    scored = [e for e in events if e.type == "candidate_scored"]
    assert len(scored) == 3
    assert state["best"] in (1, 2)
    assert state["answer"].endswith(RIGHT)
    assert scored[0].score < scored[1].score


def test_best_of_n_stops_early_when_candidates_agree() -> None:
    model = ScriptedChatModel([RIGHT, RIGHT, RIGHT, RIGHT])
    _state, events = run(model, "derivative of x^2 sin(x)", best_of=4, max_revisions=0)
    assert len([e for e in events if e.type == "candidate_scored"]) == 2
    assert len(model.answers) == 2  # two scripted answers never requested


def test_model_chosen_tool_call() -> None:
    model = ScriptedChatModel(
        ["The FWER for 10 tests is 0.4013 [1]."],
        [tool_completion("fwer", {"m": 10, "alpha": 0.05})],
    )
    state, _events = run(model, "What is the FWER for 10 tests at alpha 0.05?")
    call = state["tool_calls"][0]
    assert call["name"] == "fwer" and call["origin"] == "model" and call["ok"]
    assert model.complete_calls[0]["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in model.complete_calls[0]["tools"]] == ["fwer"]


def test_malformed_tool_call_is_recorded_not_fatal() -> None:
    model = ScriptedChatModel(["A p-value is ... [1]"], [malformed()])
    state, _ = run(model, "How do I get a p-value from a z-test?")
    assert state["tool_calls"][0]["ok"] is False
    assert "not JSON" in state["tool_calls"][0]["result"]["error"]
    assert state["answer"].startswith("A p-value")


def test_provider_error_propagates() -> None:
    model = ScriptedChatModel([ProviderError("cannot reach the model server", "unreachable")])
    with pytest.raises(ProviderError):
        run(model, "why is relu popular?")


def test_pasted_derivation_goes_to_the_checker() -> None:
    model = ScriptedChatModel(["Line 2 is wrong: the factor 2 is missing [1]."])
    state, _ = run(model, "L = (yhat - y)^2\ndL/dyhat = yhat - y")
    call = state["tool_calls"][0]
    assert call["name"] == "check_derivation"
    assert call["result"]["first_wrong_step"] == 2
    assert state["verification"]["claims_failed"] == 0


def test_no_model_gives_tool_based_answer() -> None:
    state, events = run(None, "derivative of x^3")
    assert "No language model" in state["answer"]
    assert "3*x^2" in state["answer"] or "3x^2" in state["answer"].replace("*", "")
    assert events[-1].type == "final"


def test_cancellation_stops_mid_stream() -> None:
    model = ScriptedChatModel([RIGHT * 20], delay=0.01)
    cancel = threading.Event()
    graph = build_graph(model, ToolBox(), retriever)

    def stop_soon() -> None:
        model.started.wait(5)
        cancel.set()

    threading.Thread(target=stop_soon).start()
    with pytest.raises(Cancelled):
        for _ in graph.stream(
            {"question": "derivative of x^2 sin(x)"},
            context=RunContext(cancel=cancel),
            stream_mode="custom",
        ):
            pass
    assert model.closed_early == 1
