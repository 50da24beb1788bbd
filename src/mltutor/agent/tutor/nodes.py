"""The tutor's graph nodes: route → retrieve, tools (either order) → draft → verify → respond.

Logic only; the wiring is in :mod:`.graph`. Nodes emit typed events through the LangGraph stream
writer, read per-run controls (cancel flag, best-of-N, exclusions) from the runtime context, and keep
their results in the typed records of :mod:`.records`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from typing import Any, Protocol

from langgraph.runtime import Runtime

from mltutor.agent.events import (
    CandidateScoredEvent,
    Citation,
    FinalEvent,
    PhaseEvent,
    RetrievalEvent,
    TokenEvent,
    VerificationEvent,
)
from mltutor.agent.llm import ChatModel, continues_final_message, current_usage
from mltutor.agent.tutor import prompts
from mltutor.agent.tutor.answer import (
    assistant_message,
    compose_answer,
    verification_summary,
    verified_sentence,
)
from mltutor.agent.tutor.claims import verify
from mltutor.agent.tutor.drafting import sample_candidates
from mltutor.agent.tutor.lead import (
    BankLookup,
    BankMatch,
    choose_lead,
    drop_repeats,
    language_of,
    lead_text,
    relevant_evidence,
)
from mltutor.agent.tutor.prose import StatementChecker, check_prose
from mltutor.agent.tutor.records import Candidate, Intent, Lead, ToolRecord, VerificationRecord
from mltutor.agent.tutor.routing import route, suggested_tools
from mltutor.agent.tutor.scoring import score
from mltutor.agent.tutor.state import RunContext, TutorState
from mltutor.agent.tutor.tool_calls import model_tools, run_tool
from mltutor.agent.tutor.toolbox import ToolBox


class Retriever(Protocol):
    """Search the notes: (query, k) -> citations, best first, never the excluded questions' chunks."""

    def __call__(
        self, query: str, k: int, *, exclude_question_ids: Collection[str] = ()
    ) -> list[Citation]:
        """The ``k`` best sections for ``query``."""
        ...


TOOL_KINDS = frozenset({"derivative", "integral", "gradient", "hessian"})


def _timed(state: TutorState, name: str, start: float) -> dict[str, float]:
    timings = dict(state.get("timings") or {})
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 4)
    return timings


class TutorNodes:
    """Node functions bound to their dependencies (model, tools, retriever)."""

    def __init__(
        self,
        model: ChatModel | None,
        toolbox: ToolBox,
        retriever: Retriever | None,
        *,
        k: int = 4,
        statements: StatementChecker | None = None,
        bank_match: BankMatch | None = None,
        lookup: BankLookup | None = None,
    ) -> None:
        self.model, self.toolbox, self.retriever, self.k = model, toolbox, retriever, k
        self.statements, self.bank_match, self.lookup = statements, bank_match, lookup

    # -- route -------------------------------------------------------------------------------

    def route(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        question = state["question"]
        intent = Intent.model_validate(route(question))
        if runtime.context.mode == "check" and intent.kind != "check":
            intent = Intent(kind="check", tool="check_derivation", args={"text": question})
        return {
            "intent": intent,
            "hits": [],
            "tool_calls": [],
            "candidates": [],
            "best": 0,
            "revisions": 0,
            "answer": "",
            "citations": [],
            "verification": VerificationRecord(),
            "lead": None,
            "messages": [{"role": "user", "content": question}],
            "timings": {"route": round(time.perf_counter() - start, 4)},
            "usage": {},
        }

    # -- retrieve ------------------------------------------------------------------------------

    def retrieve(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        runtime.stream_writer(PhaseEvent(run_id=runtime.context.run_id, phase="retrieving"))
        hits: list[Citation] = []
        intent = state["intent"]
        if self.retriever is not None:
            query = state["question"]
            if intent.kind in TOOL_KINDS:
                query = f"{intent.kind} {query}"
            hits = self.retriever(
                query,
                2 if intent.kind == "check" else self.k,
                exclude_question_ids=runtime.context.exclude_question_ids,
            )
        ctx = runtime.context
        lead: Lead | None = None
        if intent.kind == "general" and hits and ctx.notes_lead:
            language = language_of(state["question"], ctx.language)
            lead, hits = choose_lead(
                state["question"],
                hits,
                language=language,
                bank_match=self.bank_match,
                lookup=self.lookup,
                exclude_question_ids=ctx.exclude_question_ids,
            )
            hits = relevant_evidence(hits, lead, ctx.exclude_question_ids)
        runtime.stream_writer(RetrievalEvent(run_id=ctx.run_id, hits=hits))
        if lead is not None and self.model is not None:
            # our own text is on screen before the model has read its prompt
            runtime.stream_writer(
                TokenEvent(
                    run_id=ctx.run_id,
                    text=lead_text(lead, language_of(state["question"], ctx.language)) + "\n\n",
                    origin="notes",
                )
            )
        return {"hits": hits, "lead": lead, "timings": _timed(state, "retrieve", start)}

    # -- tools -----------------------------------------------------------------------------------

    def tools(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        intent, question = state["intent"], state["question"]
        calls: list[ToolRecord] = []
        if intent.tool:
            call = run_tool(self.toolbox, intent.tool, intent.args, "router", runtime, question)
            calls.append(call)
            if call.result_line and self.model is not None:
                # the computed result is on screen at once, before retrieval and the model
                ctx = runtime.context
                runtime.stream_writer(
                    TokenEvent(run_id=ctx.run_id, text=call.result_line + "\n\n", origin="tools")
                )
        elif intent.kind == "general" and self.model is not None and state.get("lead") is None:
            # with our notes leading, the question is one the notes answer: no tool-choice call
            # (its prompt carries the offered tools' schemas: 18-124 s of prompt reading per
            # question in the conceptual runs on a loaded 2-core machine, and no tool was chosen)
            names = suggested_tools(question)
            if names:
                calls += model_tools(self.model, self.toolbox, question, names, runtime)
        return {"tool_calls": calls, "timings": _timed(state, "tools", start)}

    # -- draft -----------------------------------------------------------------------------------

    def _fallback_answer(self, state: TutorState) -> str:
        """No model: state the computed results and the best note, honestly labelled."""
        lines = [
            "*(No language model is available; this answer is assembled from the tools and "
            "the notes.)*",
            "",
        ]
        lines += [f"- {call.summary}" for call in state.get("tool_calls", [])]
        hits = state.get("hits", [])
        if hits and not state.get("lead"):
            lines += ["", f"From the notes [1] ({hits[0].label}):", "", hits[0].text[:800]]
        return "\n".join(lines)

    def _tool_lead(self, state: TutorState) -> str:
        """A computed result that opens the answer; the model explains it and cannot misstate it."""
        return next(
            (
                c.result_line
                for c in state.get("tool_calls", [])
                if c.result_line and c.origin == "router"
            ),
            "",
        )

    def draft(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        start = time.perf_counter()
        ctx = runtime.context
        candidates = list(state.get("candidates", []))
        history = list(state.get("messages", []))[:-1]
        tool_lead = self._tool_lead(state)
        notes = state.get("lead")
        language = language_of(state["question"], ctx.language)
        lead = tool_lead or (lead_text(notes, language) if notes else "")
        args: dict[str, Any] = {}
        if state.get("revisions", 0) > 0:
            best = candidates[state.get("best", 0)]
            args = {"failures": best.verification.failures, "previous": best.own_text}
        prefilled = bool(tool_lead) and not args and continues_final_message(self.model)
        messages = prompts.draft_messages(
            state["question"],
            history,
            state.get("hits", []),
            state.get("tool_calls", []),
            ctx.language,
            lead=tool_lead,
            notes_lead=notes.text if notes and not tool_lead else "",
            prefill=prefilled,
            **args,
        )
        plan = [0.2] if args else [0.2] + [0.8] * (max(1, ctx.best_of) - 1)

        writing: set[int] = set()

        def emit(piece: str, index: int) -> None:
            if index not in writing:
                writing.add(index)
                phase = f"candidate {index + 1}" if index else ""
                runtime.stream_writer(PhaseEvent(run_id=ctx.run_id, phase="writing", detail=phase))
            runtime.stream_writer(TokenEvent(run_id=ctx.run_id, text=piece, candidate=index))

        def judge(own: str, index: int) -> Candidate:
            own = drop_repeats(prompts.finish(own), notes.text if notes and not tool_lead else "")
            if prefilled:  # it read no notes: a [1] it writes would cite what it never saw
                own = re.sub(r"\s?\[\d+\]", "", own)
            text = f"{lead}\n\n{own.strip()}" if lead else own
            return self._judge(text, own, state, runtime, index)

        if self.model is None:
            candidates.append(judge(self._fallback_answer(state), len(candidates)))
        else:
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
            runtime.stream_writer(
                PhaseEvent(
                    run_id=ctx.run_id,
                    phase="reading",
                    detail=f"{prompt_tokens:,} tokens of notes and question",
                )
            )
            candidates += sample_candidates(
                self.model,
                messages,
                ctx,
                first_index=len(candidates),
                plan=plan,
                emit=emit,
                judge=judge,
                max_tokens=prompts.LEAD_MAX_TOKENS if lead else prompts.DRAFT_MAX_TOKENS,
            )
        best_index = max(range(len(candidates)), key=lambda i: candidates[i].score)
        return {
            "candidates": candidates,
            "best": best_index,
            "timings": _timed(state, "draft", start),
        }

    def _judge(
        self, text: str, own: str, state: TutorState, runtime: Runtime[RunContext], index: int
    ) -> Candidate:
        ctx = runtime.context
        if ctx.verify:
            runtime.stream_writer(PhaseEvent(run_id=ctx.run_id, phase="verifying"))
            verification = verify(text, state.get("tool_calls", []), self.toolbox.limits)
            language = language_of(state["question"], ctx.language)
            statements = check_prose(own, state.get("hits", []), self.statements, language)
            verification.statements = statements
            for st in statements:
                if st.verdict == "contradicted":
                    where = f" [{st.source}]" if st.source else ""
                    verification.failures.append(
                        f'"{st.sentence}" contradicts the notes{where}: {st.evidence[:200]}'
                    )
        else:
            verification = VerificationRecord()
        details = score(text, verification, state.get("hits", []))
        runtime.stream_writer(
            CandidateScoredEvent(
                run_id=runtime.context.run_id,
                candidate=index,
                score=details["score"],
                details=details,
            )
        )
        return Candidate(
            text=text,
            own_text=own,
            score=details["score"],
            details=details,
            verification=verification,
        )

    # -- verify ----------------------------------------------------------------------------------

    def verify(self, state: TutorState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        v = state["candidates"][state["best"]].verification
        runtime.stream_writer(
            VerificationEvent(
                run_id=runtime.context.run_id,
                claims_checked=v.claims_checked,
                claims_failed=v.claims_failed,
                failures=v.failures,
                revision=state.get("revisions", 0),
                statements_checked=len(v.statements),
                statements_supported=v.count("supported"),
                statements_contradicted=v.count("contradicted"),
                summary=verification_summary(v),
            )
        )
        return {"verification": v}

    def needs_revision(self, state: TutorState, runtime: Runtime[RunContext]) -> str:
        """Edge: revise when the best draft has failed claims and revisions remain. Not after a
        lead: the answer's substance (a computed result, our notes) is already right, and what the
        model added that failed is removed from it (:func:`compose_answer`, which says so); a
        second draft would double the answer time (+15-100 s on the embedded model) to reword an
        addition."""
        v = state["verification"]
        if (
            (v.claims_failed or v.count("contradicted"))
            and self.model is not None
            and not state.get("lead")
            and not self._tool_lead(state)
            and runtime.context.verify
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
        hits = state.get("hits", [])
        tool_calls = state.get("tool_calls", [])
        language = language_of(state["question"], runtime.context.language)
        answer, citations = compose_answer(
            best, hits, tool_calls, runtime.context.verify, language=language
        )
        verified = verified_sentence(best.verification, tool_calls)
        runtime.stream_writer(
            FinalEvent(
                run_id=runtime.context.run_id,
                answer=answer,
                citations=citations,
                verified=verified,
            )
        )
        return {
            "answer": answer,
            "citations": citations,
            "verification": best.verification,
            "messages": [
                assistant_message(
                    answer,
                    citations,
                    hits,
                    tool_calls,
                    best.verification,
                    verified,
                    state.get("revisions", 0),
                )
            ],
            "timings": _timed(state, "respond", start),
            # every model call of the turn ran in the facade's usage scope (a plain dict: state)
            "usage": current_usage().model_dump(),
        }


__all__ = ["Retriever", "TutorNodes"]
