"""Checker latency per derivation (p50/p95 after warm-up), the worst case, and import time.

Run: .venv/bin/python bench/bench_checker.py   (writes bench/results/checker.json)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [
    ROOT / "tests/tools/data/derivations.yaml",
    ROOT / "tests/tools/data/derivations_extra.yaml",
]


def import_time(module: str, runs: int = 5) -> float:
    """Median wall time of a fresh interpreter importing ``module`` minus a bare interpreter."""

    def run(code: str) -> float:
        best = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best.append(time.perf_counter() - t)
        return statistics.median(best)

    return run(f"import {module}") - run("pass")


def main() -> None:
    from mltutor.tools.checker import check_derivation
    from mltutor.tools.limits import ToolLimits

    cases = []
    for path in CORPORA:
        if path.exists():
            cases += yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = [c["text"] for c in cases]
    for text in texts:  # warm-up: SymPy caches, lazy imports
        check_derivation(text)
    times = []
    for _ in range(3):
        for text in texts:
            t = time.perf_counter()
            check_derivation(text)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    limits = ToolLimits(timeout_s=2.0)
    t = time.perf_counter()
    check_derivation("d/dx x = ((x + 1)^200 - 1)^50", limits=limits)
    worst = (time.perf_counter() - t) * 1000
    result = {
        "derivations": len(texts),
        "runs": len(times),
        "p50_ms": round(times[len(times) // 2], 1),
        "p95_ms": round(times[int(len(times) * 0.95)], 1),
        "max_ms": round(times[-1], 1),
        "pathological_with_2s_timeout_ms": round(worst, 1),
        "import_mltutor_tools_s": round(import_time("mltutor.tools"), 3),
        "import_checker_s": round(import_time("mltutor.tools.checker"), 3),
    }
    out = ROOT / "bench" / "results" / "checker.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
