"""Fault soak figures: 200 turns against a scripted server failing at random (see tests/agent/soak.py).

Records how turns ended, the slowest turn, and RSS / open file descriptors every 20 turns.
Run: .venv/bin/python bench/bench_soak.py   (writes bench/results/soak.json)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent.soak import make_tutor, server_with_faults, soak  # noqa: E402


def main() -> None:
    server = server_with_faults()
    with tempfile.TemporaryDirectory() as tmp:
        tutor = make_tutor(Path(tmp) / "data", server.url)
        start = time.perf_counter()
        try:
            result = soak(tutor, 200)
        finally:
            tutor.close()
            server.close()
        seconds = time.perf_counter() - start
    out = asdict(result) | {"total_s": round(seconds, 1), "per_turn_s": round(seconds / 200, 3)}
    path = ROOT / "bench" / "results" / "soak.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
