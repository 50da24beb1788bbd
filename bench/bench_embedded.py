"""Embedded model figures on llama.cpp's native server (xllamacpp), served exactly as the app serves
it (``EmbeddedServer``: our supervisor, the default command and settings):

- assembly (cold, re-verify, warm), server start cold and joining a running one;
- first token with a warm ~450-token prefix (the side-by-side figure of issue 9), a short prompt and a
  long one from scratch (every cold prompt starts with a fresh nonce, so it pays its full prefill);
- decode speed over 200 streamed tokens; a native tool call, non-streamed and streamed; JSON output;
- the prompt cache: cached tokens when the tutor's and the judge's system prompts take turns in the
  one slot;
- cancellation: how long the server keeps working after a stream is closed, and the first token of
  the next request;
- RSS of the server process, idle and after the run.

The old runtime (llama-cpp-python, built from source for 5+ minutes) is not installed here, so the
comparison is against its recorded figures: bench/results/embedded_llama_cpp_python.json (our own
bench of llama-cpp-python 0.3.36, same GGUF and prompts) and issue 9's side-by-side table. Both the
machine's load average before and after are recorded: the machine is shared, and on 2 cores other
work slows every figure (llama.cpp's threads wait for each other at every step).

Run: .venv/bin/python bench/bench_embedded.py [--threads N]   (writes bench/results/embedded.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import platformdirs
from openai import OpenAI

from mltutor.agent.embedded import EmbeddedServer, assemble_model, usable_cpus
from mltutor.agent.llm.openai_chat import json_response_format
from mltutor.settings import EmbeddedSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "embedded.json"
OLD = ROOT / "bench" / "results" / "embedded_llama_cpp_python.json"
ISSUE9_OLD = {"decode_tok_s": 11.7, "first_token_warm_prefix_s": 0.58}
"""llama-cpp-python server figures from issue 9's side-by-side table (same GGUF, 2 threads, the same
~450-token prompt, streamed through the openai client)."""
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

NOTE = (
    "Gradient descent updates parameters against the gradient of the loss. With a learning rate "
    "that is too large the iterates diverge; too small and convergence is slow. Momentum keeps an "
    "exponentially decaying average of past gradients, Adam rescales each coordinate by a running "
    "estimate of the second moment. The Hessian describes local curvature: its eigenvalues bound "
    "the largest stable step size for a quadratic model of the loss. "
)
TUTOR_SYSTEM = (
    "You are a tutor for machine-learning interviews. Answer concisely, cite the notes as [1].\n"
    "Notes:\n[1] " + NOTE * 5
)  # ~450 tokens, the size of issue 9's side-by-side prompt
JUDGE_SYSTEM = (
    "You grade answers to machine-learning interview questions against a rubric. Reply in JSON "
    "with a score from 0 to 3 for each rubric item and one sentence of reasons.\n" + NOTE * 2
)


def nonce() -> str:
    return f"[{uuid.uuid4().hex[:8]}] "


def rss_kib(pid: int) -> dict[str, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    # RssFile is the mmapped GGUF (shared page cache); RssAnon is llama.cpp's own memory
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_assembly(cache: Path) -> dict[str, float]:
    """Cold assembly into a scratch cache, re-verification without the sidecar, warm start."""
    scratch = Path(tempfile.mkdtemp(prefix="mltutor-bench-", dir=cache.parent))
    try:
        t0 = time.perf_counter()
        path = assemble_model(scratch)
        cold = time.perf_counter() - t0
        size = path.stat().st_size
        path.with_name(path.name + ".sha256").unlink()
        t0 = time.perf_counter()
        assemble_model(scratch)
        verify = time.perf_counter() - t0
        t0 = time.perf_counter()
        assemble_model(scratch)
        warm = time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch)
    return {"cold_s": cold, "reverify_s": verify, "warm_s": warm, "size_bytes": size}


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
        stream_options={"include_usage": True},
    )
    cached = prompt = None
    for chunk in stream:
        if chunk.usage is not None:
            prompt = chunk.usage.prompt_tokens
            if chunk.usage.prompt_tokens_details is not None:
                cached = chunk.usage.prompt_tokens_details.cached_tokens
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            first = first or now
            last = now
            chunks += 1
    assert first is not None and last is not None, "no content streamed"
    decode = (chunks - 1) / (last - first) if chunks > 1 and last > first else float("nan")
    return {
        "ttft_s": first - t0,
        "tokens": chunks,
        "decode_tok_s": decode,
        "cached_tokens": cached or 0,
        "prompt_tokens": prompt or 0,
    }


def slots_busy(root: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(root + "/slots", timeout=10) as r:
        return any(s.get("is_processing") for s in json.load(r))


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def run(server: EmbeddedServer, results: dict[str, Any]) -> None:
    url = server.base_url
    client = OpenAI(base_url=url, api_key="embedded", timeout=900, max_retries=0)
    model = server.alias
    root = url.removesuffix("/v1")
    pid = server.pid
    assert pid is not None
    results["rss_idle_kib"] = rss_kib(pid)

    t0 = time.perf_counter()
    client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Define overfitting in one sentence."}],
        max_tokens=8,
    )
    results["first_request_after_start_s"] = time.perf_counter() - t0

    # issue 9's side-by-side figure: first token with the ~450-token prefix already cached
    question = "What does the Hessian tell us about step sizes? One sentence."
    warm = []
    for i in range(RUNS + 1):
        messages = [
            {"role": "system", "content": TUTOR_SYSTEM},
            {"role": "user", "content": f"({i}) {question}"},
        ]
        r = stream_timing(client, model, messages, 16)
        if i:  # the first call fills the cache
            warm.append(r)
    results["warm_prefix"] = {
        "prompt_tokens": median(warm, "prompt_tokens"),
        "ttft_s": median(warm, "ttft_s"),
        "cached_tokens": median(warm, "cached_tokens"),
    }

    short = [
        stream_timing(
            client, model, [{"role": "user", "content": nonce() + "Define overfitting."}], 16
        )
        for _ in range(RUNS)
    ]
    results["short_prompt_cold_ttft_s"] = median(short, "ttft_s")

    long_runs = []
    for _ in range(RUNS):
        content = nonce() + NOTE * 14 + "\nSummarise the text above in two sentences."
        t0 = time.perf_counter()
        response = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": content}],
            max_tokens=1,
            temperature=0,
        )
        elapsed = time.perf_counter() - t0
        assert response.usage is not None
        tokens = response.usage.prompt_tokens
        long_runs.append({"prompt_tokens": tokens, "s": elapsed, "tok_s": tokens / elapsed})
    results["prefill"] = {
        "prompt_tokens": long_runs[0]["prompt_tokens"],
        "ttft_s": median(long_runs, "s"),
        "prefill_tok_s": median(long_runs, "tok_s"),
    }

    decode_runs = []
    for _ in range(RUNS):
        cpu0 = cpu_seconds(pid)
        r = stream_timing(
            client,
            model,
            [{"role": "user", "content": nonce() + "Explain backpropagation step by step."}],
            200,
        )
        r["tok_per_cpu_s"] = r["tokens"] / (cpu_seconds(pid) - cpu0)
        decode_runs.append(r)
    results["decode"] = {
        "tokens": median(decode_runs, "tokens"),
        "decode_tok_s": median(decode_runs, "decode_tok_s"),
        # tokens per CPU-second of the server (both threads): less sensitive to others' load
        "tokens_per_server_cpu_s": median(decode_runs, "tok_per_cpu_s"),
    }

    tool_runs = []
    for streamed in (False, True):
        for _ in range(RUNS):
            prompt = nonce() + "Differentiate x**3*sin(x) with respect to x using the tool."
            t0 = time.perf_counter()
            kwargs: dict[str, Any] = {
                "model": model,
                "tools": TOOLS,
                "tool_choice": "auto",
                "max_tokens": 200,
                "temperature": 0,
                "messages": [{"role": "user", "content": prompt}],
            }
            name = arguments = ""
            if streamed:
                for chunk in client.chat.completions.create(stream=True, **kwargs):
                    for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                        if call.function is not None:
                            name += call.function.name or ""
                            arguments += call.function.arguments or ""
            else:
                message = client.chat.completions.create(**kwargs).choices[0].message
                for call in message.tool_calls or []:
                    name += call.function.name  # type: ignore[union-attr]
                    arguments += call.function.arguments  # type: ignore[union-attr]
            try:
                ok = name == "differentiate" and isinstance(json.loads(arguments), dict)
            except ValueError:
                ok = False
            tool_runs.append({"streamed": streamed, "s": time.perf_counter() - t0, "ok": ok})
    for streamed, key in ((False, "tool_call"), (True, "tool_call_streamed")):
        runs = [r for r in tool_runs if r["streamed"] is streamed]
        results[key] = {
            "latency_s": median(runs, "s"),
            "ok": sum(bool(r["ok"]) for r in runs),
            "runs": len(runs),
        }

    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer"}, "reason": {"type": "string"}},
        "required": ["score", "reason"],
    }
    json_ok = 0
    for _ in range(RUNS):
        response = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": JUDGE_SYSTEM},
                {"role": "user", "content": nonce() + "Answer: 'the gradient points uphill'."},
            ],
            response_format=json_response_format(schema, embedded=True),  # type: ignore[arg-type]
            max_tokens=80,
            temperature=0,
        )
        try:
            data = json.loads(response.choices[0].message.content or "")
            json_ok += isinstance(data.get("score"), int)
        except ValueError:
            pass
    results["json_schema"] = {"ok": json_ok, "runs": RUNS}

    # tutor, judge, tutor again in the one slot: is the tutor's prefix restored from the cache?
    turns = []
    for system in (TUTOR_SYSTEM, JUDGE_SYSTEM, TUTOR_SYSTEM):
        turns.append(
            stream_timing(
                client,
                model,
                [{"role": "system", "content": system}, {"role": "user", "content": nonce()}],
                4,
            )
        )
    results["prompt_cache_alternating"] = {
        "third_turn_cached_tokens": turns[2]["cached_tokens"],
        "third_turn_ttft_s": turns[2]["ttft_s"],
        "judge_turn_ttft_s": turns[1]["ttft_s"],
    }

    baseline = stream_timing(client, model, [{"role": "user", "content": nonce() + "Say hi."}], 4)[
        "ttft_s"
    ]
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": nonce() + "Explain gradient descent in detail."}],
        max_tokens=400,
        temperature=0.7,
        stream=True,
    )
    for n, _ in enumerate(stream):
        if n >= 5:
            break
    stream.close()
    t0 = time.perf_counter()
    while slots_busy(root):
        time.sleep(0.02)
    idle_after = time.perf_counter() - t0
    after = stream_timing(client, model, [{"role": "user", "content": nonce() + "Say hi."}], 4)
    results["cancel"] = {
        "server_idle_after_close_s": idle_after,
        "next_request_ttft_s": after["ttft_s"],
        "baseline_ttft_s": baseline,
    }

    # closed while the prompt is still being read (before any token): the server notices through
    # its 1 s SSE pings and stops at the end of the current prompt step
    prefill_idle = []
    for _ in range(RUNS):
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": nonce() + NOTE * 8 + "Summarise."}],
            max_tokens=50,
            stream=True,
        )
        time.sleep(1.0)
        stream.close()
        t0 = time.perf_counter()
        while slots_busy(root):
            time.sleep(0.02)
        prefill_idle.append(time.perf_counter() - t0)
    results["cancel"]["during_prefill_server_idle_after_close_s"] = prefill_idle

    done: list[float] = []

    def ask(i: int) -> None:
        t = time.perf_counter()
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": f"{nonce()} What is {i} + {i}?"}],
            max_tokens=16,
            temperature=0,
        )
        done.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["four_concurrent_requests"] = {
        "served": len(done),
        "wall_s": time.perf_counter() - t0,
        "slowest_s": max(done),
    }
    results["rss_after_kib"] = rss_kib(pid)


def compare(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"issue9_llama_cpp_python": ISSUE9_OLD}
    new_decode = results["decode"]["decode_tok_s"]
    out["decode_vs_issue9"] = new_decode / ISSUE9_OLD["decode_tok_s"]
    out["warm_prefix_ttft_vs_issue9"] = (
        results["warm_prefix"]["ttft_s"] / ISSUE9_OLD["first_token_warm_prefix_s"]
    )
    if OLD.exists():
        old = json.loads(OLD.read_text())
        out["recorded_llama_cpp_python"] = {
            "file": OLD.name,
            "decode_tok_s": old["decode"]["decode_tok_s"],
            "short_prompt_ttft_s": old["short_prompt_ttft_s"],
            "prefill_tok_s": old["prefill"]["prefill_tok_s"],
            "server_start_s": old["server_start_s"],
            "rss_after_kib": old["rss_after_kib"],
            "loadavg_before": old["machine"]["loadavg_before"],
        }
        out["decode_vs_recorded"] = new_decode / old["decode"]["decode_tok_s"]
        out["rss_after_vs_recorded"] = (
            results["rss_after_kib"]["VmRSS"] / old["rss_after_kib"]["VmRSS"]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import xllamacpp

    cache = Path(os.environ.get("MLTUTOR_CACHE_DIR") or platformdirs.user_cache_dir("mltutor"))
    results: dict[str, Any] = {
        "machine": {
            "cpus": usable_cpus(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "xllamacpp": xllamacpp.__version__,
            "loadavg_before": os.getloadavg(),
        },
    }
    assemble_model(cache)  # make sure the real cache holds the model before timing anything
    results["assembly"] = bench_assembly(cache)
    print("assembly", results["assembly"], flush=True)

    state = Path(tempfile.mkdtemp(prefix="mltutor-bench-state-"))
    settings = EmbeddedSettings(threads=args.threads, idle_timeout_s=0, state_dir=state)
    results["settings"] = settings.model_dump(mode="json")
    results["settings"]["threads_used"] = args.threads or usable_cpus()
    server = EmbeddedServer(cache, settings=settings)
    try:
        t0 = time.perf_counter()
        server.start()
        results["server_start_s"] = time.perf_counter() - t0
        other = EmbeddedServer(cache, settings=settings)
        t0 = time.perf_counter()
        other.start()
        results["join_running_server_s"] = time.perf_counter() - t0
        other.stop()
        run(server, results)
    finally:
        server.shutdown_shared()
        shutil.rmtree(state, ignore_errors=True)

    results["machine"]["loadavg_after"] = os.getloadavg()
    results["comparison"] = compare(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
