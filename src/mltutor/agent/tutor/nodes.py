"""The tutor's graph nodes: route → retrieve → tools → draft → verify → respond.

Logic only; the wiring is in :mod:`mltutor.agent.tutor.graph`. Nodes emit typed events through the LangGraph
stream writer and read per-run controls (cancel flag, best-of-N) from the runtime context.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import closing
from typing import Any

from langgraph.runtime import Runtime

from mltutor.agent.errors import Cancelled, ProviderError
from mltutor.agent.events import (
    CandidateScoredEvent,
    Citation,
    FinalEvent,
    RetrievalEvent,
    TokenEvent,
    ToolResultEvent,
    ToolStartedEvent,
    VerificationEvent,
)
from mltutor.agent.llm import ChatModel
from mltutor.agent.tutor import prompts
from mltutor.agent.tutor.claims import verify
from mltutor.agent.tutor.routing import route, suggested_tools
from mltutor.agent.tutor.scoring import agree, cited_indices, score
from mltutor.agent.tutor.state import RunContext, TutorState
from mltutor.agent.tutor.toolbox import ToolBox, result_line

Retriever = Callable[[str, int], list[Citation]]
"""Search the notes: (query, k) -> citations, best first."""

EARLY_STOP_SCORE = 0.85


def _timed(state: TutorState, name: str, start: float) -> dict[str, float]:
    timings = dict(state.get("timings") or {})
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 4)
    return timings


class TutorNodes:
    """Node functions bound to their dependencies (model, tools, retriever)."""

    def __init__(
        self, model: ChatModel | None, toolbox: ToolBox, retriever: Retriever | None, *, k: int = 4
    ) -> None:
        self.model, self.toolbox, self.retriever, self.k = model, toolbox, retriever, k

    # -- route -------------------------------------------------------------------------------

    def route(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        question = state["question"]
        intent = route(question)
        if runtime.context.mode == "check" and intent["kind"] != "check":
            intent = {"kind": "check", "tool": "check_derivation", "args": {"text": question}}
        return {
            "intent": intent,
            "hits": [],
            "tool_calls": [],
            "candidates": [],
            "best": 0,
            "revisions": 0,
            "answer": "",
            "citations": [],
            "verification": {},
            "messages": [{"role": "user", "content": question}],
            "timings": {"route": round(time.perf_counter() - start, 4)},
        }

    # -- retrieve ------------------------------------------------------------------------------

    def retrieve(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        hits: list[Citation] = []
        if self.retriever is not None:
            query = state["question"]
            if state["intent"]["kind"] in {"derivative", "integral", "gradient", "hessian"}:
                query = f"{state['intent']['kind']} {query}"
            hits = self.retriever(query, 2 if state["intent"]["kind"] == "check" else self.k)
        runtime.stream_writer(RetrievalEvent(run_id=runtime.context.run_id, hits=hits))
        return {"hits": [h.model_dump() for h in hits], "timings": _timed(state, "retrieve", start)}

    # -- tools -----------------------------------------------------------------------------------

    def _run_tool(
        self, name: str, args: dict[str, Any], origin: str, runtime: Runtime[RunContext]
    ) -> dict[str, Any]:
        call_id = uuid.uuid4().hex[:8]
        run_id = runtime.context.run_id
        runtime.stream_writer(
            ToolStartedEvent(run_id=run_id, call_id=call_id, name=name, args=args, origin=origin)
        )  # type: ignore[arg-type]
        out = self.toolbox.run(name, args, origin)
        runtime.stream_writer(
            ToolResultEvent(
                run_id=run_id,
                call_id=call_id,
                name=name,
                ok=out.ok,
                result=out.result,
                summary=out.summary,
            )
        )
        return {
            "name": name,
            "args": args,
            "result": out.result,
            "ok": out.ok,
            "summary": out.summary,
            "origin": origin,
            "result_line": result_line(name, args, out.result) if out.ok else None,
        }

    def tools(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        intent = state["intent"]
        calls: list[dict[str, Any]] = []
        if "tool" in intent:
            calls.append(self._run_tool(intent["tool"], intent["args"], "router", runtime))
        elif intent["kind"] == "general" and self.model is not None:
            names = suggested_tools(state["question"])
            if names:
                calls += self._model_tools(state["question"], names, runtime)
        return {"tool_calls": calls, "timings": _timed(state, "tools", start)}

    def _model_tools(
        self, question: str, names: list[str], runtime: Runtime[RunContext]
    ) -> list[dict[str, Any]]:
        assert self.model is not None
        try:
            completion = self.model.complete(
                prompts.tool_selection_messages(question),
                tools=self.toolbox.schemas(names),
                tool_choice="auto",
            )
        except ProviderError as exc:
            if exc.kind != "malformed_tool_call":
                raise
            return [
                {
                    "name": "tool_call",
                    "args": {},
                    "ok": False,
                    "origin": "model",
                    "result": {"error": exc.message},
                    "summary": exc.message,
                }
            ]
        calls = []
        for call in completion.tool_calls[:2]:
            if call.name not in names:
                continue
            calls.append(self._run_tool(call.name, call.arguments, "model", runtime))
        return calls

    # -- draft -----------------------------------------------------------------------------------

    def _stream(
        self,
        messages: list[dict[str, Any]],
        index: int,
        temperature: float,
        runtime: Runtime[RunContext],
    ) -> str:
        assert self.model is not None
        ctx = runtime.context
        pieces: list[str] = []
        with closing(self.model.stream(messages, temperature=temperature)) as stream:  # type: ignore[type-var]
            for piece in stream:
                if ctx.cancel.is_set():
                    raise Cancelled()
                pieces.append(piece)
                runtime.stream_writer(TokenEvent(run_id=ctx.run_id, text=piece, candidate=index))
        if ctx.cancel.is_set():
            raise Cancelled()
        return "".join(pieces)

    def _fallback_answer(self, state: TutorState) -> str:
        """No model: state the computed results and the best note, honestly labelled."""
        lines = [
            "*(No language model is available; this answer is assembled from the tools and "
            "the notes.)*",
            "",
        ]
        for call in state.get("tool_calls", []):
            lines.append(f"- {call['summary']}")
        hits = state.get("hits", [])
        if hits:
            lines += ["", f"From the notes [1] ({hits[0]['label']}):", "", hits[0]["text"][:800]]
        return "\n".join(lines)

    def draft(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        ctx = runtime.context
        candidates = list(state.get("candidates", []))
        history = [m for m in state.get("messages", [])[:-1]]
        revising = state.get("revisions", 0) > 0
        # a computed result leads the answer; the model explains it (and cannot misstate it)
        lead = next(
            (
                c["result_line"]
                for c in state.get("tool_calls", [])
                if c.get("result_line") and c.get("origin") == "router"
            ),
            "",
        )
        if revising:
            best = candidates[state.get("best", 0)]
            messages = prompts.draft_messages(
                state["question"],
                history,
                state["hits"],
                state["tool_calls"],
                ctx.language,
                failures=best["verification"]["failures"],
                previous=best["text"],
                lead=lead,
            )
            plan = [0.2]
        else:
            messages = prompts.draft_messages(
                state["question"],
                history,
                state["hits"],
                state["tool_calls"],
                ctx.language,
                lead=lead,
            )
            plan = [0.2] + [0.8] * (max(1, ctx.best_of) - 1)
        tokens = 0
        for temperature in plan:
            index = len(candidates)
            if self.model is None:
                text = self._fallback_answer(state)
            else:
                if lead:
                    runtime.stream_writer(
                        TokenEvent(run_id=ctx.run_id, text=lead + "\n\n", candidate=index)
                    )
                text = self._stream(messages, index, temperature, runtime)
                if lead:
                    text = f"{lead}\n\n{text.strip()}"
            tokens += len(text) // 4
            candidate = self._score(text, state, runtime, index)
            candidates.append(candidate)
            if self.model is None or len(candidates) < 2:
                continue
            best = max(candidates, key=lambda c: c["score"])
            if (
                best["score"] >= EARLY_STOP_SCORE
                and agree(best["text"], candidate["text"])
                and candidate is not best
            ):
                break  # two good candidates agree: more samples would not change the answer
            if tokens > ctx.token_budget or time.perf_counter() - start > ctx.time_budget_s:
                break
        best_index = max(range(len(candidates)), key=lambda i: candidates[i]["score"])
        return {
            "candidates": candidates,
            "best": best_index,
            "timings": _timed(state, "draft", start),
        }

    def _score(
        self, text: str, state: TutorState, runtime: Runtime[RunContext], index: int
    ) -> dict[str, Any]:
        verification = verify(text, state.get("tool_calls", []), self.toolbox.limits)
        details = score(text, verification, state.get("hits", []))
        runtime.stream_writer(
            CandidateScoredEvent(
                run_id=runtime.context.run_id,
                candidate=index,
                score=details["score"],
                details=details,
            )
        )
        return {
            "text": text,
            "score": details["score"],
            "details": details,
            "verification": verification.as_dict(),
            "stated": [verification.tool_results_stated, verification.tool_results_expected],
        }

    # -- verify ----------------------------------------------------------------------------------

    def verify(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        best = state["candidates"][state["best"]]
        v = best["verification"]
        runtime.stream_writer(
            VerificationEvent(
                run_id=runtime.context.run_id,
                claims_checked=v["claims_checked"],
                claims_failed=v["claims_failed"],
                failures=v["failures"],
                revision=state.get("revisions", 0),
            )
        )
        return {"verification": v}

    def needs_revision(self, state: TutorState, runtime: Runtime[RunContext]) -> str:
        """Edge: revise when the best draft has failed claims and revisions remain."""
        failed = state["verification"].get("claims_failed", 0)
        if (
            failed
            and self.model is not None
            and state.get("revisions", 0) < runtime.context.max_revisions
        ):
            return "revise"
        return "respond"

    def revise(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        return {"revisions": state.get("revisions", 0) + 1}

    # -- respond ---------------------------------------------------------------------------------

    def respond(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        best = state["candidates"][state["best"]]
        answer = best["text"].strip()
        v = dict(best["verification"])
        removed = 0
        for span in v.get("failed_spans", []):
            kept = [line for line in answer.splitlines() if span not in line]
            removed += len(answer.splitlines()) - len(kept)
            answer = "\n".join(kept).strip()
        if removed:
            answer += (
                f"\n\n*({removed} line(s) with formulas that did not verify were removed "
                "from this answer.)*"
            )
        stated, expected = best.get("stated", [0, 0])
        additions = []
        if stated < expected:
            # the model did not state what the tools computed: say it, so the answer is never wrong
            for call in state.get("tool_calls", []):
                if call["ok"]:
                    additions.append(f"- {call['summary']}")
        if additions:
            answer += "\n\n**Computed by mltutor's tools:**\n" + "\n".join(additions)
        hits = state.get("hits", [])
        used = [n for n in cited_indices(answer) if 1 <= n <= len(hits)]
        if not used and hits:
            used = [1]
            answer += f"\n\nSource: [1] {hits[0]['label']}"
        citations = [hits[n - 1] for n in used]
        verified = _verified_sentence(v, state.get("tool_calls", []))
        runtime.stream_writer(
            FinalEvent(
                run_id=runtime.context.run_id,
                answer=answer,
                citations=[Citation(**c) for c in citations],
                verified=verified,
            )
        )
        return {
            "answer": answer,
            "citations": citations,
            "verification": v,
            "messages": [
                {
                    "role": "assistant",
                    "content": answer,
                    "citations": [c["label"] for c in citations],
                }
            ],
            "timings": _timed(state, "respond", start),
        }


def _verified_sentence(v: dict[str, Any], tool_calls: list[dict[str, Any]]) -> str:
    parts = []
    computed = [c["name"] for c in tool_calls if c["ok"]]
    if computed:
        parts.append("computed with " + ", ".join(sorted(set(computed))))
    checked, failed = v.get("claims_checked", 0), v.get("claims_failed", 0)
    if checked:
        parts.append(f"{checked - failed} of {checked} mathematical claims verified")
    else:
        parts.append("no checkable formulas in the answer")
    return "; ".join(parts).capitalize() + "."


__all__ = ["Retriever", "TutorNodes"]
