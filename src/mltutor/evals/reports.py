"""Reports of runs: every metric overall and per topic, difficulty and language, each with a 95%
bootstrap interval; errors listed apart (never averaged in as zeros); the paired comparison of two runs.

A comparison (``--vs``) pairs the cases both runs scored, by case id: per-case differences of the
primary metric (this run minus the other), a paired bootstrap interval of their mean, the sign test,
and the cases that flipped (passed in one run and not in the other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mltutor.evals.errors import RunError
from mltutor.evals.records import CaseRecord, Manifest
from mltutor.evals.rundir import RunDir
from mltutor.evals.scorers import METRICS, PRIMARY, MetricSpec, passed
from mltutor.evals.stats import Estimate, mean_ci, ratio_ci, sign_test

GROUPS = ("topic", "difficulty", "language")
"""Dimensions every report breaks the primary metric down by."""


class _Model(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


class MetricRow(_Model):
    """One metric of a run."""

    name: str
    """Metric name."""
    label: str
    """What it means."""
    better: str
    """``higher`` or ``lower``."""
    estimate: Estimate
    """Mean (or pooled ratio) with its interval."""


class GroupRow(_Model):
    """The primary metric in one group (a topic, a difficulty, a language)."""

    group: str
    """The group's value."""
    estimate: Estimate
    """Primary metric with its interval."""
    errors: int
    """Cases of the group that ended in an error."""


class ErrorRow(_Model):
    """A case without a score."""

    case_id: str
    """The case."""
    kind: str
    """Error kind."""
    message: str
    """What went wrong."""


class RunSummary(_Model):
    """The report of one run."""

    run_id: str
    """Run directory name."""
    path: str
    """Run directory."""
    manifest: Manifest
    """What the run was (suite, solver, model, settings...)."""
    primary: str
    """The primary metric's key."""
    cases: int
    """Cases in the run."""
    scored: int
    """Cases with a score."""
    errors: int
    """Cases that ended in an error."""
    pending: int
    """Cases not run yet (an interrupted run)."""
    unreadable_lines: int = 0
    """Log lines that could not be read (a write cut short by a kill)."""
    metrics: list[MetricRow]
    """Every metric of the kind, overall."""
    groups: dict[str, list[GroupRow]]
    """Primary metric per topic, difficulty and language."""
    error_cases: list[ErrorRow]
    """The errors, one per case."""
    error_kinds: dict[str, int]
    """Errors counted by kind."""


class Flip(_Model):
    """A case that passed in one run and not in the other."""

    case_id: str
    """The case."""
    this: float | None
    """Primary metric in this run."""
    other: float | None
    """Primary metric in the other run."""
    direction: str
    """``gained`` (passes only here) or ``lost`` (passed only in the other run)."""


class PairedCase(_Model):
    """One case scored in both runs."""

    case_id: str
    """The case."""
    this: float
    """Primary metric in this run."""
    other: float
    """Primary metric in the other run."""
    difference: float
    """this - other."""


class Comparison(_Model):
    """This run against another, paired by case id."""

    other_run: str
    """The other run's directory."""
    metric: str
    """The primary metric compared."""
    same_suite: bool
    """Whether both runs used the same suite (hash); pairing by id is meaningful only then."""
    same_grader: bool | None = None
    """Whether one grader version scored both (its source fingerprint); None when unknown. Scores
    from different versions are not comparable: re-grade with ``mltutor eval rescore``."""
    pairs: int
    """Cases both runs scored."""
    this: Estimate
    """This run's mean over the paired cases."""
    other: Estimate
    """The other run's mean over the paired cases."""
    difference: Estimate
    """Mean of (this - other) with a paired bootstrap interval."""
    wins: int
    """Cases where this run scored higher."""
    losses: int
    """Cases where it scored lower."""
    ties: int
    """Cases with equal scores."""
    sign_p: float
    """Two-sided exact sign-test p-value (ties dropped)."""
    flips: list[Flip] = Field(default_factory=list)
    """Cases that passed in one run only."""
    cases: list[PairedCase] = Field(default_factory=list)
    """Every paired case with its difference, largest differences first."""
    seconds: Estimate | None = None
    """Mean difference in seconds per case (this - other), paired."""


def load(path: Path) -> tuple[Manifest, dict[str, CaseRecord], int]:
    """A run's manifest, its latest record per case, and the unreadable log lines."""
    run = RunDir.open(path)
    manifest = run.manifest()
    latest = run.latest()
    return manifest, latest, run.skipped_lines


def _estimate(spec: MetricSpec, records: list[CaseRecord]) -> Estimate:
    if spec.denominator is None:
        values = [r.metrics.get(spec.key) for r in records]
        return mean_ci([v for v in values if v is not None])
    num = [r.metrics.get(spec.key) or 0.0 for r in records]
    den = [r.metrics.get(spec.denominator) or 0.0 for r in records]
    return ratio_ci(num, den)


def _primary(records: list[CaseRecord], key: str) -> Estimate:
    values = [r.metrics.get(key) for r in records]
    return mean_ci([v for v in values if v is not None])


def summarize(path: Path) -> RunSummary:
    """The report of the run in ``path``."""
    manifest, latest, unreadable = load(path)
    kind = manifest.suite.kind
    primary = PRIMARY[kind]
    in_run = [latest[c] for c in manifest.case_ids if c in latest]
    ok = [r for r in in_run if r.status == "ok"]
    failed = [r for r in in_run if r.status == "error"]
    metrics = [
        MetricRow(name=s.name, label=s.label, better=s.better, estimate=_estimate(s, ok))
        for s in METRICS[kind]
    ]
    groups: dict[str, list[GroupRow]] = {}
    for dim in GROUPS:
        values = sorted({str(getattr(r, dim)) for r in in_run})
        if len(values) < 2 and dim != "topic":
            continue
        groups[dim] = [
            GroupRow(
                group=value or "-",
                estimate=_primary([r for r in ok if str(getattr(r, dim)) == value], primary),
                errors=sum(1 for r in failed if str(getattr(r, dim)) == value),
            )
            for value in values
        ]
    kinds: dict[str, int] = {}
    for r in failed:
        k = r.error.kind if r.error else "error"
        kinds[k] = kinds.get(k, 0) + 1
    return RunSummary(
        run_id=manifest.run_id,
        path=str(path),
        manifest=manifest,
        primary=primary,
        cases=len(manifest.case_ids),
        scored=len(ok),
        errors=len(failed),
        pending=len(manifest.case_ids) - len(in_run),
        unreadable_lines=unreadable,
        metrics=metrics,
        groups=groups,
        error_cases=[
            ErrorRow(
                case_id=r.case_id,
                kind=r.error.kind if r.error else "error",
                message=r.error.message if r.error else "",
            )
            for r in failed
        ],
        error_kinds=kinds,
    )


def compare(this_path: Path, other_path: Path) -> Comparison:
    """This run against the other, paired by case id on the primary metric."""
    m1, r1, _ = load(this_path)
    m2, r2, _ = load(other_path)
    if m1.suite.kind != m2.suite.kind:
        raise RunError(
            f"cannot compare a {m1.suite.kind} run with a {m2.suite.kind} run: the metrics differ"
        )
    key = PRIMARY[m1.suite.kind]
    ids = [
        c
        for c in m1.case_ids
        if c in r1
        and c in r2
        and r1[c].status == "ok"
        and r2[c].status == "ok"
        and r1[c].metrics.get(key) is not None
        and r2[c].metrics.get(key) is not None
    ]
    if not ids:
        raise RunError(
            "the two runs have no case scored in both (compare runs of the same suite, and let "
            "them finish or resume them)"
        )
    a = [float(r1[c].metrics[key] or 0.0) for c in ids]
    b = [float(r2[c].metrics[key] or 0.0) for c in ids]
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    wins, losses, ties, p = sign_test(diffs)
    flips = []
    for c in ids:
        p1, p2 = passed(m1.suite.kind, r1[c].metrics), passed(m2.suite.kind, r2[c].metrics)
        if p1 is not None and p2 is not None and p1 != p2:
            flips.append(
                Flip(
                    case_id=c,
                    this=r1[c].metrics.get(key),
                    other=r2[c].metrics.get(key),
                    direction="gained" if p1 else "lost",
                )
            )
    seconds = [
        (r1[c].metrics.get("seconds") or 0.0) - (r2[c].metrics.get("seconds") or 0.0) for c in ids
    ]
    return Comparison(
        other_run=str(other_path),
        metric=key,
        same_suite=m1.suite.hash == m2.suite.hash,
        same_grader=_same_grader(m1, m2),
        pairs=len(ids),
        this=mean_ci(a),
        other=mean_ci(b),
        difference=mean_ci(diffs),
        wins=wins,
        losses=losses,
        ties=ties,
        sign_p=p,
        flips=flips,
        cases=sorted(
            (
                PairedCase(case_id=c, this=x, other=y, difference=x - y)
                for c, x, y in zip(ids, a, b, strict=True)
            ),
            key=lambda p: (-abs(p.difference), p.case_id),
        ),
        seconds=mean_ci(seconds),
    )


def _same_grader(a: Manifest, b: Manifest) -> bool | None:
    fa, fb = a.grader.get("fingerprint"), b.grader.get("fingerprint")
    return None if not fa or not fb else fa == fb


def report_json(summary: RunSummary, comparison: Comparison | None = None) -> dict[str, Any]:
    """The JSON report (``mltutor eval report --json``)."""
    out: dict[str, Any] = summary.model_dump(mode="json")
    if comparison is not None:
        out["comparison"] = comparison.model_dump(mode="json")
    return out


__all__ = [
    "GROUPS",
    "Comparison",
    "Flip",
    "GroupRow",
    "MetricRow",
    "PairedCase",
    "RunSummary",
    "compare",
    "load",
    "report_json",
    "summarize",
]
