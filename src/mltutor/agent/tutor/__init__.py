"""The tutor graph: routing, retrieval, tools, drafting, verification, best-of-N, the answer.

Wiring is in :mod:`.graph`, node logic in :mod:`.nodes`; the state records in :mod:`.state`.
"""

from __future__ import annotations

from mltutor.agent.tutor.graph import build_graph, checkpoint_serializer
from mltutor.agent.tutor.nodes import Retriever
from mltutor.agent.tutor.records import RunTrace, trace_from_state
from mltutor.agent.tutor.state import RunContext, TutorState
from mltutor.agent.tutor.toolbox import ToolBox

__all__ = [
    "Retriever",
    "RunContext",
    "RunTrace",
    "ToolBox",
    "TutorState",
    "build_graph",
    "checkpoint_serializer",
    "trace_from_state",
]
