"""A fault soak: many tutor turns against a scripted server that fails in every way we know of.

Shared by ``tests/agent/test_soak.py`` (asserts) and ``bench/bench_soak.py`` (records figures).
Faults, drawn at random with a fixed seed: HTTP 500, 429 with Retry-After, a connection reset in the
middle of a stream, a body that is not JSON, malformed tool-call arguments, a stall longer than the
request timeout, and an endless stream that ignores ``max_tokens``.
"""

from __future__ import annotations

import os
import random
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.facade import Tutor
from mltutor.agent.llm import EndpointConfig, OpenAIChatModel
from mltutor.settings import Settings
from tests.agent.fake_openai_server import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    error,
    raw,
    stream,
    text,
    tool_call,
)

ANSWER = "By the power rule [1], $\\frac{d}{dx} x^3 = 3x^2$: bring the exponent down."
HIT = Citation(
    label="calculus § Power rule",
    topic="calculus",
    heading="Calculus > Power rule",
    source="notes/calculus.md",
    score=1.0,
    text="The power rule: d/dx x^n = n x^(n-1), the exponent comes down.",
)
QUESTIONS = [
    "What is the derivative of x^3?",
    "Explain the power rule",
    "What is a p-value and what is a z-test?",  # offers tools: the model may call one
]
FAULTS = ["ok", "500", "429", "reset", "garbage", "bad_tool_args", "stall", "endless"]
WEIGHTS = [10, 2, 2, 2, 2, 2, 1, 1]
TURN_BOUND_S = 15.0
"""No turn may take longer than this, whatever the server does."""


def faulty_reply(rng: random.Random, stall_s: float) -> Any:
    """A reply source: each request draws a fault."""
    lock = threading.Lock()

    def reply(request: RecordedRequest) -> Reply:
        with lock:
            fault = rng.choices(FAULTS, WEIGHTS)[0]
        if not request.stream:  # tool selection (non-streamed)
            if fault == "bad_tool_args":
                return tool_call("z_test", "{not json")
            if fault in ("500", "429", "garbage"):
                return _fault(fault)
            return text("no tool")
        if fault in ("500", "429", "garbage"):
            return _fault(fault)
        if fault == "reset":
            return stream(ANSWER.split(" "), drop_after_chunks=3)
        if fault == "stall":
            return text(ANSWER, delay_s=stall_s)
        if fault == "endless":
            return stream(["and so on "] * 200_000)
        return text(ANSWER)

    return reply


def _fault(kind: str) -> Reply:
    if kind == "500":
        return error(500, "scripted server failure")
    if kind == "429":
        return error(429, "slow down", headers={"Retry-After": "0.05"})
    return raw("<html>this is not json</html>")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


@dataclass
class SoakResult:
    turns: int = 0
    finals: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    slowest_s: float = 0.0
    over_bound: int = 0
    rss_mb: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    transcript_ok: bool = True
    problems: list[str] = field(default_factory=list)


def make_tutor(data_dir: Path, url: str, timeout_s: float = 1.0) -> Tutor:
    settings = Settings(
        data_dir=data_dir, cache_dir=data_dir / "cache", request_timeout_s=timeout_s, max_retries=1
    )
    config = EndpointConfig(
        base_url=url,
        model="fake-model",
        timeout_s=timeout_s,
        max_retries=1,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        retry_after_cap_s=0.1,
    )
    return Tutor(
        settings,
        model_factory=lambda progress: OpenAIChatModel(config),
        retriever_factory=lambda progress: lambda q, k, **kw: [HIT],
    )


def soak(
    tutor: Tutor,
    turns: int,
    *,
    seed: int = 7,
    session_id: str | None = None,
    sample_every: int = 20,
) -> SoakResult:
    """Ask ``turns`` questions; record how each ended, and RSS/fds along the way.

    One-time loading (the graph, the embedder, the bank's vectors) is done first, untimed."""
    tutor.start()
    grader = tutor.grader()
    grader.check_statements(["The exponent comes down."], [HIT.text])
    grader.matcher.ranked(QUESTIONS[0])
    rng = random.Random(seed)
    out = SoakResult()
    sid = session_id or tutor.new_session("soak").id
    for i in range(turns):
        question = QUESTIONS[rng.randrange(len(QUESTIONS))]
        start = time.perf_counter()
        last: Any = None
        for event in tutor.ask(question, session_id=sid):
            last = event
        took = time.perf_counter() - start
        out.turns += 1
        out.slowest_s = max(out.slowest_s, took)
        if took > TURN_BOUND_S:
            out.over_bound += 1
        if last is None:
            out.problems.append(f"turn {i}: no events")
        elif last.type == "final":
            out.finals += 1
        elif last.type == "error":
            out.errors[last.kind] = out.errors.get(last.kind, 0) + 1
        else:
            out.problems.append(f"turn {i}: ended with a {last.type} event")
        if i % sample_every == sample_every - 1:
            out.rss_mb.append(round(rss_mb(), 1))
            out.fds.append(open_fds())
    transcript = tutor.transcript(sid)
    roles = [e.role for e in transcript]
    expected = ["user", "assistant"] * turns
    if session_id is None and roles != expected:
        out.transcript_ok = False
        out.problems.append(f"transcript has {len(roles)} messages for {turns} turns")
    return out


def server_with_faults(seed: int = 11, stall_s: float = 3.0) -> FakeOpenAIServer:
    server = FakeOpenAIServer(default=None)
    server.start()
    rng = random.Random(seed)
    source = faulty_reply(rng, stall_s)
    server.script(*([source] * 10_000))
    return server
