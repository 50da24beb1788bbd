"""The tools step: routed calls and model-chosen calls, with their events.

A model-chosen call's numbers must come from the question (a 1.5B model once made up a compute
budget); one that does not is recorded but its result is not presented as the answer.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from langgraph.runtime import Runtime

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import PhaseEvent, ToolResultEvent, ToolStartedEvent
from mltutor.agent.llm import ChatModel
from mltutor.agent.tutor import prompts
from mltutor.agent.tutor.records import ToolRecord
from mltutor.agent.tutor.state import RunContext
from mltutor.agent.tutor.toolbox import ToolBox, grounded


def run_tool(
    toolbox: ToolBox,
    name: str,
    args: dict[str, Any],
    origin: Literal["router", "model"],
    runtime: Runtime[RunContext],
    question: str,
) -> ToolRecord:
    """Run one tool with its events; a model-chosen call must take its numbers from the question."""
    call_id = uuid.uuid4().hex[:8]
    run_id = runtime.context.run_id
    runtime.stream_writer(PhaseEvent(run_id=run_id, phase="tool", detail=name))
    runtime.stream_writer(
        ToolStartedEvent(run_id=run_id, call_id=call_id, name=name, args=args, origin=origin)
    )
    record = toolbox.run(name, args, origin)
    if origin == "model" and not grounded(args, question):
        record = record.model_copy(
            update={
                "grounded": False,
                "summary": record.summary
                + " (inputs not taken from the question: not used in the answer)",
            }
        )
    runtime.stream_writer(
        ToolResultEvent(
            run_id=run_id,
            call_id=call_id,
            name=name,
            ok=record.ok,
            result=record.result,
            summary=record.summary,
        )
    )
    return record


def model_tools(
    model: ChatModel,
    toolbox: ToolBox,
    question: str,
    names: list[str],
    runtime: Runtime[RunContext],
) -> list[ToolRecord]:
    """Offer the model the suggested tools; run what it calls (at most two)."""
    try:
        completion = model.complete(
            prompts.tool_selection_messages(question),
            tools=toolbox.schemas(names),
            tool_choice="auto",
            # a call is a few dozen tokens; a model that answers in prose instead is cut early
            max_tokens=prompts.TOOL_CHOICE_MAX_TOKENS,
        )
    except ProviderError as exc:
        if exc.kind != "malformed_tool_call":
            raise
        return [
            ToolRecord(
                name="tool_call",
                ok=False,
                origin="model",
                result={"error": exc.message},
                summary=exc.message,
            )
        ]
    return [
        run_tool(toolbox, call.name, call.arguments, "model", runtime, question)
        for call in completion.tool_calls[:2]
        if call.name in names
    ]


__all__ = ["model_tools", "run_tool"]
