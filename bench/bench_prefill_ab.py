"""Side by side: a computed lead sent as the start of the model's answer (assistant prefill, "new")
against the same lead restated in the user turn ("old"), on one service and one embedded server.

Each derivative question is answered by both arms, the order alternating per question (a shared
prompt prefix cached by the first arm's request must not always favour the same arm). The arm is
switched by replacing ``nodes.continues_final_message``; everything else is the tutor as shipped.
Questions other than the first are new to the server's prompt cache in both arms.

Run: .venv/bin/python bench/bench_prefill_ab.py [N]   (writes bench/results/prefill_ab.json)
"""

from __future__ import annotations

import json
import os
import statistics as st
import sys
import time
from pathlib import Path

import mltutor.agent.tutor.nodes as nodes

REAL = nodes.continues_final_message
QS = [
    "What is the derivative of x^2 sin(x)?",
    "What is the derivative of x^3 cos(x)?",
    "What is the derivative of e^x sin(x)?",
    "What is the derivative of x ln(x)?",
    "Differentiate sin(x) cos(x)",
    "What is the derivative of x^2 e^x?",
]


def timed(service, q):
    t = time.perf_counter()
    first = fm = None
    ans = ""
    ver = ""
    for ev in service.ask(q):
        now = time.perf_counter() - t
        if ev.type == "token":
            first = first or now
            if ev.origin == "model" and fm is None:
                fm = now
        elif ev.type == "final":
            ans = ev.answer
        elif ev.type == "verification":
            ver = ev.summary
    tot = time.perf_counter() - t
    sid = service.sessions()[0].id
    u = service.last_trace(sid).usage
    return {
        "q": q,
        "first": first,
        "first_model": fm,
        "total": tot,
        "prompt": getattr(u, "prompt_tokens", None),
        "completion": getattr(u, "completion_tokens", None),
        "verification": ver,
        "answer": ans,
    }


def main():
    from mltutor.agent.facade import create_service
    from mltutor.settings import load_settings

    s = create_service(load_settings())
    s.start()
    timed(s, "What is a gradient?")
    out = []
    n = int(sys.argv[1]) if len(sys.argv) > 1 else len(QS)
    for i, q in enumerate(QS[:n]):
        arms = ["new", "old"] if i % 2 == 0 else ["old", "new"]
        for arm in arms:
            nodes.continues_final_message = REAL if arm == "new" else (lambda m: False)
            r = timed(s, q)
            r["arm"] = arm
            r["load"] = os.getloadavg()[0]
            out.append(r)
            print(
                arm,
                q,
                {
                    k: (round(v, 2) if isinstance(v, float) else v)
                    for k, v in r.items()
                    if k not in ("answer", "q")
                },
                flush=True,
            )
    Path(__file__).resolve().parents[1].joinpath("bench/results/prefill_ab.json").write_text(
        json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    )
    for arm in ("new", "old"):
        rs = [r for r in out if r["arm"] == arm]
        print(
            arm,
            "median total",
            st.median(r["total"] for r in rs),
            "first_model",
            st.median(r["first_model"] for r in rs if r["first_model"]),
            "prompt",
            st.median(r["prompt"] for r in rs),
            "completion",
            st.median(r["completion"] for r in rs),
        )
    s.close()


if __name__ == "__main__":
    main()
