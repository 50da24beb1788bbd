"""Bounded computation: per-call cost and stopping time of the worker process vs the old watchdog.

Compared, in one run on this machine:
- ``watchdog``: the in-thread watchdog that ``run_bounded`` was before issue 15 (a thread per call
  raising an asynchronous exception; it cannot stop a long C call). Its code is copied below.
- ``worker``: today's ``run_bounded``: a warm worker process, killed at the deadline.
- ``watched``: today's ``run_watched`` (one persistent watchdog thread), used for NumPy tools.

Measured: the per-call overhead on a trivial function, a tool call, the checker's corpus and the
agent's overhead per turn (bench_agent's scripted instant model); the time to stop a long C call
(an exact integer power) and a pure-Python loop; the peak memory of ``(x+1)^(10^6)``.

Run: .venv/bin/python bench/bench_bounded.py   (writes bench/results/bounded.json)
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import operator
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mltutor.tools import bounded, checker, registry  # noqa: E402
from mltutor.tools.errors import ToolError, ToolTimeout  # noqa: E402
from mltutor.tools.limits import ToolLimits  # noqa: E402

T = TypeVar("T")

# -- the watchdog as it was (src/mltutor/tools/bounded.py at commit 6a27710) ------------------------

_old_state = threading.local()


class _Deadline(BaseException):
    pass


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
    )


def old_watchdog(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    if getattr(_old_state, "active", False):
        return fn(*args, **kwargs)
    thread_id = threading.get_ident()
    lock = threading.Lock()
    finished = threading.Event()
    fired = False

    def watchdog() -> None:
        nonlocal fired
        if finished.wait(timeout):
            return
        with lock:
            if not finished.is_set():
                fired = True
                _set_async_exc(thread_id, _Deadline)

    _old_state.active = True
    guard = threading.Thread(target=watchdog, name="mltutor-deadline", daemon=True)
    guard.start()
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            with lock:
                finished.set()
                if fired:
                    _set_async_exc(thread_id, None)
            _old_state.active = False
    except _Deadline:
        _old_state.active = False
        raise ToolTimeout(f"gave up after {timeout:g} s") from None


@contextlib.contextmanager
def mechanism(name: str) -> Iterator[None]:
    """Route every bounded call (registry, checker, grading) through one mechanism."""
    if name == "worker":
        yield
        return
    saved = (registry.run_bounded, registry.run_watched, checker.run_bounded)
    registry.run_bounded = registry.run_watched = checker.run_bounded = old_watchdog  # type: ignore[assignment]
    try:
        yield
    finally:
        registry.run_bounded, registry.run_watched, checker.run_bounded = saved


# -- measurements -----------------------------------------------------------------------------------


def per_call_us(run: Callable[..., Any], calls: int) -> dict[str, float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run(operator.add, 1, 2, timeout=5.0)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return {
        "p50_us": round(statistics.median(times), 1),
        "p95_us": round(times[int(calls * 0.95)], 1),
    }


def tool_call_ms(name: str, args: dict[str, Any], calls: int) -> dict[str, float]:
    registry.run_tool(name, args)  # warm
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        registry.run_tool(name, args)
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 2)}


def checker_corpus_ms(rounds: int = 3) -> dict[str, Any]:
    """Each derivation of the corpus, both mechanisms alternating round by round (load drift hits
    both alike)."""
    cases: list[dict[str, Any]] = []
    for path in ("tests/tools/data/derivations.yaml", "tests/tools/data/derivations_extra.yaml"):
        if (ROOT / path).exists():
            cases += yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    texts = [c["text"] for c in cases]
    times: dict[str, list[float]] = {"watchdog": [], "worker": []}
    for name in times:  # warm-up: SymPy caches, lazy imports, in both places
        with mechanism(name):
            for text in texts:
                checker.check_derivation(text)
    for _ in range(rounds):
        for name, out in times.items():
            with mechanism(name):
                for text in texts:
                    start = time.perf_counter()
                    checker.check_derivation(text)
                    out.append((time.perf_counter() - start) * 1000)
    result: dict[str, Any] = {"derivations": len(texts), "rounds": rounds}
    for name, values in times.items():
        values.sort()
        result[name] = {
            "p50_ms": round(values[len(values) // 2], 2),
            "p95_ms": round(values[int(len(values) * 0.95)], 2),
            "mean_ms": round(statistics.mean(values), 2),
        }
    return result


def _power(base: int, exponent: int) -> int:
    return int(pow(base, exponent))


def _spin(seconds: float) -> int:
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
    return n


def stop_s(
    run: Callable[..., Any], fn: Callable[..., Any], args: tuple[Any, ...], bound: float
) -> float:
    """Seconds from the call to the caller getting control back (a warm worker is ready first:
    starting one is outside the bound)."""
    run(operator.add, 1, 2, timeout=5.0)
    start = time.perf_counter()
    with contextlib.suppress(ToolError):
        run(fn, *args, timeout=bound)
    return round(time.perf_counter() - start, 3)


def agent_overhead(rounds: int = 3, turns: int = 10) -> dict[str, Any]:
    """bench_agent's measurement, the two mechanisms alternating in blocks of ``turns``."""
    spec = importlib.util.spec_from_file_location("bench_agent", ROOT / "bench" / "bench_agent.py")
    if spec is None or spec.loader is None:
        return {"error": "bench_agent.py not found"}
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    blocks: dict[str, list[dict[str, float]]] = {"watchdog": [], "worker": []}
    for _ in range(rounds):
        for name, out in blocks.items():
            with mechanism(name):
                try:
                    out.append(module.measure(module.fixed_retriever, 1, turns))
                except Exception as exc:  # the agent is another part: report, do not fail
                    return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        name: {
            "p50_ms_median_of_blocks": round(statistics.median(b["p50_ms"] for b in out), 1),
            "blocks_p50_ms": [b["p50_ms"] for b in out],
        }
        for name, out in blocks.items()
    }


def peak_rss_mb(code: str) -> float:
    """Largest resident set (MiB) of any process in a command's tree."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MLTUTOR_CONFIG": "/nonexistent"},
    )
    return round(float(done.stdout.strip().splitlines()[-1]), 1)


def main() -> None:
    results: dict[str, Any] = {
        "note": "same process and run for all mechanisms; 2 shared cores (load varies)",
        "load_average_at_start": os.getloadavg()[0],
    }
    bounded.prestart()
    results["trivial_call"] = {
        "watchdog": per_call_us(old_watchdog, 2000),
        "worker": per_call_us(bounded.run_bounded, 2000),
        "watched": per_call_us(bounded.run_watched, 2000),
    }
    tool = ("differentiate", {"expr": "x^2 sin(x)"})
    numeric = ("softmax", {"logits": [1.0, 2.0, 3.0]})
    for name in ("watchdog", "worker"):
        with mechanism(name):
            results.setdefault("tool_call", {})[name] = {
                "differentiate": tool_call_ms(*tool, 50),
                "softmax": tool_call_ms(*numeric, 200),
            }
    results["checker_corpus"] = checker_corpus_ms()
    c_loop = (3**100, 100_000)  # an exact power that takes seconds in C (no bytecode runs)
    start = time.perf_counter()
    _power(*c_loop)
    results["stop_c_call"] = {
        "c_call_alone_s": round(time.perf_counter() - start, 3),
        "bound_s": 0.25,
        "watchdog_s": stop_s(old_watchdog, _power, c_loop, 0.25),
        "worker_s": stop_s(bounded.run_bounded, _power, c_loop, 0.25),
        "worker_issue_case_x^(10^6)_at_3^100_bound_1s": stop_s(
            bounded.run_bounded, _power, (3**100, 10**6), 1.0
        ),
        "issue_15_watchdog_s": "127-156 (reported; not re-run here)",
    }
    results["stop_c_call"]["ratio_watchdog_over_worker"] = round(
        results["stop_c_call"]["watchdog_s"] / results["stop_c_call"]["worker_s"], 1
    )
    results["stop_python_loop"] = {
        "bound_s": 0.25,
        "watchdog_s": stop_s(old_watchdog, _spin, (5.0,), 0.25),
        "worker_s": stop_s(bounded.run_bounded, _spin, (5.0,), 0.25),
        "watched_s": stop_s(bounded.run_watched, _spin, (5.0,), 0.25),
    }
    replace = []
    for _ in range(5):
        with contextlib.suppress(ToolTimeout):
            bounded.run_bounded(_power, 3**100, 10**6, timeout=0.2)
        start = time.perf_counter()
        registry.run_tool(*tool)  # a fresh worker: started, then its first (warm?) tool call
        replace.append((time.perf_counter() - start) * 1000)
    results["first_tool_call_after_a_kill_ms"] = {
        "p50": round(statistics.median(replace), 1),
        "mode": "fork server" if threading.active_count() > 1 else "fork of this process",
    }
    results["peak_rss_mb_(x+1)^(10^6)_check_timeout_30s"] = peak_rss_mb(
        "from mltutor.tools.checker import check_derivation; from mltutor.tools.limits import "
        "ToolLimits; print(check_derivation('(x+1)^(10^6) = 1', limits=ToolLimits(timeout_s=30)))"
    )
    results["memory_bound_mb"] = ToolLimits().max_memory_mb
    results["agent_overhead_per_turn"] = agent_overhead()
    out = ROOT / "bench" / "results" / "bounded.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
