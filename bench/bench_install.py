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


def one_install(python: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mltutor-install-") as tmp:
        venv = Path(tmp) / "venv"
        load_before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        venv_s = time.perf_counter() - start
        proc = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--no-cache-dir", "-e", str(ROOT)],
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - start
        built = sorted(set(re.findall(r"Building wheel for (\S+)", proc.stdout)))
        return {
            "ok": proc.returncode == 0,
            "total_s": round(total, 1),
            "venv_s": round(venv_s, 1),
            "target_s": TARGET_S,
            "site_packages_mb": round(tree_bytes(venv / "lib") / 1e6),
            "built_from_source": [b for b in built if b != "mltutor"],
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "stderr_tail": proc.stderr[-400:] if proc.returncode else "",
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--python", default=shutil.which("python3") or sys.executable)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        runs.append(one_install(args.python))
        print(json.dumps(runs[-1]), flush=True)
    args.out.write_text(
        json.dumps({"command": "pip install --no-cache-dir -e .", "runs": runs}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
