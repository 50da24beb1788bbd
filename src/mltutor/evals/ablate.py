"""The test-time-compute grid as one command: best-of-N x verification on/off (and the raw baseline).

An ablation directory holds ``ablation.json`` (the grid) and one run directory per cell, each an
ordinary run (its own manifest and case log), so a cell can be reported, compared or resumed on its
own. The models are connected once for the whole grid. The summary puts each cell's score (with its
interval) against its seconds and tokens per answer, and names the cheapest cell whose score lies
within the interval of the best one.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mltutor.evals.context import Resources
from mltutor.evals.errors import RunError
from mltutor.evals.launch import Injected, Report, build_resources, resume, start
from mltutor.evals.records import RunConfig
from mltutor.evals.reports import summarize
from mltutor.evals.rundir import RunDir
from mltutor.evals.runner import Outcome, Progress
from mltutor.evals.stats import Estimate, mean_ci
from mltutor.evals.suites import Suite, select
from mltutor.settings import Settings

ABLATION = "ablation.json"


class Cell(BaseModel):
    """One point of the grid."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    solver: str = "tutor"
    """``tutor`` (or ``raw`` for the baseline)."""
    best_of: int = 1
    """Candidates per answer."""
    verify: bool = True
    """Self-verification."""

    @property
    def name(self) -> str:
        if self.solver != "tutor":
            return self.solver
        return f"bo{self.best_of}-{'verify' if self.verify else 'noverify'}"


class Grid(BaseModel):
    """An ablation: the suite, the common flags and the cells (``ablation.json``)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    suite: str
    """Suite as given."""
    base: RunConfig
    """Flags shared by every cell (selection, concurrency, judge...)."""
    cells: list[Cell]
    """The grid, in run order."""
    created_at: str = ""
    """UTC, ISO 8601."""


class CellResult(BaseModel):
    """A cell's outcome."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    cell: str
    """Cell name (``bo2-verify``, ``raw``...)."""
    run_dir: str
    """Its run directory."""
    scored: int
    """Cases scored."""
    errors: int
    """Cases that ended in an error."""
    score: Estimate
    """Primary metric with its interval."""
    seconds: Estimate
    """Seconds per answer."""
    tokens: Estimate
    """Prompt + completion tokens per answer."""


class AblationSummary(BaseModel):
    """Score against cost for every cell."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    path: str
    """The ablation directory."""
    suite: str
    """The suite."""
    metric: str
    """Primary metric."""
    cells: list[CellResult]
    """One row per cell."""
    best: str | None = None
    """Cell with the highest score."""
    cheapest_within_ci: str | None = None
    """The cheapest cell (seconds per answer, then tokens) whose score lies within the best cell's
    95% interval: what to run when compute matters."""
    notes: list[str] = Field(default_factory=list)
    """Caveats (cells with errors, cells not run yet)."""


def parse_grid(best_of: str, verify: str, *, raw: bool = False) -> list[Cell]:
    """Cells from ``--best-of 1,2,4 --verify on,off`` (and ``--raw``)."""
    try:
        ns = [int(x) for x in best_of.split(",") if x.strip()]
    except ValueError:
        raise RunError(
            f"--best-of takes numbers separated by commas, e.g. 1,2,4 (got {best_of!r})"
        ) from None
    flags = {"on": True, "off": False}
    vs = [v.strip().lower() for v in verify.split(",") if v.strip()]
    if not ns or any(not 1 <= n <= 16 for n in ns):
        raise RunError("--best-of values must be between 1 and 16")
    if not vs or any(v not in flags for v in vs):
        raise RunError(f"--verify takes on, off or on,off (got {verify!r})")
    cells = [Cell(best_of=n, verify=flags[v]) for n in dict.fromkeys(ns) for v in dict.fromkeys(vs)]
    return ([Cell(solver="raw")] if raw else []) + cells


def _write_grid(path: Path, grid: Grid) -> None:
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / (ABLATION + ".tmp")
    tmp.write_text(grid.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path / ABLATION)


def read_grid(path: Path) -> Grid:
    """The grid of an ablation directory."""
    try:
        return Grid.model_validate_json((path / ABLATION).read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as exc:
        raise RunError(f"{path} is not an ablation directory ({ABLATION}: {exc})") from exc


def is_ablation(path: Path) -> bool:
    return (path / ABLATION).is_file()


def run_grid(
    suite: Suite,
    cells: list[Cell],
    base: RunConfig,
    settings: Settings,
    out_root: Path,
    *,
    resume_dir: Path | None = None,
    injected: Injected | None = None,
    report: Report = lambda msg: None,
    on_progress: Callable[[str, Progress], None] | None = None,
    stop: threading.Event | None = None,
    interleave: bool = False,
    only: list[str] | None = None,
) -> tuple[Path, list[Outcome]]:
    """Run (or resume) every cell; the models are connected once for the whole grid.

    ``interleave``: one case per cell in turn (round-robin, one at a time), so that with a slow model
    every cell has the same cases scored at any moment and an interrupted grid is already a paired
    comparison. ``only``: run just these cells now (the others stay as they are, for later).
    """
    if resume_dir is not None:
        grid = read_grid(resume_dir)
        path = resume_dir
    else:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = out_root / f"ablate-{suite.name}-{stamp}-{secrets.token_hex(2)}"
        grid = Grid(
            suite=base.suite,
            base=base,
            cells=cells,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        _write_grid(path, grid)
    report(f"ablation directory: {path}")
    cells_now = [c for c in grid.cells if not only or c.name in only]
    unknown = sorted(set(only or []) - {c.name for c in grid.cells})
    if unknown:
        raise RunError(
            f"no cell {', '.join(unknown)} in this ablation; its cells: "
            + ", ".join(c.name for c in grid.cells)
        )
    needs = grid.base.model_copy(update={"solver": "tutor"})
    shared = build_resources(settings, needs, suite, injected or Injected(), report)
    outcomes: list[Outcome] = []
    try:
        rounds = len(select(suite.cases, grid.base.selection)) if interleave else 1
        for _ in range(rounds):
            outcomes = []
            for cell in cells_now:
                outcome = _run_cell(
                    suite,
                    grid,
                    cell,
                    path,
                    settings,
                    shared,
                    report,
                    on_progress,
                    stop,
                    one_case=interleave,
                )
                outcomes.append(outcome)
                if outcome.interrupted or (stop is not None and stop.is_set()):
                    return path, outcomes
            if all(o.remaining == 0 for o in outcomes):
                break
    finally:
        shared.close()
    return path, outcomes


def _run_cell(
    suite: Suite,
    grid: Grid,
    cell: Cell,
    path: Path,
    settings: Settings,
    shared: Resources,
    report: Report,
    on_progress: Callable[[str, Progress], None] | None,
    stop: threading.Event | None,
    *,
    one_case: bool,
) -> Outcome:
    """Run a cell to the end, or (``one_case``) until one more case is recorded."""
    cell_dir = path / cell.name
    config = grid.base.model_copy(
        update={"solver": cell.solver, "best_of": cell.best_of, "verify": cell.verify}
    )
    if one_case:
        config = config.model_copy(update={"concurrency": 1})
    local = threading.Event()
    first: list[int] = []
    advanced: list[bool] = []

    def progress(p: Progress) -> None:
        if on_progress is not None:
            on_progress(cell.name, p)
        if not first:
            first.append(p.done)
        elif one_case and p.done > first[0]:
            advanced.append(True)
            local.set()  # one more case recorded: on to the next cell

    def relay() -> None:  # the caller's stop (set from another thread) ends the cell too
        if stop is not None:
            while not local.is_set() and not stop.wait(0.2):
                pass
            local.set()

    watcher = threading.Thread(target=relay, daemon=True)
    watcher.start()
    try:
        if (cell_dir / "manifest.json").is_file():
            outcome = resume(
                cell_dir,
                settings,
                resources=shared,
                report=report,
                on_progress=progress,
                stop=local,
                concurrency=1 if one_case else None,
            )
        else:
            report(f"cell {cell.name}")
            outcome = start(
                suite,
                config,
                settings,
                path,
                resources=shared,
                report=report,
                on_progress=progress,
                run_dir=cell_dir,
                stop=local,
            )
    finally:
        local.set()
    if advanced and not (stop is not None and stop.is_set()):
        outcome = outcome.model_copy(update={"interrupted": False})  # we moved on, by design
    return outcome


def summarize_grid(path: Path) -> AblationSummary:
    """Score against cost per cell, the best cell and the cheapest one within its interval."""
    grid = read_grid(path)
    rows: list[CellResult] = []
    notes: list[str] = []
    fingerprints: set[str | None] = set()
    metric = ""
    for cell in grid.cells:
        cell_dir = path / cell.name
        if not (cell_dir / "manifest.json").is_file():
            notes.append(f"{cell.name} has not run yet (resume the ablation)")
            continue
        s = summarize(cell_dir)
        metric = s.primary
        fingerprints.add(s.manifest.grader.get("fingerprint"))
        latest = RunDir.open(cell_dir).latest()
        ok = [latest[c] for c in s.manifest.case_ids if c in latest and latest[c].status == "ok"]
        scores = [r.metrics.get(s.primary) for r in ok]
        tokens = [
            (r.metrics.get("prompt_tokens") or 0.0) + (r.metrics.get("completion_tokens") or 0.0)
            for r in ok
        ]
        rows.append(
            CellResult(
                cell=cell.name,
                run_dir=str(cell_dir),
                scored=s.scored,
                errors=s.errors,
                score=mean_ci([v for v in scores if v is not None]),
                seconds=mean_ci([r.metrics.get("seconds") or r.seconds for r in ok]),
                tokens=mean_ci(tokens),
            )
        )
        if s.errors:
            notes.append(f"{cell.name}: {s.errors} case(s) ended in an error (not scored)")
        if s.pending:
            notes.append(f"{cell.name}: {s.pending} case(s) not run yet")
    if len(fingerprints - {None}) > 1:
        notes.append(
            "the cells were scored by different grader versions: re-grade the ablation with "
            "`mltutor eval rescore` before comparing them"
        )
    summary = AblationSummary(
        path=str(path), suite=grid.suite, metric=metric, cells=rows, notes=notes
    )
    scored = [r for r in rows if r.score.mean is not None]
    if scored:
        best = max(scored, key=lambda r: r.score.mean or 0.0)
        floor = best.score.lo if best.score.lo is not None else best.score.mean or 0.0
        within = [r for r in scored if (r.score.mean or 0.0) >= floor]
        cheapest = min(within, key=lambda r: (r.seconds.mean or 0.0, r.tokens.mean or 0.0))
        summary.best, summary.cheapest_within_ci = best.cell, cheapest.cell
    return summary


__all__ = [
    "ABLATION",
    "AblationSummary",
    "Cell",
    "CellResult",
    "Grid",
    "is_ablation",
    "parse_grid",
    "read_grid",
    "run_grid",
    "summarize_grid",
]
