"""Drafting candidates: the model writes, each candidate is verified and scored (best-of-N).

Candidates are sampled one after another by default (the embedded model serves one request at a
time, so concurrent requests only queue); with ``concurrency`` > 1 the extra candidates are requested
at once from a server with several slots. Only the first candidate streams to the user; the others
are collected quietly. Sampling stops early when two good candidates say the same thing in their own
words, or when the time or token budget is spent.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

from mltutor.agent.errors import Cancelled
from mltutor.agent.llm import ChatModel
from mltutor.agent.tutor.records import Candidate
from mltutor.agent.tutor.scoring import agree
from mltutor.agent.tutor.state import RunContext


def good(candidate: Candidate) -> bool:
    """Nothing wrong was found in it: no failed formula, no statement contradicting the notes, no
    citation of a source that was not retrieved. Two good candidates that agree end sampling."""
    v = candidate.verification
    return (
        not v.claims_failed
        and not v.count("contradicted")
        and candidate.details.get("citations", 1.0) >= 1.0
    )


Emit = Callable[[str, int], None]
"""Streams a piece of candidate ``index``'s text to the user."""
Judge = Callable[[str, int], Candidate]
"""Verifies and scores a candidate's own text (index given for events)."""


def stream_text(
    model: ChatModel,
    messages: list[dict[str, Any]],
    temperature: float,
    ctx: RunContext,
    emit: Emit | None,
    index: int,
    max_tokens: int | None = None,
) -> str:
    """One candidate's text; ``emit`` (when given) receives each piece as it arrives."""
    pieces: list[str] = []
    stream = model.stream(messages, temperature=temperature, max_tokens=max_tokens)
    with closing(stream):  # type: ignore[type-var]
        for piece in stream:
            if ctx.cancel.is_set():
                raise Cancelled()
            pieces.append(piece)
            if emit is not None:
                emit(piece, index)
    if ctx.cancel.is_set():
        raise Cancelled()
    return "".join(pieces)


def sample_candidates(
    model: ChatModel,
    messages: list[dict[str, Any]],
    ctx: RunContext,
    *,
    first_index: int,
    plan: list[float],
    emit: Emit,
    judge: Judge,
    max_tokens: int | None = None,
) -> list[Candidate]:
    """Sample candidates at the temperatures in ``plan``; return them verified and scored."""
    start = time.perf_counter()
    out: list[Candidate] = []
    tokens = 0

    def done() -> bool:
        if len(out) < 2:
            return False
        best = max(out, key=lambda c: c.score)
        latest = out[-1]
        if (
            latest is not best
            and good(best)
            and good(latest)
            and agree(best.own_text, latest.own_text)
        ):
            return True  # two good candidates say the same: more samples would not change it
        return tokens > ctx.token_budget or time.perf_counter() - start > ctx.time_budget_s

    index = first_index
    own = stream_text(model, messages, plan[0], ctx, emit, index, max_tokens)
    tokens += len(own) // 4
    out.append(judge(own, index))
    rest = plan[1:]
    width = max(1, ctx.concurrency)
    while rest and not done():
        batch, rest = rest[:width], rest[width:]
        indices = [first_index + len(out) + i for i in range(len(batch))]
        if width == 1:
            texts = [stream_text(model, messages, batch[0], ctx, None, indices[0], max_tokens)]
        else:
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                futures = [  # each in a copy of this context: the turn's usage scope included
                    pool.submit(
                        contextvars.copy_context().run,
                        stream_text,
                        model,
                        messages,
                        t,
                        ctx,
                        None,
                        i,
                        max_tokens,
                    )
                    for t, i in zip(batch, indices, strict=True)
                ]
                texts = [f.result() for f in futures]
        for text, i in zip(texts, indices, strict=True):
            tokens += len(text) // 4
            out.append(judge(text, i))
    return out


__all__ = ["good", "sample_candidates", "stream_text"]
