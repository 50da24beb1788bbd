"""Several processes on a fresh data dir: three ``mltutor search --json`` at once, repeated.

Issue 15's acceptance experiment: each repetition starts three searches at the same moment on an
empty data dir (the first run builds the index). Every process must print valid JSON and exit 0,
exactly one may embed, and the index must hold the right number of chunks. A single search alone on
a fresh data dir is timed first, for comparison (before the build lock every process embedded
everything: 66 s each instead of 19 s in the issue's run).

Run: .venv/bin/python bench/bench_multiprocess.py [REPS]   (writes bench/results/multiprocess.json)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "multiprocess.json"
QUERY = "derivative of the sigmoid"


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MLTUTOR_DATA_DIR=str(data_dir),
        MLTUTOR_CONFIG=str(data_dir.parent / "no-config.toml"),
        PYTHONPATH=str(ROOT / "src"),
    )
    return env


def searches(data_dir: Path, n: int) -> list[dict[str, Any]]:
    """Start ``n`` searches at once; return exit code, JSON validity, wall time, role of each."""
    cmd = [sys.executable, "-m", "mltutor.cli", "search", "--json", "-k", "3", QUERY]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            cmd, env=env_for(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(n)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=900)
        elapsed = time.perf_counter() - started
        try:
            hits = json.loads(stdout)
            valid = isinstance(hits, list) and bool(hits)
        except ValueError:
            valid = False
        out.append(
            {
                "exit": p.returncode,
                "valid_json": valid,
                "wall_s": round(elapsed, 2),
                "embedded": "embedded) in" in stderr,
                "waited": "waiting for it" in stderr,
                "traceback": "Traceback" in stderr,
            }
        )
    return out


def chunk_count(data_dir: Path) -> int:
    from mltutor.knowledge.index import (
        NOTES_COLLECTION,
        ChunkStore,
        persistent_client,
        release_local,
    )

    path = data_dir / "index" / "notes"
    try:
        return ChunkStore(persistent_client(path), NOTES_COLLECTION).count()
    finally:
        release_local(path)


def main() -> None:
    from mltutor.knowledge.chunking import chunk_notes
    from mltutor.knowledge.notes import bundled_notes_dir, load_notes

    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    expected = len(chunk_notes(load_notes(bundled_notes_dir())))
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mltutor-bench-mp-") as tmp:
        alone = searches(Path(tmp) / "alone", 1)[0]
        for rep in range(reps):
            data = Path(tmp) / f"rep{rep}"
            procs = searches(data, 3)
            trials.append(
                {
                    "processes": procs,
                    "index_chunks": chunk_count(data),
                    "builds_left_over": len(list((data / "index").glob(".notes-build-*"))),
                }
            )
            print(json.dumps(trials[-1]), flush=True)
    all_procs = [p for t in trials for p in t["processes"]]
    ok = [p for p in all_procs if p["exit"] == 0 and p["valid_json"] and not p["traceback"]]
    result = {
        "repetitions": reps,
        "processes": len(all_procs),
        "ok_processes": len(ok),
        "trials_with_one_embedder": sum(
            sum(p["embedded"] for p in t["processes"]) == 1 for t in trials
        ),
        "trials_with_right_chunk_count": sum(t["index_chunks"] == expected for t in trials),
        "expected_chunks": expected,
        "single_search_fresh_s": alone["wall_s"],
        "three_at_once_last_finished_s": {
            "median": statistics.median(max(p["wall_s"] for p in t["processes"]) for t in trials),
            "max": max(max(p["wall_s"] for p in t["processes"]) for t in trials),
        },
        "waiting_processes": sum(p["waited"] for p in all_procs),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "trials": trials,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "trials"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
