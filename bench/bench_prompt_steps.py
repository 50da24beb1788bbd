"""Prompt reading speed of the embedded server by prompt step size (``n_batch``), side by side.

For each size a server is started with our own command (``native_server_command``), one size after
another, in rounds whose order alternates (ABC, CBA, ...), so drifting load hits every size alike.
Each request is a fresh ~440-token prompt (a random nonce first, so nothing is cached) with
``max_tokens=1``; the figure is the server's own ``timings.prompt_per_second``. The machine's load
average is recorded with every request: on 2 cores anything else running halves these figures.

A variant ``SIZE/WAIT`` also sets how llama.cpp's OpenMP threads wait between steps: ``passive``
(mltutor's default: they sleep), ``spin:N`` (they spin N times, then sleep), ``default`` (libgomp's).

Run: .venv/bin/python bench/bench_prompt_steps.py [SIZE[/WAIT] ...] [--rounds 2] [--decode 1]
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


def serve(model: Path, batch: int, wait: str) -> tuple[subprocess.Popen[bytes], int]:
    """A server with ``batch``-token prompt steps; ``wait`` is how its OpenMP threads wait:
    ``passive`` (what mltutor runs), ``spin:N`` (GOMP_SPINCOUNT=N, then sleep) or ``default``."""
    port = free_port()
    argv = with_port(native_server_command(model, ServerOptions(batch_tokens=batch)), port)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if wait == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif wait.startswith("spin:"):
        env["OMP_WAIT_POLICY"] = "ACTIVE"
        env["GOMP_SPINCOUNT"] = wait.split(":", 1)[1]
    else:  # the child sets PASSIVE unless told otherwise: say "default" explicitly
        env["OMP_WAIT_POLICY"] = "ACTIVE"
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            time.sleep(0.2)
    return proc, port


def one(port: int, decode: int = 1) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": uuid.uuid4().hex + " " + SYSTEM},
        {"role": "user", "content": BODY},
    ]
    start = time.perf_counter()
    out = post(port, {"messages": messages, "max_tokens": decode, "temperature": 0})
    timings = out.get("timings", {})
    return {
        "prompt_tokens": timings.get("prompt_n"),
        "prompt_tok_s": round(float(timings.get("prompt_per_second", 0.0)), 1),
        "decode_tok_s": round(float(timings.get("predicted_per_second", 0.0)), 1),
        "wall_s": round(time.perf_counter() - start, 2),
        "load": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "variants", nargs="*", default=["16", "64"], help="SIZE or SIZE/WAIT (passive, spin:N)"
    )
    parser.add_argument("--decode", type=int, default=1, help="tokens generated per request")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    model = assemble_model(Path(platformdirs.user_cache_dir("mltutor")))
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
    for rnd in range(args.rounds):
        for variant in args.variants if rnd % 2 == 0 else args.variants[::-1]:
            size, _, wait = variant.partition("/")
            proc, port = serve(model, int(size), wait or "passive")
            try:
                one(port)  # the first request after loading is slower for every size
                for _ in range(args.per_round):
                    runs[variant].append(one(port, args.decode))
                    print(variant, runs[variant][-1], flush=True)
            finally:
                proc.terminate()
                proc.wait()
    summary: dict[str, dict[str, Any]] = {
        v: {
            "median_prompt_tok_s": statistics.median(r["prompt_tok_s"] for r in rs),
            "median_decode_tok_s": statistics.median(r["decode_tok_s"] for r in rs),
            "n": len(rs),
        }
        for v, rs in runs.items()
    }
    base = summary[args.variants[0]]["median_prompt_tok_s"]
    for s in summary.values():
        s["ratio_to_first"] = round(s["median_prompt_tok_s"] / base, 2) if base else None
    print(json.dumps(summary))
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
