"""Prompt reading speed of the embedded server by prompt step size (``n_batch``), side by side.

For each size a server is started with our own command (``native_server_command``), one size after
another, in rounds whose order alternates (ABC, CBA, ...), so drifting load hits every size alike.
Each request is a fresh ~440-token prompt (a random nonce first, so nothing is cached) with
``max_tokens=1``; the figure is the server's own ``timings.prompt_per_second``. The machine's load
average is recorded with every request: on 2 cores anything else running halves these figures.

Run: .venv/bin/python bench/bench_prompt_steps.py [SIZE ...] [--rounds 2]
     (writes bench/results/prompt_steps.json)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import platformdirs

from mltutor.agent.embedded import assemble_model
from mltutor.agent.embedded.command import (
    ServerOptions,
    free_port,
    native_server_command,
    with_port,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "prompt_steps.json"
SYSTEM = "You are mltutor, a tutor for the mathematics of machine-learning interviews. " * 3
BODY = (ROOT / "src" / "mltutor" / "agent" / "tutor" / "prompts.py").read_text()[:1400]


def post(port: int, payload: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=600) as r:
        return dict(json.loads(r.read()))


def serve(model: Path, batch: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = with_port(native_server_command(model, ServerOptions(batch_tokens=batch)), port)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            time.sleep(0.2)
    return proc, port


def one(port: int) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": uuid.uuid4().hex + " " + SYSTEM},
        {"role": "user", "content": BODY},
    ]
    start = time.perf_counter()
    out = post(port, {"messages": messages, "max_tokens": 1, "temperature": 0})
    timings = out.get("timings", {})
    return {
        "prompt_tokens": timings.get("prompt_n"),
        "prompt_tok_s": round(float(timings.get("prompt_per_second", 0.0)), 1),
        "wall_s": round(time.perf_counter() - start, 2),
        "load": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[16, 64])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    model = assemble_model(Path(platformdirs.user_cache_dir("mltutor")))
    runs: dict[int, list[dict[str, Any]]] = {s: [] for s in args.sizes}
    for rnd in range(args.rounds):
        for size in args.sizes if rnd % 2 == 0 else args.sizes[::-1]:
            proc, port = serve(model, size)
            try:
                one(port)  # the first request after loading is slower for every size
                for _ in range(args.per_round):
                    runs[size].append(one(port))
                    print(size, runs[size][-1], flush=True)
            finally:
                proc.terminate()
                proc.wait()
    summary = {
        str(s): {
            "median_prompt_tok_s": statistics.median(r["prompt_tok_s"] for r in rs),
            "n": len(rs),
        }
        for s, rs in runs.items()
    }
    base = summary[str(args.sizes[0])]["median_prompt_tok_s"]
    for s in summary.values():
        s["ratio_to_first"] = round(s["median_prompt_tok_s"] / base, 2) if base else None
    print(json.dumps(summary))
    args.out.write_text(
        json.dumps({"summary": summary, "runs": {str(s): r for s, r in runs.items()}}, indent=1)
        + "\n"
    )


if __name__ == "__main__":
    main()
