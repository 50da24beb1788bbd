"""Answer time with the embedded model, as a user meets it (issue 9's targets).

For each question, a fresh ``mltutor`` service (the same ``create_service`` the CLI uses, joining the
shared embedded server if one is running) answers it and the event stream is timed from the call:

- first content: the first text on screen (a computed result or our notes' excerpt, else the model);
- first model token: the model's first streamed text;
- total: the final answer, verified.

A warm-up question is answered first so the server has loaded the model and cached the system
prompt, as it has for every question after a user's first. The machine's load average is recorded
before and after: on 2 cores, other work slows every figure. ``--runs`` repeats each question.

Run: .venv/bin/python bench/bench_ask.py [--runs 2]   (writes bench/results/ask.json)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "ask.json"
QUESTIONS = {
    "derivative": "What is the derivative of x^2 sin(x)?",
    "l1_conceptual": "Why does L1 give sparse weights?",
    "l1_issue13": "Why does L1 regularization give sparse weights?",
    "pvalue_ru": "Что такое p-value и как его неправильно интерпретируют?",
}
TARGETS = {"derivative": 20.0, "l1_conceptual": 25.0}


def timed_answer(service: Any, question: str) -> dict[str, Any]:
    start = time.perf_counter()
    first = first_model = None
    answer, verification, prompt_tokens, completion = "", "", None, None
    for event in service.ask(question):
        now = time.perf_counter() - start
        if event.type == "token":
            if first is None:
                first = now
            if event.origin == "model" and first_model is None:
                first_model = now
        elif event.type == "final":
            answer = event.answer
        elif event.type == "verification":
            verification = event.summary
        elif event.type == "error":
            return {"error": event.message, "total_s": now}
    total = time.perf_counter() - start
    session = service.sessions()[0].id if service.sessions() else None
    if session:
        usage = service.last_trace(session).usage
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
    return {
        "first_content_s": round(first, 3) if first is not None else None,
        "first_model_token_s": round(first_model, 3) if first_model is not None else None,
        "total_s": round(total, 2),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "words": len(answer.split()),
        "verification": verification,
        "answer": answer,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from mltutor.agent.facade import create_service
    from mltutor.settings import load_settings

    load_before = os.getloadavg()
    service = create_service(load_settings())
    t0 = time.perf_counter()
    service.start()
    warm = timed_answer(service, "What is a gradient?")
    results: dict[str, Any] = {
        "start_s": round(time.perf_counter() - t0, 2),
        "warm_up_total_s": warm.get("total_s"),
        "questions": {},
    }
    for name, question in QUESTIONS.items():
        runs = [timed_answer(service, question) for _ in range(args.runs)]
        ok = [r for r in runs if "error" not in r]
        results["questions"][name] = {
            "question": question,
            "runs": runs,
            "median_total_s": statistics.median(r["total_s"] for r in ok) if ok else None,
            "target_total_s": TARGETS.get(name),
        }
        print(
            name,
            [(r.get("first_content_s"), r.get("first_model_token_s"), r["total_s"]) for r in runs],
            flush=True,
        )
    service.close()
    results["loadavg_before"] = load_before
    results["loadavg_after"] = os.getloadavg()
    results["cpus"] = os.cpu_count()
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
