"""Re-grading stored answers: when the grader changed, score a run again without asking the model.

A run's records keep each final answer (and, since this module exists, the retrieved notes a
citation refers to), so ``mltutor eval rescore RUN`` writes a new run directory whose records have
the same answers, solver traces, seconds and tokens, and fresh grader metrics. Runs graded by one
grader version can then be compared.

Citation support needs the cited notes' text: records written before the notes were kept keep their
original citation numbers (the new record says so). Derivation and retrieval cases do not depend on
the grader and are copied as they are. :func:`~mltutor.evals.provenance.grader_fingerprint` tells
grader versions apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mltutor.agent.events import Citation
from mltutor.evals.bundled import load_suite
from mltutor.evals.context import now
from mltutor.evals.errors import RunError
from mltutor.evals.provenance import git_revision, grader_fingerprint
from mltutor.evals.records import CaseError, CaseRecord
from mltutor.evals.rundir import RunDir
from mltutor.evals.scorers import Grader, score_grading, score_qa
from mltutor.evals.solvers import Solution
from mltutor.evals.suites import GradingCase, QACase
from mltutor.tools.limits import ToolLimits

KEPT_CITATION_KEYS = ("cited", "cited_supported")


def _solution(record: CaseRecord) -> Solution:
    solver = record.details.get("solver", {})
    hits = [Citation.model_validate(h) for h in record.details.get("hits", [])]
    m = record.metrics
    return Solution(
        answer=record.answer,
        seconds=float(m.get("seconds") or 0.0),
        first_content_seconds=m.get("first_content_seconds"),
        prompt_tokens=int(m.get("prompt_tokens") or 0),
        completion_tokens=int(m.get("completion_tokens") or 0),
        tokens_estimated=bool(record.details.get("tokens_estimated", False)),
        tokens_source=str(record.details.get("tokens_source", "none")),
        model_calls=int(record.details.get("model_calls", 0)),
        hits=hits,
        trace=solver if isinstance(solver, dict) else {},
    )


def rescore_record(record: CaseRecord, case: Any, grader: Grader, limits: ToolLimits) -> CaseRecord:
    """The record with fresh grader metrics (errors and grader-free kinds come back unchanged)."""
    if record.status != "ok":
        return record
    try:
        if isinstance(case, QACase):
            solution = _solution(record)
            metrics, details = score_qa(case, solution, grader, limits)
            if not solution.hits:  # the cited notes were not kept: keep the original numbers
                for key in KEPT_CITATION_KEYS:
                    metrics[key] = record.metrics.get(key)
                details["citation_support"] = "kept from the original run (notes not stored)"
            details["hits"] = record.details.get("hits", [])
        elif isinstance(case, GradingCase):
            metrics, details, _ = score_grading(case, grader)
        else:
            return record
    except Exception as exc:  # no rubric now, a grader bug: the case becomes an error
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return record.model_copy(
            update={
                "status": "error",
                "metrics": {},
                "error": CaseError(kind="grader", message=f"regrading failed: {message}"),
            }
        )
    return record.model_copy(update={"metrics": metrics, "details": details})


def rescore(
    source: Path, target: Path, grader: Grader, limits: ToolLimits, info: dict[str, Any]
) -> int:
    """Write ``target``: ``source``'s run with every scored answer graded again; returns the count."""
    run = RunDir.open(source)
    manifest = run.manifest()
    suite = load_suite(manifest.suite.source.removeprefix("bundled:"))
    if suite.hash != manifest.suite.hash:
        raise RunError(
            f"the suite {manifest.suite.source} changed since {source} ran; its answers cannot be "
            "matched to the cases any more"
        )
    by_id = suite.by_id()
    latest = run.latest()
    grader_info = {**info, "rescored_from": str(source), "original_grader": manifest.grader}
    new = manifest.model_copy(
        update={
            "run_id": target.name,
            "created_at": now(),
            "grader": grader_info,
            "git_revision": git_revision(),
        }
    )
    out = RunDir.create(target, new)
    count = 0
    for cid in manifest.case_ids:
        record = latest.get(cid)
        if record is None:
            continue
        out.append(rescore_record(record, by_id[cid], grader, limits))
        count += 1
    return count


def deterministic_grader(settings: Any) -> tuple[Grader, dict[str, Any]]:
    """The grader's deterministic layer, as runs use it, and what the manifest records about it."""
    from mltutor.agent.grading import create_grader
    from mltutor.evals.context import LockedGrader

    grader = LockedGrader(create_grader(settings))
    info = {
        "mode": "deterministic",
        "judge_model": None,
        "implementation": "Grader",
        "fingerprint": grader_fingerprint(),
    }
    return grader, info


def rescore_path(
    source: Path,
    out_root: Path,
    settings: Any,
    *,
    grader: Grader | None = None,
    info: dict[str, Any] | None = None,
) -> Path:
    """Re-grade a run, or every cell of an ablation, into a new directory under ``out_root``."""
    from mltutor.evals.ablate import ABLATION, is_ablation, read_grid

    if grader is None:
        grader, info = deterministic_grader(settings)
    info = info or {"mode": "deterministic"}
    stamp = now().replace(":", "").replace("-", "")[:15]
    target = out_root / f"{source.name}-rescored-{stamp}"
    if target.exists():
        raise RunError(f"{target} exists already; wait a second and run again")
    if is_ablation(source):
        grid = read_grid(source)
        target.mkdir(parents=True)
        (target / ABLATION).write_text(grid.model_dump_json(indent=2), encoding="utf-8")
        for cell in grid.cells:
            if (source / cell.name / "manifest.json").is_file():
                rescore(source / cell.name, target / cell.name, grader, settings.tools, info)
        return target
    rescore(source, target, grader, settings.tools, info)
    return target


__all__ = [
    "deterministic_grader",
    "grader_fingerprint",
    "rescore",
    "rescore_path",
    "rescore_record",
]
