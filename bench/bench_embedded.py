"""Embedded model figures: assembly (cold, re-verify, warm), server start, first-token latency,
prefill and decode speed, a native tool call, and the server's memory.

The model is served exactly as the app serves it (``EmbeddedServer`` with the default command).
llama-cpp-python reuses the KV cache of a shared prompt prefix, so every timed prompt starts with
a fresh nonce: each measurement pays its full prefill, as a new question would.

Run: .venv/bin/python bench/bench_embedded.py   (writes bench/results/embedded.json)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import platformdirs
from openai import OpenAI

from mltutor.agent.embedded import EmbeddedServer, assemble_model
from mltutor.agent.embedded.server import usable_cpus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "embedded.json"
RUNS = 3

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "differentiate",
            "description": "Differentiate an expression.",
            "parameters": {
                "type": "object",
                "required": ["expression", "variable"],
                "properties": {"expression": {"type": "string"}, "variable": {"type": "string"}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "integrate",
            "description": "Integrate an expression, optionally between bounds.",
            "parameters": {
                "type": "object",
                "required": ["expression", "variable"],
                "properties": {
                    "expression": {"type": "string"},
                    "variable": {"type": "string"},
                    "lower": {"type": "string"},
                    "upper": {"type": "string"},
                },
            },
        },
    },
]

LONG_TEXT = (
    "Gradient descent updates parameters against the gradient of the loss. With a learning rate "
    "that is too large the iterates diverge; too small and convergence is slow. Momentum keeps an "
    "exponentially decaying average of past gradients, Adam rescales each coordinate by a running "
    "estimate of the second moment. The Hessian describes local curvature: its eigenvalues bound "
    "the largest stable step size for a quadratic model of the loss. "
) * 14


def nonce() -> str:
    return f"[{uuid.uuid4().hex[:8]}] "


def rss_kib(pid: int) -> dict[str, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    # RssFile is the mmapped GGUF (shared page cache); RssAnon is llama.cpp's own memory
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def bench_assembly(cache: Path) -> dict[str, float]:
    """Cold assembly into a scratch cache, re-verification without the sidecar, warm start."""
    scratch = Path(tempfile.mkdtemp(prefix="mltutor-bench-", dir=cache.parent))
    try:
        t0 = time.perf_counter()
        path = assemble_model(scratch)
        cold = time.perf_counter() - t0
        path.with_name(path.name + ".sha256").unlink()
        t0 = time.perf_counter()
        assemble_model(scratch)
        verify = time.perf_counter() - t0
        t0 = time.perf_counter()
        assemble_model(scratch)
        warm = time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch)
    return {
        "cold_s": cold,
        "reverify_s": verify,
        "warm_s": warm,
        "size_bytes": path.stat().st_size if path.exists() else 1117320768,
    }


def stream_timing(
    client: OpenAI, model: str, messages: list[dict[str, str]], max_tokens: int
) -> dict[str, float]:
    """Time to first content token and the decode rate after it (one chunk is one token)."""
    t0 = time.perf_counter()
    first = last = None
    chunks = 0
    stream = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            first = first or now
            last = now
            chunks += 1
    assert first is not None and last is not None, "no content streamed"
    decode = (chunks - 1) / (last - first) if chunks > 1 and last > first else float("nan")
    return {"ttft_s": first - t0, "tokens": chunks, "decode_tok_s": decode}


def main() -> None:
    cache = Path(os.environ.get("MLTUTOR_CACHE_DIR") or platformdirs.user_cache_dir("mltutor"))
    results: dict[str, Any] = {
        "machine": {
            "cpus": usable_cpus(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": os.getloadavg(),
        },
    }
    import llama_cpp

    results["machine"]["llama_cpp_python"] = llama_cpp.__version__
    assemble_model(cache)  # make sure the real cache holds the model before timing anything
    results["assembly"] = bench_assembly(cache)
    print("assembly", results["assembly"])

    server = EmbeddedServer(cache, log_dir=Path(tempfile.mkdtemp(prefix="mltutor-bench-log-")))
    try:
        t0 = time.perf_counter()
        url = server.start()
        results["server_start_s"] = time.perf_counter() - t0
        pid = server.pid
        assert pid is not None
        results["rss_idle_kib"] = rss_kib(pid)
        client = OpenAI(base_url=url, api_key="embedded", timeout=300, max_retries=0)
        model = server.alias

        short = [{"role": "user", "content": "Define overfitting in one sentence."}]
        t0 = time.perf_counter()
        client.chat.completions.create(
            model=model,
            messages=short,  # type: ignore[arg-type]
            max_tokens=8,
        )
        results["first_request_after_start_s"] = time.perf_counter() - t0

        runs = [
            stream_timing(
                client, model, [{"role": "user", "content": nonce() + short[0]["content"]}], 16
            )
            for _ in range(RUNS)
        ]
        results["short_prompt_ttft_s"] = statistics.median(r["ttft_s"] for r in runs)

        long_runs = []
        for _ in range(RUNS):
            messages = [
                {
                    "role": "user",
                    "content": nonce() + LONG_TEXT + "\nSummarise the text above in two sentences.",
                }
            ]
            t0 = time.perf_counter()
            response = client.chat.completions.create(
                model=model, messages=messages, max_tokens=1, temperature=0
            )  # type: ignore[arg-type]
            elapsed = time.perf_counter() - t0
            assert response.usage is not None
            long_runs.append(
                {
                    "prompt_tokens": response.usage.prompt_tokens,
                    "s": elapsed,
                    "prefill_tok_s": response.usage.prompt_tokens / elapsed,
                }
            )
        results["prefill"] = {
            "prompt_tokens": long_runs[0]["prompt_tokens"],
            "ttft_s": statistics.median(r["s"] for r in long_runs),
            "prefill_tok_s": statistics.median(r["prefill_tok_s"] for r in long_runs),
        }

        decode_runs = [
            stream_timing(
                client,
                model,
                [
                    {
                        "role": "user",
                        "content": nonce() + "Explain backpropagation step by step, in detail.",
                    }
                ],
                200,
            )
            for _ in range(RUNS)
        ]
        results["decode"] = {
            "tokens": statistics.median(r["tokens"] for r in decode_runs),
            "decode_tok_s": statistics.median(r["decode_tok_s"] for r in decode_runs),
        }

        tool_runs = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            response = client.chat.completions.create(
                model=model,
                tools=TOOLS,
                tool_choice="auto",
                max_tokens=200,
                temperature=0,  # type: ignore[arg-type]
                messages=[
                    {
                        "role": "user",
                        "content": nonce()
                        + "Differentiate x**3*sin(x) with respect to x using the tool.",
                    }
                ],
            )
            calls = response.choices[0].message.tool_calls or []
            ok = bool(calls) and isinstance(json.loads(calls[0].function.arguments), dict)  # type: ignore[union-attr]
            tool_runs.append(
                {
                    "s": time.perf_counter() - t0,
                    "ok": ok,
                    "completion_tokens": response.usage.completion_tokens
                    if response.usage
                    else None,
                }
            )
        results["tool_call_two_schemas"] = {
            "latency_s": statistics.median(r["s"] for r in tool_runs),
            "ok": sum(bool(r["ok"]) for r in tool_runs),
            "runs": len(tool_runs),
        }
        results["rss_after_kib"] = rss_kib(pid)
    finally:
        server.stop()

    results["machine"]["loadavg_after"] = os.getloadavg()  # others' work skews every figure
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
