"""The compute grid end to end with fakes: one run per cell, best-of-N really samples N candidates,
an interrupted grid resumes, `eval report DIR` shows the table."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mltutor.agent.events import Citation
from mltutor.cli import main
from mltutor.evals.ablate import parse_grid, run_grid, summarize_grid
from mltutor.evals.bundled import load_suite
from mltutor.evals.errors import RunError
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.rundir import RunDir
from mltutor.settings import Settings
from tests.evals.conftest import bank_sample, write_qa_suite
from tests.evals.fakes import KeyedChatModel, LexicalGrader, RecordingRetriever


def test_parse_grid() -> None:
    cells = parse_grid("1,2", "on,off", raw=True)
    assert [c.name for c in cells] == [
        "raw",
        "bo1-verify",
        "bo1-noverify",
        "bo2-verify",
        "bo2-noverify",
    ]
    with pytest.raises(RunError, match="--best-of"):
        parse_grid("1,x", "on")
    with pytest.raises(RunError, match="--verify"):
        parse_grid("1", "maybe")
    with pytest.raises(RunError, match="between 1 and 16"):
        parse_grid("0", "on")


def test_grid_runs_every_cell_and_resumes(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = bank_sample(3)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    table = {q.question: ". ".join(q.key_points) + "." for q in questions}

    def answer(prompt: str) -> str:
        asked = prompt.rsplit("Question:", 1)[-1]
        return next(a for q, a in table.items() if q in asked)

    model = KeyedChatModel(answer)
    notes = [
        Citation(
            label=f"{q.topic} § notes",
            topic=q.topic,
            heading="Notes",
            source="x.md",
            text=q.reference_answer[:200],
        )
        for q in questions
    ]
    injected = Injected(
        model=model,
        retriever=RecordingRetriever(notes),
        grader=LexicalGrader({q.id: q.key_points for q in questions}),
    )
    cells = parse_grid("1,2", "on,off", raw=True)
    base = RunConfig(suite=suite.source, solver="tutor")
    stop = threading.Event()
    seen: list[str] = []

    def progress(cell: str, p: object) -> None:
        seen.append(cell)
        if cell == "bo1-noverify":
            stop.set()  # interrupt the grid in its third cell

    path, outcomes = run_grid(
        suite, cells, base, settings, tmp_path, injected=injected, on_progress=progress, stop=stop
    )
    assert outcomes[-1].interrupted and len(outcomes) == 3
    path, outcomes = run_grid(
        suite, cells, base, settings, tmp_path, resume_dir=path, injected=injected
    )
    assert all(not o.interrupted and o.remaining == 0 for o in outcomes) and len(outcomes) == 5
    for cell in cells:
        records = RunDir.open(path / cell.name).records()
        ok = [r for r in records if r.status == "ok"]
        assert sorted(r.case_id for r in ok) == sorted(q.id for q in questions), cell.name
        manifest = RunDir.open(path / cell.name).manifest()
        assert (manifest.config.best_of, manifest.config.verify, manifest.config.solver) == (
            cell.best_of,
            cell.verify,
            cell.solver,
        )
        if cell.solver == "tutor":
            assert all(r.details["solver"]["candidates"] == cell.best_of for r in ok), cell.name
    summary = summarize_grid(path)
    assert [c.cell for c in summary.cells] == [c.name for c in cells]
    assert summary.best is not None and summary.cheapest_within_ci is not None
    bo1 = next(c for c in summary.cells if c.cell == "bo1-verify")
    bo2 = next(c for c in summary.cells if c.cell == "bo2-verify")
    assert bo2.tokens.mean is not None and bo1.tokens.mean is not None
    assert bo2.tokens.mean > bo1.tokens.mean  # two candidates cost more tokens

    assert main(["eval", "report", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cheapest_within_ci"] == summary.cheapest_within_ci and len(data["cells"]) == 5
    md = tmp_path / "abl.md"
    assert main(["eval", "report", str(path), "--markdown", str(md)]) == 0
    assert "bo2-noverify" in md.read_text(encoding="utf-8")


def test_interleaved_grid_keeps_cells_in_step(tmp_path: Path, settings: Settings) -> None:
    questions = bank_sample(4)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    table = {q.question: ". ".join(q.key_points) + "." for q in questions}
    model = KeyedChatModel(lambda prompt: next(a for q, a in table.items() if q in prompt))
    injected = Injected(
        model=model,
        retriever=RecordingRetriever([]),
        grader=LexicalGrader({q.id: q.key_points for q in questions}),
    )
    cells = parse_grid("1", "on", raw=True)  # raw and bo1-verify
    base = RunConfig(suite=suite.source, solver="tutor")
    stop = threading.Event()
    order: list[str] = []

    def progress(cell: str, p: object) -> None:
        done = getattr(p, "done", 0)
        order.append(f"{cell}:{done}")
        if sum(1 for o in order if o.endswith(":3")) >= 1:
            stop.set()

    path, outcomes = run_grid(
        suite,
        cells,
        base,
        settings,
        tmp_path,
        injected=injected,
        on_progress=progress,
        stop=stop,
        interleave=True,
    )
    counts = [len(RunDir.open(path / c.name).latest()) for c in cells]
    assert (
        counts == [3, 2] and outcomes[-1].interrupted
    )  # in step: stopped in the middle of round 3
    path, outcomes = run_grid(
        suite,
        cells,
        base,
        settings,
        tmp_path,
        resume_dir=path,
        injected=injected,
        interleave=True,
        only=["raw"],
    )
    assert [len(RunDir.open(path / c.name).latest()) for c in cells] == [4, 2]  # only raw ran
    with pytest.raises(RunError, match="no cell bo9"):
        run_grid(
            suite, cells, base, settings, tmp_path, resume_dir=path, injected=injected, only=["bo9"]
        )
    path, outcomes = run_grid(
        suite, cells, base, settings, tmp_path, resume_dir=path, injected=injected, interleave=True
    )
    assert [len(RunDir.open(path / c.name).latest()) for c in cells] == [4, 4]
    assert all(not o.interrupted and o.remaining == 0 for o in outcomes)
