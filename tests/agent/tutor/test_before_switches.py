"""The switches that give issue 13's "before" tutor for comparisons: ``notes_lead`` (no notes lead,
evidence not narrowed) and ``verify_prose`` (formulas still checked, sentences not), as settings with
environment variables and as what the graph and the service do with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mltutor.agent.tutor as tutor_pkg
from mltutor.agent.facade import Tutor
from mltutor.commands.ask import ask_once
from mltutor.settings import load_settings
from tests.agent.fakes import ScriptedChatModel
from tests.agent.tutor.test_notes_first import SECTION_HIT, run

L1_QUESTION = "Why does L1 regularization give sparse weights?"


def test_settings_default_on_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTUTOR_CONFIG", "/nonexistent/mltutor.toml")
    monkeypatch.delenv("MLTUTOR_NOTES_LEAD", raising=False)
    monkeypatch.delenv("MLTUTOR_VERIFY_PROSE", raising=False)
    on = load_settings()
    assert on.notes_lead and on.verify_prose
    monkeypatch.setenv("MLTUTOR_NOTES_LEAD", "false")
    monkeypatch.setenv("MLTUTOR_VERIFY_PROSE", "0")
    off = load_settings()
    assert not off.notes_lead and not off.verify_prose


def test_without_the_notes_lead_the_model_composes_from_every_retrieved_section() -> None:
    draft = "L1 pushes small weights to zero [1]."
    state, events = run(ScriptedChatModel([draft]), L1_QUESTION)
    assert state["answer"].startswith("**From our notes**")  # the default leads

    model = ScriptedChatModel([draft])
    state, events = run(model, L1_QUESTION, notes_lead=False)
    tokens = [e for e in events if e.type == "token"]
    assert tokens and all(t.origin == "model" for t in tokens)
    assert not state["answer"].startswith("**From our notes**")
    assert state["answer"].startswith(draft)
    # evidence is not narrowed to the question: the other topic's chunk is still in the prompt
    assert "multiple-testing" in [h["topic"] for h in state["hits"]]
    assert "Peeking" in model.stream_calls[0]["messages"][-1]["content"]


class NoBankGrader:
    """The grader as the service sees it, with an empty bank; records prose checks."""

    def __init__(self) -> None:
        self.questions: dict[str, Any] = {}
        self.checked: list[list[str]] = []

    def check_statements(
        self, sentences: list[str], evidence: list[str], *, language: str | None = None
    ) -> list[Any]:
        self.checked.append(sentences)
        return []


@pytest.mark.parametrize("verify_prose", [True, False])
def test_the_service_passes_both_switches_to_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify_prose: bool
) -> None:
    built: dict[str, Any] = {}
    real_build = tutor_pkg.build_graph

    def spy(*args: Any, **kwargs: Any) -> Any:
        built.update(kwargs)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(tutor_pkg, "build_graph", spy)
    grader = NoBankGrader()
    settings = load_settings(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        notes_lead=False,
        verify_prose=verify_prose,
    )
    service = Tutor(
        settings,
        model_factory=lambda progress: ScriptedChatModel(
            ["Ridge shrinks every weight smoothly and keeps all of them non-zero in practice [1]."]
        ),
        retriever_factory=lambda progress: lambda q, k, **kw: [SECTION_HIT],
        grader_factory=lambda s: grader,  # type: ignore[arg-type,return-value]
    )
    try:
        out = ask_once(service, L1_QUESTION)
    finally:
        service.close()
    assert not out["answer"].startswith("**From our notes**")  # no bank match was even tried
    assert (built["statements"] is grader) is verify_prose
    assert bool(grader.checked) is verify_prose
