"""The tutor service: the real :class:`~mltutor.agent.service.TutorService` behind the CLI and TUI.

Slow parts start lazily: the knowledge index and the model endpoint on the first question (or on
``start()``, which front ends call in the background with a progress callback).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mltutor.agent.errors import AgentError, Cancelled, ProviderError
from mltutor.agent.events import Citation, ErrorEvent, Event
from mltutor.agent.llm import ChatModel
from mltutor.agent.service import Progress, ServiceStatus, SessionInfo, TranscriptEntry
from mltutor.agent.sessions import SessionStore, open_database
from mltutor.agent.tutor import RunContext, ToolBox
from mltutor.settings import Settings
from mltutor.tools.checker import CheckReport, check_derivation

ModelFactory = Callable[[Progress], ChatModel]
RetrieverFactory = Callable[[Progress], Callable[[str, int], list[Citation]]]


def notes_retriever(
    data_dir: Path, chroma_url: str | None, progress: Progress | None = None
) -> Callable[[str, int], list[Citation]]:
    """Open (building if needed) the knowledge base and adapt its hits to citations."""
    from mltutor.knowledge.base import open_knowledge_base

    report: Progress = progress or (lambda msg, frac: None)
    kb = open_knowledge_base(
        data_dir=data_dir, chroma_url=chroma_url, progress=lambda msg: report(msg, None)
    )
    kb.ensure_index()

    def search(query: str, k: int) -> list[Citation]:
        return [
            Citation(
                label=h.citation,
                topic=h.topic,
                heading=h.heading,
                source=h.source,
                score=h.score,
                text=h.text,
            )
            for h in kb.search(query, k=k)
        ]

    return search


class Tutor:
    """LangGraph tutor with sessions; models and retrieval come from injectable factories."""

    def __init__(
        self,
        settings: Settings,
        *,
        model_factory: ModelFactory | None = None,
        retriever_factory: RetrieverFactory | None = None,
    ) -> None:
        self.settings = settings
        self._model_factory = model_factory or self._default_model
        self._retriever_factory = retriever_factory or self._default_retriever
        self.toolbox = ToolBox(settings.tools)
        self._lock = threading.RLock()
        self._model: ChatModel | None = None
        self._judge: ChatModel | None = None
        self._retriever: Callable[[str, int], list[Citation]] | None = None
        self._graph: Any = None
        self._reader: Any = None
        self._closers: list[Callable[[], None]] = []
        self._status = ServiceStatus(
            model="", endpoint="", embedded=False, ready=False, detail="not started"
        )
        conn, notice = open_database(settings.data_dir / "sessions.sqlite")
        self.notice = notice
        self._conn = conn
        self.store = SessionStore(conn)
        from langgraph.checkpoint.sqlite import SqliteSaver

        self._checkpointer = SqliteSaver(conn)

    # -- start-up --------------------------------------------------------------------------

    def _default_retriever(self, progress: Progress) -> Callable[[str, int], list[Citation]]:
        return notes_retriever(self.settings.data_dir, self.settings.chroma_url, progress)

    def _default_model(self, progress: Progress) -> ChatModel:
        from mltutor.agent.llm import connect_models

        connected = connect_models(self.settings, progress)
        self._status = connected.status
        self._judge = connected.judge
        if connected.close is not None:
            self._closers.append(connected.close)
        return connected.tutor

    def start(self, progress: Progress | None = None) -> None:
        report: Progress = progress or (lambda msg, frac: None)
        with self._lock:
            if self._graph is not None:
                return
            from mltutor.agent.tutor import build_graph

            if self._retriever is None:
                report("opening the knowledge index…", None)
                self._retriever = self._retriever_factory(report)
            if self._model is None:
                try:
                    self._model = self._model_factory(report)
                    if not self._status.model:
                        self._status = ServiceStatus(
                            model=self._model.name, endpoint="custom", embedded=False, ready=True
                        )
                except ProviderError as exc:
                    self._status = ServiceStatus(
                        model="", endpoint="", embedded=False, ready=False, detail=exc.message
                    )
                    raise
            self._graph = build_graph(
                self._model, self.toolbox, self._retriever, checkpointer=self._checkpointer
            )
            report("ready", 1.0)

    def status(self) -> ServiceStatus:
        return self._status

    def _reader_graph(self) -> Any:
        """A model-free graph over the same checkpointer, for reading transcripts."""
        if self._reader is None:
            from mltutor.agent.tutor import build_graph

            self._reader = build_graph(None, self.toolbox, None, checkpointer=self._checkpointer)
        return self._reader

    # -- asking ------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        best_of: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        run_id = uuid.uuid4().hex[:10]
        if not question.strip():
            yield ErrorEvent(run_id=run_id, message="the question is empty", kind="input")
            return
        try:
            session = self.store.get(session_id) if session_id else self.store.create()
            self.start()
        except AgentError as exc:
            kind = "provider" if isinstance(exc, ProviderError) else "session"
            yield ErrorEvent(
                run_id=run_id,
                message=exc.message,
                kind=kind,
                retryable=getattr(exc, "retryable", False),
            )
            return
        except Exception as exc:  # e.g. KnowledgeError: a malformed note or unreadable index
            yield ErrorEvent(
                run_id=run_id,
                message=getattr(exc, "message", str(exc)),
                kind="knowledge" if type(exc).__name__ == "KnowledgeError" else "internal",
            )
            return
        config = {"configurable": {"thread_id": session.id}}
        ctx = RunContext(
            run_id=run_id,
            best_of=best_of or self.settings.best_of,
            max_revisions=self.settings.max_revisions,
            language=self.settings.language,
            cancel=cancel or threading.Event(),
        )
        self.store.touch(session.id, question)
        self.last_session_id = session.id
        try:
            for chunk in self._graph.stream(
                {"question": question}, config, context=ctx, stream_mode="custom"
            ):
                yield chunk.model_copy(update={"run_id": run_id})
        except Cancelled as exc:
            self._note(config, "*(answer stopped by the user)*")
            yield ErrorEvent(run_id=run_id, message=exc.message, kind="cancelled")
        except ProviderError as exc:
            self._note(config, f"*(no answer: {exc.message})*")
            yield ErrorEvent(
                run_id=run_id, message=exc.message, kind="provider", retryable=exc.retryable
            )
        except Exception as exc:  # a bug must not crash the front end or lose the session
            self._note(config, "*(no answer: internal error)*")
            yield ErrorEvent(
                run_id=run_id,
                message=f"internal error: {type(exc).__name__}: {exc}",
                kind="internal",
            )

    def _note(self, config: dict[str, Any], text: str) -> None:
        """Close an interrupted turn in the transcript so the session stays consistent."""
        with contextlib.suppress(Exception):  # the question may not have been stored yet
            self._graph.update_state(
                config, {"messages": [{"role": "assistant", "content": text}]}, as_node="respond"
            )

    def last_state(self, session_id: str) -> dict[str, Any]:
        """Trace of the last run in a session (tool calls, candidates, timings...)."""
        state = self._reader_graph().get_state({"configurable": {"thread_id": session_id}})
        return dict(state.values)

    def check(self, text: str) -> CheckReport:
        return check_derivation(text, limits=self.settings.tools)

    def explain_step(
        self,
        text: str,
        report: CheckReport,
        *,
        session_id: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        line = report.first_wrong_step
        question = (
            f"Check my derivation and explain why line {line} is wrong:\n{text}"
            if line
            else f"Check my derivation:\n{text}"
        )
        return self.ask(question, session_id=session_id, cancel=cancel)

    # -- sessions ------------------------------------------------------------------------------

    def sessions(self) -> list[SessionInfo]:
        return self.store.list()

    def new_session(self, title: str = "New session") -> SessionInfo:
        return self.store.create(title)

    def rename_session(self, session_id: str, title: str) -> None:
        self.store.rename(session_id, title)

    def delete_session(self, session_id: str) -> None:
        self.store.delete(session_id)
        self._checkpointer.delete_thread(session_id)

    def transcript(self, session_id: str) -> list[TranscriptEntry]:
        self.store.get(session_id)
        messages = self.last_state(session_id).get("messages", [])
        return [
            TranscriptEntry(
                role=m["role"], content=str(m["content"]), citations=list(m.get("citations", []))
            )
            for m in messages
            if m.get("role") in ("user", "assistant")
        ]

    def export_markdown(self, session_id: str) -> str:
        info = self.store.get(session_id)
        lines = [
            f"# {info.title}",
            "",
            f"*mltutor session {info.id}, {info.created_at:%Y-%m-%d %H:%M} UTC*",
            "",
        ]
        for entry in self.transcript(session_id):
            who = "You" if entry.role == "user" else "Tutor"
            lines += [f"## {who}", "", entry.content, ""]
            if entry.citations:
                lines += ["Sources: " + "; ".join(entry.citations), ""]
        return "\n".join(lines)

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()
        with contextlib.suppress(Exception):
            self._conn.close()


def create_service(settings: Settings, **factories: Any) -> Tutor:
    """Factory used by the CLI and the TUI."""
    return Tutor(settings, **factories)


def run_once(
    service: Tutor,
    question: str,
    *,
    session_id: str | None = None,
    best_of: int | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Ask one question and return the documented JSON shape of ``mltutor ask --json``."""
    start = time.perf_counter()
    final: Any = None
    error: Any = None
    for event in service.ask(question, session_id=session_id, best_of=best_of, cancel=cancel):
        if on_event is not None:
            on_event(event)
        if event.type == "final":
            final = event
        elif event.type == "error":
            error = event
    total = time.perf_counter() - start
    sid = getattr(service, "last_session_id", session_id)
    state = service.last_state(sid) if sid and final is not None else {}
    timings = dict(state.get("timings", {}))
    timings["total"] = round(total, 3)
    out: dict[str, Any] = {
        "answer": final.answer if final else "",
        "citations": [c.model_dump() for c in final.citations] if final else [],
        "tool_calls": [
            {"name": c["name"], "args": c["args"], "result": c["result"]}
            for c in state.get("tool_calls", [])
        ],
        "verification": {
            k: state.get("verification", {}).get(k, 0) for k in ("claims_checked", "claims_failed")
        },
        "candidates": [
            {"score": c["score"], "details": c["details"]} for c in state.get("candidates", [])
        ],
        "timings": timings,
        "model": service.status().model,
        "session": sid,
    }
    if final is not None:
        out["verification"]["summary"] = final.verified
        out["verification"]["failures"] = state.get("verification", {}).get("failures", [])
    if error is not None:
        out["error"] = {"message": error.message, "kind": error.kind, "retryable": error.retryable}
    return out
