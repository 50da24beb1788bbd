"""Command start-up as ratios against ``python -c "import sympy"`` measured in the same run.

Issue 14 targets: ``mltutor check`` on a one-line file ≤ 1.3x, ``mltutor tool run`` of a NumPy-only
tool (softmax) ≤ 0.6x. Commands run interleaved, round after round, so load changes on the machine
hit all of them alike; each ratio is the median over rounds of (command time / sympy time in the
same round); CPU-time ratios (user + system, the command's workers included) are given too, as
they depend less on the machine's load. No user config file is present (``MLTUTOR_CONFIG`` points
nowhere), the usual case; the ``with_config`` rows show the cost when a config file exists (then the
full settings are loaded).

Bytecode: an installed mltutor has its ``.pyc`` files (pip writes them, an editable install writes
them on first run), so the commands run with a bytecode cache in a temporary
``PYTHONPYCACHEPREFIX``, written by the warm-up round, even where the environment sets
``PYTHONDONTWRITEBYTECODE`` (as this project's development shells do). The ``*_from_source`` rows
run as such a shell does: every mltutor module compiled from source on every start (SymPy keeps the
``.pyc`` files of its installation).

Run: .venv/bin/python bench/bench_startup.py   (writes bench/results/startup.json)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 21
TARGETS = {"check_one_line": 1.3, "tool_run_softmax": 0.6}


def main() -> None:
    exe = shutil.which("mltutor", path=str(Path(sys.executable).parent))
    cli = [exe] if exe else [sys.executable, "-m", "mltutor.cli"]
    tmp = Path(tempfile.mkdtemp())
    one_line = tmp / "one.txt"
    one_line.write_text("d/dx x^2 = 2x\n", encoding="utf-8")
    config = tmp / "config.toml"
    config.write_text("[tools]\ntimeout_s = 5\n", encoding="utf-8")
    pycache = tmp / "pycache"
    # name -> (argv, MLTUTOR_CONFIG, with a bytecode cache)
    commands: dict[str, tuple[list[str], str, bool]] = {
        "import_sympy": ([sys.executable, "-c", "import sympy"], "/nonexistent", True),
        "python_bare": ([sys.executable, "-c", "pass"], "/nonexistent", True),
        "version": ([*cli, "--version"], "/nonexistent", True),
        # the floor under `check`: importing the checker (its modules and SymPy) and nothing else
        "import_checker": (
            [sys.executable, "-c", "import mltutor.tools.checker"],
            "/nonexistent",
            True,
        ),
        "check_one_line": ([*cli, "check", str(one_line)], "/nonexistent", True),
        "tool_run_softmax": (
            [*cli, "tool", "run", "softmax", '{"logits": [1, 2, 3]}'],
            "/nonexistent",
            True,
        ),
        "tool_run_differentiate": (
            [*cli, "tool", "run", "differentiate", '{"expr": "x^2 sin(x)"}'],
            "/nonexistent",
            True,
        ),
        "check_one_line_with_config": ([*cli, "check", str(one_line)], str(config), True),
        "tool_run_softmax_with_config": (
            [*cli, "tool", "run", "softmax", '{"logits": [1, 2, 3]}'],
            str(config),
            True,
        ),
        "check_one_line_from_source": ([*cli, "check", str(one_line)], "/nonexistent", False),
        "tool_run_softmax_from_source": (
            [*cli, "tool", "run", "softmax", '{"logits": [1, 2, 3]}'],
            "/nonexistent",
            False,
        ),
    }

    def environment(cfg: str, bytecode: bool) -> dict[str, str]:
        env = {**os.environ, "MLTUTOR_CONFIG": cfg}
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        return env

    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for argv, cfg, bytecode in commands.values():  # warm the page cache, write the bytecode
        subprocess.run(argv, env=environment(cfg, bytecode), capture_output=True)
    for _ in range(ROUNDS):
        for name, (argv, cfg, bytecode) in commands.items():
            env = environment(cfg, bytecode)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{name} failed: {done.stderr.decode()[-500:]}")
    sympy = times["import_sympy"]
    results: dict[str, object] = {
        "rounds": ROUNDS,
        "load_average": round(os.getloadavg()[0], 2),
        "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "ratio_to_import_sympy": {
            k: round(statistics.median(t / s for t, s in zip(v, sympy, strict=True)), 2)
            for k, v in times.items()
        },
    }
    results["cpu_ratio_to_import_sympy"] = {  # user + system time: less sensitive to load
        k: round(statistics.median(t / s for t, s in zip(v, cpu["import_sympy"], strict=True)), 2)
        for k, v in cpu.items()
    }
    ratios = results["ratio_to_import_sympy"]
    assert isinstance(ratios, dict)
    results["targets"] = {
        k: {
            "target": t,
            "ratio": ratios[k],
            "met": ratios[k] <= t,
            "cpu_ratio": results["cpu_ratio_to_import_sympy"][k],  # type: ignore[index]
            "ratio_from_source": ratios[f"{k}_from_source"],
        }
        for k, t in TARGETS.items()
    }
    out = ROOT / "bench" / "results" / "startup.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
