"""Fresh-machine install time of the README's first command (issue 9: <= 3 minutes, no compiler).

A fresh machine has no pip cache, so the install runs with ``--no-cache-dir`` into a new virtualenv
in a temporary directory: ``python3 -m venv V && V/bin/pip install --no-cache-dir -e <repo>``
(the README's first command without starting the app). It records the wall time, the machine's
load average before and after (on 2 cores, anything else running slows pip's unpacking), the
bytes pip fetched (the size of the installed site-packages) and whether any package was built from
source (a compiler would have been needed). The virtualenv is deleted afterwards.

Run: .venv/bin/python bench/bench_install.py [--runs 1]   (writes bench/results/install.json)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "install.json"
TARGET_S = 180.0


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


START_IMPORTS = (
    "import mltutor.cli, mltutor.tui.app, mltutor.agent.facade, chromadb, sympy, scipy.stats, "
    "langgraph.graph, openai, textual.app, numpy"
)
"""What the app loads as it starts (the TUI, the service, the index, the checker, the model
client). After ``--no-compile`` the first start writes their bytecode instead of pip."""


def first_imports(venv: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(venv / "bin" / "python"), "-c", START_IMPORTS], check=True)
    return round(time.perf_counter() - start, 1)


def one_install(python: str, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mltutor-install-") as tmp:
        venv = Path(tmp) / "venv"
        load_before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        venv_s = time.perf_counter() - start
        proc = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--no-cache-dir", *extra, "-e", str(ROOT)],
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - start
        imports = [first_imports(venv) for _ in range(2)] if proc.returncode == 0 else []
        built = sorted(set(re.findall(r"Building wheel for (\S+)", proc.stdout)))
        return {
            "pip_options": ["--no-cache-dir", *extra],
            "ok": proc.returncode == 0,
            "total_s": round(total, 1),
            "venv_s": round(venv_s, 1),
            "target_s": TARGET_S,
            "site_packages_mb": round(tree_bytes(venv / "lib") / 1e6),
            "built_from_source": [b for b in built if b != "mltutor"],
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "first_imports_s": imports[0] if imports else None,
            "second_imports_s": imports[1] if imports else None,
            "stderr_tail": proc.stderr[-400:] if proc.returncode else "",
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--python", default=shutil.which("python3") or sys.executable)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--compare-no-compile",
        action="store_true",
        help="alternate with `pip install --no-compile` (no .pyc written at install)",
    )
    args = parser.parse_args()
    variants: list[list[str]] = [[], ["--no-compile"]] if args.compare_no_compile else [[]]
    runs = []
    for i in range(args.runs):
        for extra in variants if i % 2 == 0 else variants[::-1]:
            runs.append(one_install(args.python, extra))
            print(json.dumps(runs[-1]), flush=True)
    args.out.write_text(
        json.dumps({"command": "pip install --no-cache-dir -e .", "runs": runs}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
