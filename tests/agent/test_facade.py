"""The tutor service: sessions persist and resume, cancellation keeps them consistent, export."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import Citation
from mltutor.agent.facade import Tutor
from mltutor.commands.ask import ask_once as run_once
from mltutor.settings import Settings
from tests.agent.fakes import ScriptedChatModel

HIT = Citation(
    label="calculus § Power rule",
    topic="calculus",
    heading="Calculus > Power rule",
    source="calculus.md",
    score=1.0,
    text="d/dx x^n = n x^(n-1).",
)


def make(tmp_path: Path, model: Any) -> Tutor:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return Tutor(
        settings,
        model_factory=lambda progress: model,
        retriever_factory=lambda progress: lambda q, k, **kw: [HIT],
    )


def test_ask_json_shape_and_session_resume(tmp_path: Path) -> None:
    model = ScriptedChatModel(
        [
            "By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$.",
            "Then $\\frac{d^2}{dx^2} x^3 = 6x$ [1].",
        ]
    )
    tutor = make(tmp_path, model)
    first = run_once(tutor, "What is the derivative of x^3?")
    assert set(first) >= {
        "answer",
        "citations",
        "tool_calls",
        "verification",
        "candidates",
        "timings",
        "model",
    }
    assert first["tool_calls"][0]["name"] == "differentiate"
    assert first["tool_calls"][0]["result"]["derivative"]["text"] == "3*x**2"
    assert first["verification"]["claims_failed"] == 0
    assert first["verification"]["claims_checked"] >= 1
    assert first["citations"][0]["label"] == "calculus § Power rule"
    assert {"route", "retrieve", "tools", "draft", "total"} <= set(first["timings"])
    sid = first["session"]
    second = run_once(tutor, "And the second derivative of x^3?", session_id=sid)
    assert second["session"] == sid
    # the second prompt carried the first turn as history
    roles = [m["role"] for m in model.stream_calls[1]["messages"]]
    assert roles.count("user") >= 2 and "assistant" in roles
    tutor.close()
    # a new service over the same data dir resumes the session
    again = make(tmp_path, ScriptedChatModel([]))
    info = again.sessions()[0]
    assert info.id == sid and info.turns == 2
    assert info.title.startswith("What is the derivative of x^3")
    transcript = again.transcript(sid)
    assert [e.role for e in transcript] == ["user", "assistant", "user", "assistant"]
    assert transcript[1].citations == ["calculus § Power rule"]
    md = again.export_markdown(sid)
    assert md.startswith("# What is the derivative") and "## Tutor" in md
    again.rename_session(sid, "Derivatives")
    assert again.sessions()[0].title == "Derivatives"
    again.delete_session(sid)
    assert again.sessions() == []
    again.close()


def test_cancel_leaves_session_consistent(tmp_path: Path) -> None:
    model = ScriptedChatModel(["x " * 400], delay=0.005)
    tutor = make(tmp_path, model)
    cancel = threading.Event()
    events = []
    for event in tutor.ask("Explain the power rule", cancel=cancel):
        events.append(event)
        if event.type == "token" and event.origin == "model":
            cancel.set()
    assert events[-1].type == "error" and events[-1].kind == "cancelled"
    sid = tutor.sessions()[0].id
    transcript = tutor.transcript(sid)
    assert [e.role for e in transcript] == ["user", "assistant"]
    assert "stopped" in transcript[1].content
    # what was already on screen is kept, marked as interrupted
    content = transcript[1].content
    assert content.startswith("**From our notes**") and "\n\nx" in content  # lead + model text
    assert "answer interrupted: stopped by the user" in content
    assert transcript[1].interrupted == "stopped by the user"
    # the session still works afterwards
    model.answers.append("The power rule: $\\frac{d}{dx} x^2 = 2x$ [1].")
    out = run_once(tutor, "Try again", session_id=sid)
    assert out["answer"] and "error" not in out
    assert len(tutor.transcript(sid)) == 4
    tutor.close()


def test_provider_error_becomes_error_event(tmp_path: Path) -> None:
    model = ScriptedChatModel(
        [ProviderError("cannot reach the model server at http://x", "unreachable", retryable=True)]
    )
    tutor = make(tmp_path, model)
    out = run_once(tutor, "why relu?")
    assert out["error"]["kind"] == "provider" and out["error"]["retryable"]
    sid = out["session"]
    assert [e.role for e in tutor.transcript(sid)] == ["user", "assistant"]
    tutor.close()


def test_unknown_session_is_a_clear_error(tmp_path: Path) -> None:
    tutor = make(tmp_path, ScriptedChatModel([]))
    events = list(tutor.ask("hi", session_id="nope"))
    assert events[-1].type == "error" and "no session" in events[-1].message
    tutor.close()


def test_corrupt_sessions_file_is_moved_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sessions.sqlite").write_bytes(b"this is not a database" * 100)
    tutor = make(tmp_path, ScriptedChatModel([]))
    assert tutor.notice and "unreadable" in tutor.notice
    assert list(data.glob("sessions.sqlite.unreadable-*"))
    assert tutor.sessions() == []
    tutor.close()


def test_check_needs_no_model(tmp_path: Path) -> None:
    def no_model(progress: Any) -> Any:
        raise AssertionError("check must not start a model")

    tutor = Tutor(Settings(data_dir=tmp_path), model_factory=no_model)
    report = tutor.check("d/dx x^3 = 3x^3")
    assert report.first_wrong_step == 1
    tutor.close()


@pytest.mark.parametrize("best_of", [1, 2])
def test_best_of_setting(tmp_path: Path, best_of: int) -> None:
    good = "By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$."
    tutor = make(tmp_path, ScriptedChatModel([good, good]))
    out = run_once(tutor, "derivative of x^3", best_of=best_of)
    assert len(out["candidates"]) == best_of
    tutor.close()


def test_session_written_by_version_0_1_0_still_opens(tmp_path: Path) -> None:
    """A sessions file written by 0.1.0 (dict state, no typed records) lists, reads, resumes."""
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "sessions-v0.1.0.sqlite", data / "sessions.sqlite")
    model = ScriptedChatModel(["By the power rule [1], $\\frac{d}{dx} x^4 = 4x^3$."])
    tutor = make(tmp_path, model)
    info = tutor.sessions()[0]
    assert info.title == "v0 session" and info.turns == 2
    transcript = tutor.transcript(info.id)
    assert [e.role for e in transcript] == ["user", "assistant"] * 2
    assert "L1" in transcript[3].content
    old = tutor.last_trace(info.id)  # the old run's dicts come back as typed records
    assert old.question.startswith("Why does L1")
    assert old.citations and old.citations[0].label == "calculus § Power rule"
    out = run_once(tutor, "What is the derivative of x^4?", session_id=info.id)
    assert "error" not in out and out["verification"]["claims_failed"] == 0
    assert len(tutor.transcript(info.id)) == 6
    new = tutor.last_trace(info.id)
    assert new.tool_calls[0].name == "differentiate" and new.candidates[0].score > 0
    tutor.close()


def test_best_of_keeps_sampling_when_candidates_differ_and_picks_the_better(tmp_path: Path) -> None:
    """On a tool-routed question every candidate opens with the same computed line; that must not
    make them "agree": the model's own text is compared, so different drafts are all sampled."""
    wrong = "Using the chain rule, $\\frac{d}{dx} x^3 = 3x$, since exponents drop by one [1]."
    right = "By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$: bring the exponent down."
    other = "Differentiate term by term: the exponent 3 multiplies, leaving $3x^2$ [1]."
    model = ScriptedChatModel([wrong, right, other])
    tutor = make(tmp_path, model)
    out = run_once(tutor, "derivative of x^3", best_of=3)
    assert len(out["candidates"]) == 3  # no early stop: the three texts differ
    scores = [c["score"] for c in out["candidates"]]
    assert scores[0] < scores[1]
    assert "3x$, since" not in out["answer"] and (
        "bring the exponent" in out["answer"] or "term by term" in out["answer"]
    )
    tutor.close()


def test_best_of_stops_early_when_two_good_candidates_agree(tmp_path: Path) -> None:
    same = "By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$: bring the exponent down."
    model = ScriptedChatModel([same, same, same, same])
    tutor = make(tmp_path, model)
    out = run_once(tutor, "derivative of x^3", best_of=4)
    assert len(out["candidates"]) == 2
    tutor.close()


def test_two_turns_at_once_on_one_session_are_serialized(tmp_path: Path) -> None:
    """Two questions in the same session at the same time: both answered, none lost, in order."""
    a = "First: $\\frac{d}{dx} x^2 = 2x$ [1]."
    b = "Second: $\\frac{d}{dx} x^3 = 3x^2$ [1]."
    model = ScriptedChatModel([a, b], delay=0.002)
    tutor = make(tmp_path, model)
    sid = tutor.new_session("race").id
    outs: list[dict[str, Any]] = []

    def ask(q: str) -> None:
        outs.append(run_once(tutor, q, session_id=sid))

    threads = [
        threading.Thread(target=ask, args=(q,)) for q in ("derivative of x^2", "derivative of x^3")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outs) == 2 and all("error" not in o for o in outs)
    roles = [e.role for e in tutor.transcript(sid)]
    assert roles == ["user", "assistant", "user", "assistant"]
    tutor.close()


def test_resumed_transcript_keeps_the_panels(tmp_path: Path) -> None:
    model = ScriptedChatModel(["By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$."])
    tutor = make(tmp_path, model)
    sid = run_once(tutor, "What is the derivative of x^3?")["session"]
    tutor.close()
    again = make(tmp_path, ScriptedChatModel([]))
    entry = again.transcript(sid)[1]
    assert entry.sources and entry.sources[0].label == "calculus § Power rule"
    assert entry.tool_calls[0].name == "differentiate" and entry.tool_calls[0].ok
    assert entry.verification is not None and entry.verification.claims_checked >= 1
    assert entry.verification.summary.startswith("2 of 2 formulas verified") or (
        "formulas verified" in entry.verification.summary
    )
    assert "computed with differentiate" in entry.verified.lower()
    assert [t.slug for t in again.topics()][:2] == ["calculus", "causal-inference"]
    assert "## Key formulas" in again.note("calculus")
    again.close()


def test_a_turn_saves_one_checkpoint_not_one_per_node(tmp_path: Path) -> None:
    # each checkpoint holds the whole session: saved per node, a long session's file grew
    # quadratically (1.2 GB after 600 turns)
    model = ScriptedChatModel([f"Answer {i}: the power rule [1]." for i in range(3)])
    tutor = make(tmp_path, model)
    sid = ""
    for i in range(3):
        out = run_once(tutor, f"Explain the power rule, part {i}", session_id=sid or None)
        sid = out["session"]
    history = list(tutor._graph.get_state_history({"configurable": {"thread_id": sid}}))
    assert len(history) <= 2 * 3  # per turn: the input and the end (7 per turn when saved per node)
    assert [e.role for e in tutor.transcript(sid)] == ["user", "assistant"] * 3
    tutor.close()
