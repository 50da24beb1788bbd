"""The tutor service: the real :class:`~mltutor.agent.service.TutorService` behind the CLI and TUI.

Slow parts start lazily: the knowledge index and the model endpoint on the first question (or on
``start()``, which front ends call in the background with a progress callback).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mltutor.agent.adapters import bank_match, notes_retriever
from mltutor.agent.errors import AgentError, Cancelled, ProviderError, SessionError
from mltutor.agent.events import ErrorEvent, Event
from mltutor.agent.grading import Grader, create_grader
from mltutor.agent.llm import ChatModel, UsageScope
from mltutor.agent.llm.cancel import cancellable
from mltutor.agent.service import (
    Progress,
    ServiceStatus,
    SessionInfo,
    TopicInfo,
    TranscriptEntry,
)
from mltutor.agent.sessions import SessionBusy, SessionStore, open_database
from mltutor.agent.tutor import (
    Retriever,
    RunContext,
    RunTrace,
    ToolBox,
    checkpoint_serializer,
    trace_from_state,
)
from mltutor.agent.tutor.state import Mode
from mltutor.knowledge.errors import KnowledgeError
from mltutor.settings import Settings
from mltutor.tools.checker import CheckReport, check_derivation

if TYPE_CHECKING:
    from mltutor.agent.interview import InterviewSession, ProgressReport
    from mltutor.agent.interview.host import InterviewHost

ModelFactory = Callable[[Progress], ChatModel]
RetrieverFactory = Callable[[Progress], Retriever]


class Tutor:
    """LangGraph tutor with sessions; models and retrieval come from injectable factories."""

    def __init__(
        self,
        settings: Settings,
        *,
        model_factory: ModelFactory | None = None,
        retriever_factory: RetrieverFactory | None = None,
        grader_factory: Callable[[Settings], Grader] | None = None,
    ) -> None:
        self.settings = settings
        self._model_factory = model_factory or self._default_model
        self._retriever_factory = retriever_factory or self._default_retriever
        self.toolbox = ToolBox(settings.tools)
        self._lock = threading.RLock()
        self._model: ChatModel | None = None
        self._judge: ChatModel | None = None
        self._grader: Grader | None = None
        self._grader_factory = grader_factory or (lambda settings: create_grader(settings))
        self._retriever: Retriever | None = None
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

        self._checkpointer = SqliteSaver(conn, serde=checkpoint_serializer())

    # -- start-up --------------------------------------------------------------------------

    def _default_retriever(self, progress: Progress) -> Retriever:
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
            from mltutor.tools.bounded import prestart

            prestart(background=True)  # the checker's worker warms up while the rest starts
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
            grader = self.grader()
            self._graph = build_graph(
                self._model,
                self.toolbox,
                self._retriever,
                checkpointer=self._checkpointer,
                statements=grader if self.settings.verify_prose else None,
                bank_match=lambda q: bank_match(grader, q),
                lookup=grader.questions.get,
            )
            report("ready", 1.0)

    def status(self) -> ServiceStatus:
        return self._status

    def grader(self) -> Grader:
        """The shared grader: interview grading, the tutor's prose checks, evals. Deterministic
        unless ``judge`` is on; built once, on first use."""
        with self._lock:
            if self._grader is None:
                self._grader = self._grader_factory(self.settings)
            return self._grader

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
        verify: bool = True,
        exclude_question_ids: Collection[str] = (),
        mode: Mode = "tutor",
    ) -> Iterator[Event]:
        run_id = uuid.uuid4().hex[:10]
        if not question.strip():
            yield ErrorEvent(run_id=run_id, message="the question is empty", kind="input")
            return
        turn = self._ask(
            question, run_id, session_id, best_of, cancel, verify, exclude_question_ids, mode
        )
        # a stop also cuts the model request in flight (even one still reading its prompt)
        yield from cancellable(turn, cancel) if cancel is not None else turn

    def _ask(
        self,
        question: str,
        run_id: str,
        session_id: str | None,
        best_of: int | None,
        cancel: threading.Event | None,
        verify: bool,
        exclude_question_ids: Collection[str],
        mode: Mode,
    ) -> Iterator[Event]:
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
        except KnowledgeError as exc:  # a malformed note or an unreadable index
            yield ErrorEvent(run_id=run_id, message=exc.message, kind="knowledge")
            return
        except Exception as exc:  # a bug must not crash the front end
            yield ErrorEvent(
                run_id=run_id,
                message=f"internal error: {type(exc).__name__}: {exc}",
                kind="internal",
            )
            return
        config = {"configurable": {"thread_id": session.id}}
        s = self.settings
        ctx = RunContext(
            run_id=run_id,
            mode=mode,
            best_of=best_of or s.best_of,
            concurrency=s.best_of_concurrency,
            max_revisions=s.max_revisions if verify else 0,
            language=s.language,
            time_budget_s=s.best_of_time_budget_s,
            token_budget=s.best_of_token_budget,
            verify=verify,
            notes_lead=s.notes_lead,
            exclude_question_ids=tuple(
                dict.fromkeys([*exclude_question_ids, *sorted(self.open_interview_questions())])
            ),
            cancel=cancel or threading.Event(),
        )
        sid = {"run_id": run_id, "session_id": session.id}
        shown: list[str] = []  # what the user has seen of candidate 0, kept if the turn breaks
        try:
            with self.store.turn_lock(session.id, cancel=ctx.cancel):
                self.store.touch(session.id, question)
                try:
                    usage = UsageScope()  # the turn's model calls, counted for its trace
                    for chunk in usage.iterate(
                        self._graph.stream(
                            {"question": question},
                            config,
                            context=ctx,
                            stream_mode="custom",
                            # one checkpoint per turn (at its end, or where it broke), not one per
                            # node: each holds the whole session, so per-node saves grew a 600-turn
                            # session's file to 1.2 GB (bench/results/soak.json)
                            durability="exit",
                        )
                    ):
                        if chunk.type == "token" and chunk.candidate == 0:
                            shown.append(chunk.text)
                        elif chunk.type == "final":
                            shown.clear()
                        yield chunk.model_copy(update=sid)
                except Cancelled as exc:
                    self._note(config, shown, "stopped by the user")
                    yield ErrorEvent(message=exc.message, kind="cancelled", **sid)
                except ProviderError as exc:
                    self._note(config, shown, exc.message)
                    yield ErrorEvent(
                        message=exc.message, kind="provider", retryable=exc.retryable, **sid
                    )
                except Exception as exc:  # a bug must not crash the front end or lose the session
                    self._note(config, shown, "internal error")
                    yield ErrorEvent(
                        message=f"internal error: {type(exc).__name__}: {exc}",
                        kind="internal",
                        **sid,
                    )
        except SessionBusy as exc:
            yield ErrorEvent(message=exc.message, kind="session", retryable=True, **sid)
        except SessionError as exc:  # locked, disk full, read-only: the file is left untouched
            yield ErrorEvent(message=exc.message, kind="session", **sid)

    def _note(self, config: dict[str, Any], shown: list[str], reason: str) -> None:
        """Close an interrupted turn in the transcript: what was already shown is kept, marked as
        interrupted with the reason, so the session stays consistent and nothing seen is lost."""
        partial = "".join(shown).strip()
        marker = f"*(answer interrupted: {reason})*" if partial else f"*(no answer: {reason})*"
        text = f"{partial}\n\n{marker}" if partial else marker
        message = {"role": "assistant", "content": text, "interrupted": reason}
        with contextlib.suppress(Exception):  # the question may not have been stored yet
            self._graph.update_state(config, {"messages": [message]}, as_node="respond")

    def _values(self, session_id: str) -> dict[str, Any]:
        state = self._reader_graph().get_state({"configurable": {"thread_id": session_id}})
        return dict(state.values)

    def last_trace(self, session_id: str) -> RunTrace:
        """Trace of the last run in a session (tool calls, candidates, verification, timings)."""
        return trace_from_state(self._values(session_id))

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
        return self.ask(question, session_id=session_id, cancel=cancel, mode="check")

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
        out = []
        for m in self._values(session_id).get("messages", []):
            if m.get("role") not in ("user", "assistant"):
                continue
            fields = {k: m[k] for k in TranscriptEntry.model_fields if k in m}
            fields["content"] = str(m.get("content", ""))
            try:
                out.append(TranscriptEntry.model_validate(fields))
            except ValidationError:  # panel data of an unexpected shape: keep the words
                out.append(TranscriptEntry(role=m["role"], content=fields["content"]))
        return out

    def topics(self) -> list[TopicInfo]:
        from mltutor.knowledge.notes import load_notes

        mastery = self.interviews().mastery()
        return [
            TopicInfo(
                slug=n.slug,
                title=n.title,
                title_ru=n.title_ru,
                questions=len(n.questions),
                mastery=mastery.get(n.slug),
            )
            for n in load_notes()
        ]

    def note(self, slug: str) -> str:
        from mltutor.knowledge.notes import load_notes

        for n in load_notes():
            if n.slug == slug:
                return n.body
        raise KnowledgeError(f"no topic {slug!r}; `mltutor topics` lists them")

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
        host: InterviewHost | None = getattr(self, "_interview_host", None)
        if host is not None:
            host.close()

    # -- interviews (the work is in agent/interview/host.py) -------------------------------------

    def interviews(self) -> InterviewHost:
        """The interviews of this service: learner database, open sessions, clock (made lazily)."""
        with self._lock:
            if getattr(self, "_interview_host", None) is None:
                from mltutor.agent.interview.host import InterviewHost

                self._interview_host = InterviewHost(
                    self.settings.data_dir, self.grader, model=self._follow_up_model
                )
            return self._interview_host

    def _follow_up_model(self) -> ChatModel | None:
        """The tutor's model, connected on first need, for follow-ups; None when unreachable."""
        with self._lock:
            if self._model is None and not getattr(self, "_model_failed", False):
                try:
                    self._model = self._model_factory(lambda message, fraction: None)
                except Exception:  # follow-ups come from the bank then; the chat reports it
                    self._model_failed = True
            return self._model

    def start_interview(
        self,
        topics: Sequence[str] = (),
        difficulty: str | None = None,
        n: int = 5,
        lang: str = "en",
        *,
        max_follow_ups: int = 2,
        use_model: bool = True,
        warm_up: bool = True,
    ) -> InterviewSession:
        return self.interviews().start(
            topics,
            difficulty,
            n,
            lang,
            max_follow_ups=max_follow_ups,
            use_model=use_model,
            warm_up=warm_up,
        )

    def progress(self) -> ProgressReport:
        return self.interviews().progress()

    def open_interview_questions(self) -> set[str]:
        """Bank questions open in an interview now (the chat never retrieves their chunks)."""
        host: InterviewHost | None = getattr(self, "_interview_host", None)
        return host.open_question_ids() if host is not None else set()


def create_service(settings: Settings, **factories: Any) -> Tutor:
    """Factory used by the CLI and the TUI."""
    return Tutor(settings, **factories)
