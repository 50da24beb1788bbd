"""Eval-harness figures: the offline suites, and the tutor against the raw model on the embedded model.

``offline``: the bundled suites that need no language model, each run with ``mltutor eval run``:
derivations (the checker), retrieval (the notes search), grading (the deterministic grader's
ordering of good/partial/wrong answers). Writes ``bench/results/evals_offline.json``.

``embedded --ablation DIR``: summarises an ablation made with::

    mltutor eval ablate bank --language en --per-topic 1 --best-of 1,2 --verify on,off --raw

(24 English bank questions, one per topic; the embedded model answers one request at a time) into
``bench/results/evals_embedded.json``: per cell the grader score with its 95% CI, the share of failed
math claims in final answers, seconds and tokens per answer; tutor (``bo1-verify``) vs raw paired;
the cheapest cell within the CI of the best. Cells not finished are reported as such.

Run: ``.venv/bin/python bench/bench_evals.py offline`` or
``.venv/bin/python bench/bench_evals.py embedded --ablation eval-runs/ablate-bank-...``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _machine() -> dict[str, Any]:
    from mltutor.evals.provenance import machine_summary

    return {**machine_summary(), "loadavg": list(os.getloadavg()), "node": platform.node()}


def _metric(summary: Any, name: str) -> dict[str, Any] | None:
    row = next((m for m in summary.metrics if m.name == name), None)
    return row.estimate.model_dump() if row is not None else None


def offline(out: Path) -> dict[str, Any]:
    from mltutor.evals.reports import summarize

    figures: dict[str, Any] = {"machine": _machine(), "suites": {}}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MLTUTOR_DATA_DIR": os.environ.get("MLTUTOR_DATA_DIR", f"{tmp}/data")}
        for suite, extra in (
            ("derivations", ["--solver", "checker"]),
            ("retrieval", []),
            ("grading", []),
        ):
            runs = Path(tmp) / suite
            cmd = [
                sys.executable,
                "-m",
                "mltutor.cli",
                "eval",
                "run",
                suite,
                *extra,
                "--out",
                str(runs),
                "--quiet",
            ]
            subprocess.run(cmd, env=env, check=False, capture_output=True)
            run_dir = next(runs.iterdir())
            s = summarize(run_dir)
            figures["suites"][suite] = {
                "cases": s.cases,
                "scored": s.scored,
                "errors": s.errors,
                "error_kinds": s.error_kinds,
                "metrics": {m.name: m.estimate.model_dump() for m in s.metrics},
                "suite_hash": s.manifest.suite.hash,
                "git_revision": s.manifest.git_revision,
            }
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return figures


def embedded(ablation: Path, out: Path, notes: list[str]) -> dict[str, Any]:
    from mltutor.evals.ablate import summarize_grid
    from mltutor.evals.reports import compare, summarize

    a = summarize_grid(ablation)
    cells: dict[str, Any] = {}
    for c in a.cells:
        s = summarize(Path(c.run_dir))
        cells[c.cell] = {
            "scored": s.scored,
            "errors": s.errors,
            "pending": s.pending,
            "score": _metric(s, "score"),
            "good": _metric(s, "good"),
            "key_points_covered": _metric(s, "key points covered"),
            "math_failed_share": _metric(s, "math failed"),
            "math_claims_per_answer": _metric(s, "math claims"),
            "grader_math_wrong_share": _metric(s, "grader math wrong"),
            "citation_support": _metric(s, "citation support"),
            "seconds_per_answer": _metric(s, "seconds"),
            "completion_tokens": _metric(s, "completion tokens"),
            "prompt_tokens": _metric(s, "prompt tokens"),
            "words": _metric(s, "words"),
            "model": s.manifest.model.model_dump(),
            "git_revision": s.manifest.git_revision,
        }
    figures: dict[str, Any] = {
        "ablation": str(ablation),
        "suite": a.suite,
        "selection": "bank, English, first question of each topic (24)",
        "cells": cells,
        "best": a.best,
        "cheapest_within_ci": a.cheapest_within_ci,
        "notes": a.notes + notes,
        "machine": _machine(),
    }
    runs = {c.cell: Path(c.run_dir) for c in a.cells}
    if "bo1-verify" in runs and "raw" in runs:
        try:
            cmp = compare(runs["bo1-verify"], runs["raw"])
            figures["tutor_vs_raw"] = cmp.model_dump(mode="json", exclude={"flips"}) | {
                "flips": [f.model_dump() for f in cmp.flips]
            }
        except Exception as exc:  # not enough paired cases yet
            figures["tutor_vs_raw"] = {"error": str(exc)}
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("offline")
    e = sub.add_parser("embedded")
    e.add_argument("--ablation", type=Path, required=True)
    e.add_argument(
        "--note", action="append", default=[], help="a caveat to record with the figures"
    )
    args = p.parse_args()
    if args.what == "offline":
        figures = offline(RESULTS / "evals_offline.json")
    else:
        figures = embedded(args.ablation, RESULTS / "evals_embedded.json", args.note)
    print(json.dumps(figures, indent=2, ensure_ascii=False)[:4000])


if __name__ == "__main__":
    main()
