"""Wiring of the tutor graph. Modes (tutor / check) are run context, not copies of the graph."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from mltutor.agent.llm import ChatModel
from mltutor.agent.tutor.lead import BankLookup, BankMatch
from mltutor.agent.tutor.nodes import Retriever, TutorNodes
from mltutor.agent.tutor.prose import StatementChecker
from mltutor.agent.tutor.state import RunContext, TutorState
from mltutor.agent.tutor.toolbox import ToolBox


def build_graph(
    model: ChatModel | None,
    tools: ToolBox,
    retriever: Retriever | None,
    *,
    checkpointer: Any = None,
    statements: StatementChecker | None = None,
    bank_match: BankMatch | None = None,
    lookup: BankLookup | None = None,
) -> Any:
    """Compile the tutor graph: route → retrieve (+ notes lead) and tools (a routed tool first)
    → draft → verify ⇄ revise
    → respond. ``statements`` checks prose against the notes; ``bank_match``/``lookup`` find the
    bank question whose reference answer may lead."""
    nodes = TutorNodes(
        model, tools, retriever, statements=statements, bank_match=bank_match, lookup=lookup
    )
    g = StateGraph(TutorState, context_schema=RunContext)
    g.add_node("route", nodes.route)
    g.add_node("retrieve", nodes.retrieve)
    g.add_node("tools", nodes.tools)
    g.add_node("draft", nodes.draft)
    g.add_node("verify", nodes.verify)
    g.add_node("revise", nodes.revise)
    g.add_node("respond", nodes.respond)
    g.add_edge(START, "route")
    # a routed tool runs first, so its result is on screen before retrieval (~1 s) has run
    g.add_conditional_edges(
        "route",
        lambda s: "tools" if s["intent"].tool else "retrieve",
        {"tools": "tools", "retrieve": "retrieve"},
    )
    g.add_conditional_edges(
        "retrieve", lambda s: _next(s, "tools"), {"tools": "tools", "draft": "draft"}
    )
    g.add_conditional_edges(
        "tools", lambda s: _next(s, "retrieve"), {"retrieve": "retrieve", "draft": "draft"}
    )
    g.add_edge("draft", "verify")
    g.add_conditional_edges(
        "verify", nodes.needs_revision, {"revise": "revise", "respond": "respond"}
    )
    g.add_edge("revise", "draft")
    g.add_edge("respond", END)
    return g.compile(checkpointer=checkpointer)


def _next(state: Any, other: str) -> str:
    """After retrieve or tools: the other one if this turn has not run it yet, else draft. A node
    that ran has its time in this turn's ``timings`` (route resets them each turn)."""
    return other if other not in (state.get("timings") or {}) else "draft"


def checkpoint_serializer() -> Any:
    """LangGraph's serializer, allowed to restore exactly our state records (and nothing else)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from mltutor.agent.tutor.records import STATE_TYPES

    return JsonPlusSerializer(
        allowed_msgpack_modules=[(cls.__module__, cls.__name__) for cls in STATE_TYPES]
    )
