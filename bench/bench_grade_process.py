"""``mltutor grade`` as a whole process (deterministic, no model), before and after, side by side.

Issue 10 asks for a process "well under 2 s on this 2-core machine". Variants, run interleaved
(round after round, each round in a new random order) so that load changes hit all alike:

- ``cache``: the current code, the embedder loaded from its cache file (the usual case);
- ``wheel``: the current code with ``MLTUTOR_EMBEDDER_CACHE=off``: the embedder parsed from its
  wheel in every process, as before the cache existed;
- ``cache_cold``: the current code with the cache file deleted before each run: the first run after
  an install or upgrade, which loads from the wheel and writes (and checks) the file;
- ``before``: the source tree of ``--before REV`` (``git archive``, run with ``PYTHONPATH``), i.e.
  the code before this work, in the same venv; leave out with ``--before ''``.

``--after REV`` runs the first three from a snapshot of ``REV`` too (the tree is shared with other
work in progress, which must not change the code under test mid-run).

Each variant gets its own cache dir (``MLTUTOR_CACHE_DIR``; bank vectors and the embedder file,
written by a warm-up run that is not counted), no config file, no model endpoint, and a bytecode
cache in a temporary ``PYTHONPYCACHEPREFIX`` (an installed mltutor has its ``.pyc`` files; this
project's shells set ``PYTHONDONTWRITEBYTECODE``). Reported per case and variant: median and max
wall time, median CPU time (user + system), the ratio to ``cache`` (median over rounds of the
per-round ratio), whether the JSON output (without ``grader.seconds``) equals ``cache``'s in every
round, and the load average.

Run: .venv/bin/python bench/bench_grade_process.py [--rounds 7] [--before 254648a] [--after HEAD]
     (writes bench/results/grade_process.json)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "grade_process.json"
BEFORE_DEFAULT = "254648a"
"""The last commit before the embedder cache and the lazy imports."""
CASES: dict[str, tuple[str, str]] = {
    # the example: a bank question, an answer with no formula (no SymPy needed)
    "l1_no_formula": (
        "Why does L1 give sparse weights and L2 not?",
        "L1 adds |w| to the loss; L2 gives sparse weights",
    ),
    # a bank question, a formula in the answer: the math check imports SymPy
    "sigmoid_formula": (
        "Derive the derivative of the sigmoid. Why is its form handy for backprop?",
        "σ'(x) = σ(x)(1 − σ(x)); its maximum is 0.25 at x = 0, so deep sigmoid nets get "
        "vanishing gradients.",
    ),
    # a bank question asked in Russian
    "ru_l1_l2": (
        "Чем отличаются L1- и L2-регуляризация?",
        "L1 добавляет сумму модулей весов и зануляет часть весов; L2 добавляет сумму квадратов и "
        "только уменьшает веса.",
    ),
    # not a bank question: the rubric comes from the notes (opens the Chroma index, built by the
    # warm-up run in each variant's data dir); opt-in, it is slow
    "notes_no_bank": (
        "What does the Hessian of a function tell you?",
        "The Hessian is the matrix of second derivatives; positive definite means a local minimum.",
    ),
}
DEFAULT_CASES = ("l1_no_formula", "sigmoid_formula", "ru_l1_l2")


def _snapshot(rev: str, folder: Path) -> Path:
    """The ``src`` tree of ``rev`` (``git archive``) under ``folder``."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _env(
    cache_dir: Path, pycache: Path, extra: dict[str, str], src: Path | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTUTOR_", "OPENAI_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    env.update(
        MLTUTOR_CACHE_DIR=str(cache_dir),
        MLTUTOR_DATA_DIR=str(cache_dir.parent / "data"),
        MLTUTOR_CONFIG="/nonexistent/config.toml",
        PYTHONPYCACHEPREFIX=str(pycache),
    )
    env.update(extra)
    if src is not None:
        env["PYTHONPATH"] = str(src)  # ahead of the editable install's path
    return env


def _run(argv: list[str], env: dict[str, str], before: Any = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of one process."""
    if before is not None:
        before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[4:6]} failed ({proc.returncode}): {proc.stderr[-600:]}")
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return wall, cpu, proc.stdout


def _grade_json(stdout: str) -> str:
    data = json.loads(stdout)
    data.get("grader", {}).pop("seconds", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", default=BEFORE_DEFAULT, help="git revision; '' to skip")
    parser.add_argument(
        "--after",
        default="",
        help="run the current variants from this git revision (a snapshot: other work in the "
        "tree cannot change it mid-run); '' runs the working tree",
    )
    parser.add_argument("--cases", nargs="*", default=list(DEFAULT_CASES), choices=list(CASES))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    pycache = tmp / "pycache"
    variants: dict[str, tuple[list[str], dict[str, str], Any]] = {}
    python = [sys.executable, "-m", "mltutor.cli", "grade", "--no-judge", "--json"]
    after_src = _snapshot(args.after, tmp / "after") if args.after else None
    for name, extra in (("cache", {}), ("wheel", {"MLTUTOR_EMBEDDER_CACHE": "off"})):
        variants[name] = (python, _env(tmp / name / "cache", pycache, extra, after_src), None)
    cold_dir = tmp / "cache_cold" / "cache"

    def drop_embedder_cache() -> None:
        shutil.rmtree(cold_dir / "embedder", ignore_errors=True)

    variants["cache_cold"] = (python, _env(cold_dir, pycache, {}, after_src), drop_embedder_cache)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", args.after or "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if args.before:
        src = _snapshot(args.before, tmp / "before")
        env = _env(tmp / "before" / "cache", tmp / "pycache-before", {}, src)
        variants["before"] = (python, env, None)

    times: dict[str, dict[str, list[float]]] = {c: {v: [] for v in variants} for c in args.cases}
    cpu: dict[str, dict[str, list[float]]] = {c: {v: [] for v in variants} for c in args.cases}
    same: dict[str, dict[str, bool]] = {c: {v: True for v in variants} for c in args.cases}
    loads: list[float] = []
    load_start = os.getloadavg()
    for case in args.cases:  # warm-up: caches written, bytecode compiled, files in the page cache
        q, a = CASES[case]
        for argv, env, _ in variants.values():
            _run([*argv, "--question", q, "--answer", a], env)
    rng = random.Random(10)
    for r in range(args.rounds):
        for case in args.cases:
            q, a = CASES[case]
            order = list(variants)
            rng.shuffle(order)
            outputs: dict[str, str] = {}
            for name in order:
                argv, env, before = variants[name]
                wall, used, out = _run([*argv, "--question", q, "--answer", a], env, before)
                times[case][name].append(wall)
                cpu[case][name].append(used)
                outputs[name] = _grade_json(out)
            for name in variants:
                same[case][name] &= outputs[name] == outputs["cache"]
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}/{args.rounds}: load {loads[-1]:.2f}", file=sys.stderr, flush=True)

    def ratio(case: str, name: str) -> float:
        per_round = [t / c for t, c in zip(times[case][name], times[case]["cache"], strict=True)]
        return round(statistics.median(per_round), 2)

    result: dict[str, Any] = {
        "command": "mltutor grade --no-judge --json --question Q --answer A",
        "commit": commit,
        "after": args.after or "working tree",
        "before": args.before or None,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
            "median_1min_over_rounds": round(statistics.median(loads), 2),
        },
        "cases": {},
    }
    for case in args.cases:
        result["cases"][case] = {
            "question": CASES[case][0],
            "answer": CASES[case][1],
            "median_s": {v: round(statistics.median(times[case][v]), 3) for v in variants},
            "max_s": {v: round(max(times[case][v]), 3) for v in variants},
            "cpu_median_s": {v: round(statistics.median(cpu[case][v]), 3) for v in variants},
            "ratio_to_cache": {v: ratio(case, v) for v in variants},
            "output_equals_cache": same[case],
        }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
