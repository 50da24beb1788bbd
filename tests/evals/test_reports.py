"""Reports on synthetic runs with known numbers: groups, errors apart, pooled ratios, the paired
comparison, the ablation's cheapest cell within the best one's interval, the progress line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mltutor.evals.ablate import Cell, Grid, _write_grid, summarize_grid
from mltutor.evals.errors import RunError
from mltutor.evals.progress import ProgressView
from mltutor.evals.records import CaseError, CaseRecord, Manifest, RunConfig, SuiteInfo
from mltutor.evals.render import ablation_markdown, markdown, plot
from mltutor.evals.reports import compare, summarize
from mltutor.evals.rundir import RunDir
from mltutor.evals.runner import Progress


def make_run(path: Path, rows: list[dict], *, kind: str = "qa", suite_hash: str = "h" * 64) -> Path:
    ids = [r["id"] for r in rows]
    manifest = Manifest(
        run_id=path.name,
        created_at="2026-01-01T00:00:00+00:00",
        config=RunConfig(suite="s.jsonl", solver="raw"),
        suite=SuiteInfo(
            name="s",
            source="s.jsonl",
            kind=kind,
            hash=suite_hash,
            cases_total=len(ids),  # type: ignore[arg-type]
            selected_hash=suite_hash,
        ),
        case_ids=ids,
    )
    run = RunDir.create(path, manifest)
    for r in rows:
        if r.get("pending"):
            continue
        if r.get("error"):
            record = CaseRecord(
                case_id=r["id"],
                kind=kind,
                status="error",
                topic=r.get("topic", "t"),  # type: ignore[arg-type]
                error=CaseError(kind=r["error"], message="boom"),
            )
        else:
            record = CaseRecord(
                case_id=r["id"],
                kind=kind,
                status="ok",
                topic=r.get("topic", "t"),  # type: ignore[arg-type]
                language=r.get("language", "en"),
                difficulty=r.get("difficulty", "-"),
                metrics=r["metrics"],
            )
        run.append(record)
    return path


def qa(score: float, **extra: float) -> dict:
    return {"score": score, "good": 1.0 if score >= 7 else 0.0, "seconds": 1.0, **extra}


def test_summary_groups_errors_pending_and_pooled_ratios(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "topic": "calculus",
            "difficulty": "easy",
            "metrics": qa(8, math_claims=3, math_failed=1),
        },
        {
            "id": "b",
            "topic": "calculus",
            "difficulty": "hard",
            "language": "ru",
            "metrics": qa(6, math_claims=1, math_failed=0),
        },
        {
            "id": "c",
            "topic": "statistics",
            "difficulty": "easy",
            "metrics": qa(4, math_claims=0, math_failed=0),
        },
        {"id": "d", "topic": "statistics", "error": "timeout"},
        {"id": "e", "topic": "statistics", "pending": True},
    ]
    s = summarize(make_run(tmp_path / "run", rows))
    assert (s.cases, s.scored, s.errors, s.pending) == (5, 3, 1, 1)
    assert s.error_kinds == {"timeout": 1} and s.error_cases[0].case_id == "d"
    score = next(m for m in s.metrics if m.name == "score").estimate
    assert score.n == 3 and score.mean == pytest.approx(6.0)  # the error is not a zero
    failed = next(m for m in s.metrics if m.name == "math failed").estimate
    assert failed.mean == pytest.approx(1 / 4) and failed.n == 2  # pooled: 1 of 4 formulas
    topics = {g.group: g for g in s.groups["topic"]}
    assert (
        topics["calculus"].estimate.mean == pytest.approx(7.0) and topics["statistics"].errors == 1
    )
    assert {g.group for g in s.groups["difficulty"]} == {"easy", "hard", "-"}
    assert {g.group for g in s.groups["language"]} == {"en", "ru"}
    text = markdown(s)
    assert "## score by topic" in text and "| d | timeout | boom |" in text


def test_paired_comparison(tmp_path: Path) -> None:
    base = [{"id": f"c{i}", "metrics": qa(5.0)} for i in range(12)]
    better = [
        {"id": f"c{i}", "metrics": qa(8.0 if i < 10 else 5.0 if i == 10 else 4.0)}
        for i in range(12)
    ]
    a = make_run(tmp_path / "a", better)
    b = make_run(tmp_path / "b", base)
    c = compare(a, b)
    assert c.pairs == 12 and c.same_suite
    assert (c.wins, c.losses, c.ties) == (10, 1, 1)
    assert c.difference.mean == pytest.approx((10 * 3 - 1) / 12)
    assert c.difference.lo is not None and c.difference.lo > 0
    # P(X <= 1 | n=11, 1/2) = 12/2048, two-sided 24/2048
    assert c.sign_p == pytest.approx(24 / 2048)
    assert {f.case_id for f in c.flips} == {f"c{i}" for i in range(10)}
    assert all(f.direction == "gained" for f in c.flips)
    assert [p.case_id for p in c.cases[:10]] == sorted(f"c{i}" for i in range(10))  # |+3| first
    assert c.cases[-1].difference == 0.0 and len(c.cases) == 12
    text = markdown(summarize(a), c)
    assert "Largest per-case differences" in text and "| c0 | 8.00 | 5.00 | +3.00 |" in text
    back = compare(b, a)
    assert back.difference.mean == pytest.approx(-c.difference.mean)  # type: ignore[operator]
    assert all(f.direction == "lost" for f in back.flips)


def test_comparison_refuses_what_cannot_be_paired(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", [{"id": "x", "metrics": qa(5)}])
    b = make_run(tmp_path / "b", [{"id": "y", "metrics": qa(5)}])
    with pytest.raises(RunError, match="no case scored in both"):
        compare(a, b)
    d = make_run(tmp_path / "d", [{"id": "x", "metrics": {"correct": 1.0}}], kind="derivation")
    with pytest.raises(RunError, match="cannot compare a qa run with a derivation run"):
        compare(a, d)
    other = make_run(tmp_path / "o", [{"id": "x", "metrics": qa(6)}], suite_hash="f" * 64)
    assert not compare(a, other).same_suite


def _cell_rows(scores: list[float], seconds: float, tokens: float) -> list[dict]:
    return [
        {
            "id": f"c{i}",
            "metrics": {
                **qa(s),
                "seconds": seconds,
                "prompt_tokens": tokens,
                "completion_tokens": 0.0,
            },
        }
        for i, s in enumerate(scores)
    ]


def test_ablation_names_the_cheapest_cell_within_the_best_ones_interval(tmp_path: Path) -> None:
    path = tmp_path / "abl"
    cells = [
        Cell(solver="raw"),
        Cell(best_of=1, verify=True),
        Cell(best_of=2, verify=True),
        Cell(best_of=2, verify=False),
    ]
    _write_grid(
        path, Grid(suite="s.jsonl", base=RunConfig(suite="s.jsonl", solver="tutor"), cells=cells)
    )
    spread = [6.0, 7.0, 8.0, 9.0, 7.5, 8.5, 6.5, 7.0]
    make_run(path / "raw", _cell_rows([3.0, 3.5, 2.5, 3.0, 4.0, 3.0, 2.0, 3.5], 1.0, 100))
    make_run(path / "bo1-verify", _cell_rows([s - 0.2 for s in spread], 5.0, 800))
    make_run(path / "bo2-verify", _cell_rows(spread, 11.0, 1600))  # the best, by 0.2
    a = summarize_grid(path)
    assert a.best == "bo2-verify"
    assert a.cheapest_within_ci == "bo1-verify"  # within the CI of the best, at half the cost
    assert any("bo2-noverify has not run" in n for n in a.notes)
    rows = {c.cell: c for c in a.cells}
    assert rows["raw"].seconds.mean == 1.0 and rows["bo2-verify"].tokens.mean == 1600
    drawing = plot(a)
    assert "bo1-verify" in drawing and "seconds per answer" in drawing
    assert "tokens per answer" in plot(a, cost="tokens")
    md = ablation_markdown(a)
    assert "cheapest within CI of best" in md and "| raw |" in md


def test_progress_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    view = ProgressView("bank/tutor", quiet=False)
    view.console.file = io.StringIO()  # not a terminal: plain lines on stderr
    with view:
        view.update(Progress(done=3, total=10, errors=1, mean=6.25, metric="score", started=0))
        view.update(Progress(done=10, total=10, errors=1, mean=6.5, metric="score", started=0))
    err = capsys.readouterr().err
    assert "bank/tutor: 3/10 cases, mean score 6.25, errors 1, ETA" in err
    assert "10/10 cases, mean score 6.50" in err
