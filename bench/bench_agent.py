"""Agent overhead per turn excluding model time, and best-of-N wall time for N = 1, 2, 4.

The model is an instant scripted OpenAI-compatible server on 127.0.0.1 (tests/agent/fake_openai_server),
reached through the real provider layer, so what is measured is routing, retrieval, tools, prompt
building, streaming plumbing, verification, scoring, checkpointing and events.

Run: .venv/bin/python bench/bench_agent.py   (writes bench/results/agent.json)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent.fake_openai_server import FakeOpenAIServer, text  # noqa: E402

from mltutor.agent.adapters import notes_retriever  # noqa: E402
from mltutor.agent.events import Citation  # noqa: E402
from mltutor.agent.facade import Tutor  # noqa: E402
from mltutor.agent.llm import EndpointConfig, OpenAIChatModel  # noqa: E402
from mltutor.commands.ask import ask_once as run_once  # noqa: E402
from mltutor.settings import Settings  # noqa: E402

ANSWER = (
    "By the product rule [1], $\\frac{d}{dx} x^2 \\sin x = 2x \\sin x + x^2 \\cos x$. "
    "Each factor is differentiated in turn and the results are added."
)
QUESTIONS = [
    "What is the derivative of x^2 sin(x)?",
    "Why does the sigmoid saturate?",
    "L = (yhat - y)^2\ndL/dyhat = 2(yhat - y)",
]


def fixed_retriever(query: str, k: int) -> list[Citation]:
    return [
        Citation(
            label="calculus § Product rule",
            topic="calculus",
            heading="Product rule",
            source="calculus.md",
            text="(uv)' = u'v + uv' " * 20,
        )
    ][:k]


def real_retriever(data_dir: Path) -> Any:
    return notes_retriever(data_dir, None)


def measure(retriever: Any, best_of: int, turns: int) -> dict[str, float]:
    with FakeOpenAIServer(default=text(ANSWER)) as server, tempfile.TemporaryDirectory() as tmp:
        model = OpenAIChatModel(EndpointConfig(base_url=server.url, model="fake", max_retries=0))
        tutor = Tutor(
            Settings(data_dir=Path(tmp)),
            model_factory=lambda p: model,
            retriever_factory=lambda p: retriever,
        )
        run_once(tutor, QUESTIONS[0], best_of=best_of)  # warm-up: imports, SymPy caches
        walls, overheads = [], []
        for i in range(turns):
            q = QUESTIONS[i % len(QUESTIONS)]
            out = run_once(tutor, q, best_of=best_of)
            walls.append(out["timings"]["total"] * 1000)
            # the fake model answers instantly, so all wall time is agent overhead; the HTTP hop
            # to it (~1 ms per request) is included and is not model time
            overheads.append(out["timings"]["total"] * 1000)
        tutor.close()
    walls.sort()
    return {
        "p50_ms": round(statistics.median(walls), 1),
        "p95_ms": round(walls[int(len(walls) * 0.95) - 1], 1),
        "mean_ms": round(statistics.mean(overheads), 1),
    }


def main() -> None:
    results: dict[str, Any] = {
        "note": "instant scripted model server on 127.0.0.1; real provider, "
        "tools, checker, verification, SQLite checkpointer"
    }
    results["overhead_fixed_retriever"] = measure(fixed_retriever, 1, 30)
    for n in (1, 2, 4):
        results[f"best_of_{n}_fixed_retriever"] = measure(fixed_retriever, n, 12)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results["overhead_real_knowledge_base"] = measure(real_retriever(Path(tmp)), 1, 20)
    except Exception as exc:  # the knowledge base is optional for this bench
        results["overhead_real_knowledge_base"] = {"error": str(exc)}
    out = ROOT / "bench" / "results" / "agent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
