"""A scripted TutorService for UI tests, benchmarks and the tmux end-to-end test.

It implements :class:`mltutor.agent.service.TutorService` without a model: ``ask`` yields a scripted
event list with small sleeps (so a test can stop an answer mid-stream) and honours ``cancel``;
``check`` runs the real derivation checker (tools only, no model); sessions live in memory with fixed
timestamps so snapshots are stable.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import (
    ErrorEvent,
    Event,
    FinalEvent,
    RetrievalEvent,
    TokenEvent,
    ToolResultEvent,
    ToolStartedEvent,
    VerificationEvent,
)
from mltutor.agent.service import (
    Progress,
    ServiceStatus,
    SessionInfo,
    ToolCallRecord,
    TopicInfo,
    TranscriptEntry,
    VerificationRecord,
)
from mltutor.tools.checker import CheckReport
from tests.tui.scripts import (
    DEMO_NOTE,
    SIGMOID_ANSWER,
    SIGMOID_CITATIONS,
    demo_sessions,
    demo_topics,
    sigmoid_script,
    tokens_of,
)

__all__ = [
    "SIGMOID_ANSWER",
    "SIGMOID_CITATIONS",
    "FakeTutorService",
    "create_fake_service",
    "create_unreachable_service",
    "demo_sessions",
    "sigmoid_script",
    "tokens_of",
]

BASE_TIME = datetime(2026, 1, 5, 9, 0)


class FakeTutorService:
    """The protocol, scripted. Public attributes record what the UI asked for."""

    def __init__(
        self,
        script: list[Event] | None = None,
        *,
        token_delay: float = 0.005,
        start_delay: float = 0.0,
        start_error: Exception | None = None,
        ready: bool = True,
        sessions: list[tuple[str, list[TranscriptEntry]]] | None = None,
        check: Callable[[str], CheckReport] | None = None,
        explanation: str = "Line 2 drops the factor 2 that the chain rule gives: "
        "$\\frac{d}{d\\hat y}(\\hat y - y)^2 = 2(\\hat y - y)$.",
        topics: list[TopicInfo] | None = None,
        notes: dict[str, str] | None = None,
        pause_after: int | None = None,
        interview: Callable[[], Any] | None = None,
        progress: Any = None,
    ) -> None:
        self.script = script if script is not None else sigmoid_script()
        self.token_delay = token_delay
        self.start_delay = start_delay
        self.start_error = start_error
        self.ready = ready
        self.explanation = explanation
        self._check = check
        self.pause_after = pause_after
        """Stream this many events, then wait for ``gate`` (a model stuck in prefill, say)."""
        self.gate = threading.Event()
        """Set by a test to let a paused stream go on."""
        self._interview = interview
        """Makes the interview ``start_interview`` returns (default: the five demo questions)."""
        self._progress = progress
        self.interviews: list[dict[str, Any]] = []
        """The arguments of every ``start_interview``."""
        self._topics = topics if topics is not None else demo_topics()
        self._notes = notes
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionInfo] = {}
        self._transcripts: dict[str, list[TranscriptEntry]] = {}
        self.started = 0
        self.closed = 0
        self.asked: list[dict[str, Any]] = []
        self.cancelled = 0
        self.checked: list[str] = []
        for title, entries in sessions or []:
            info = self.new_session(title)
            self._transcripts[info.id] = list(entries)
            self._touch(info.id, turns=sum(e.role == "user" for e in entries))

    def _now(self, n: int) -> datetime:
        return BASE_TIME + timedelta(minutes=7 * n)

    def _touch(self, session_id: str, *, turns: int | None = None) -> None:
        info = self._sessions[session_id]
        update: dict[str, Any] = {"updated_at": self._now(next(self._ids))}
        if turns is not None:
            update["turns"] = turns
        self._sessions[session_id] = info.model_copy(update=update)

    # -- protocol ----------------------------------------------------------------------------------

    def start(self, progress: Progress | None = None) -> None:
        self.started += 1
        steps = ["assembling the embedded model", "building the index"]
        for i, message in enumerate(steps):
            if progress is not None:
                progress(message, i / len(steps))
            time.sleep(self.start_delay / len(steps))
        if self.start_error is not None:
            raise self.start_error
        if progress is not None:
            progress("ready", 1.0)

    def status(self) -> ServiceStatus:
        return ServiceStatus(
            model="fake-tutor",
            endpoint="embedded",
            embedded=True,
            ready=self.ready,
            detail="" if self.ready else "the fake model is down",
        )

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        best_of: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        self.asked.append({"question": question, "session_id": session_id, "best_of": best_of})
        sid = session_id or self.new_session(question[:60]).id
        with self._lock:
            self._transcripts.setdefault(sid, []).append(
                TranscriptEntry(role="user", content=question)
            )
            self._touch(sid, turns=self._sessions[sid].turns + 1)
        yield from self._stream(self.script, sid, cancel)

    def _stream(
        self, script: list[Event], sid: str | None, cancel: threading.Event | None
    ) -> Iterator[Event]:
        record = TranscriptEntry(role="assistant", content="")
        for index, event in enumerate(script):
            if index == self.pause_after:
                while not self.gate.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        break
            if cancel is not None and cancel.is_set():
                self.cancelled += 1
                if sid is not None:  # the partial answer is kept, marked as interrupted
                    self._append(sid, record.model_copy(update={"interrupted": "stopped"}))
                yield ErrorEvent(message="stopped by the user", kind="cancelled")
                return
            if isinstance(event, TokenEvent):
                time.sleep(self.token_delay)
            record = _recorded(record, event)
            if isinstance(event, FinalEvent) and sid is not None:
                self._append(sid, record)
            yield event

    def _append(self, sid: str, entry: TranscriptEntry) -> None:
        with self._lock:
            self._transcripts[sid].append(entry)

    def check(self, text: str) -> CheckReport:
        self.checked.append(text)
        if self._check is not None:
            return self._check(text)
        from mltutor.tools.checker import check_derivation

        return check_derivation(text)

    def explain_step(
        self,
        text: str,
        report: CheckReport,
        *,
        session_id: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        script: list[Event] = [TokenEvent(text=t) for t in tokens_of(self.explanation)]
        script.append(FinalEvent(answer=self.explanation))
        yield from self._stream(script, None, cancel)

    def sessions(self) -> list[SessionInfo]:
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.updated_at, reverse=True)

    def new_session(self, title: str = "New session") -> SessionInfo:
        n = next(self._ids)
        info = SessionInfo(
            id=f"s{n}", title=title, created_at=self._now(n), updated_at=self._now(n)
        )
        self._sessions[info.id] = info
        self._transcripts[info.id] = []
        return info

    def rename_session(self, session_id: str, title: str) -> None:
        self._sessions[session_id] = self._sessions[session_id].model_copy(update={"title": title})

    def delete_session(self, session_id: str) -> None:
        self._sessions.pop(session_id)
        self._transcripts.pop(session_id)

    def transcript(self, session_id: str) -> list[TranscriptEntry]:
        return list(self._transcripts[session_id])

    def export_markdown(self, session_id: str) -> str:
        lines = [f"# {self._sessions[session_id].title}", ""]
        for entry in self._transcripts[session_id]:
            lines += [f"## {'You' if entry.role == 'user' else 'Tutor'}", "", entry.content, ""]
        return "\n".join(lines)

    def topics(self) -> list[TopicInfo]:
        return list(self._topics)

    def note(self, slug: str) -> str:
        if slug not in {t.slug for t in self._topics}:
            raise KeyError(f"no topic {slug!r}")
        if self._notes is None:
            return DEMO_NOTE
        return self._notes[slug]

    def start_interview(
        self,
        topics: Sequence[str] = (),
        difficulty: str | None = None,
        n: int = 5,
        lang: str = "en",
    ) -> Any:
        from tests.tui.interview_fakes import FakeInterview

        self.interviews.append({"topics": list(topics), "difficulty": difficulty, "n": n})
        return self._interview() if self._interview is not None else FakeInterview()

    def progress(self) -> Any:
        from tests.tui.interview_fakes import demo_progress

        return self._progress if self._progress is not None else demo_progress()

    def close(self) -> None:
        self.closed += 1


def _recorded(entry: TranscriptEntry, event: Event) -> TranscriptEntry:
    """``entry`` with what ``event`` adds to a stored answer (as the real service keeps it)."""
    update: dict[str, Any] = {}
    if isinstance(event, TokenEvent):
        update["content"] = entry.content + event.text
    elif isinstance(event, RetrievalEvent):
        update["sources"] = list(event.hits)
    elif isinstance(event, ToolStartedEvent):
        call = ToolCallRecord(name=event.name, args=event.args)
        update["tool_calls"] = [*entry.tool_calls, call]
    elif isinstance(event, ToolResultEvent):
        calls = list(entry.tool_calls) or [ToolCallRecord(name=event.name)]
        calls[-1] = calls[-1].model_copy(
            update={"ok": event.ok, "result": event.result, "summary": event.summary}
        )
        update["tool_calls"] = calls
    elif isinstance(event, VerificationEvent):
        update["verification"] = VerificationRecord(
            claims_checked=event.claims_checked,
            claims_failed=event.claims_failed,
            failures=list(event.failures),
            revision=event.revision,
        )
    elif isinstance(event, FinalEvent):
        update.update(
            content=event.answer,
            citations=[c.label for c in event.citations],
            verified=event.verified,
        )
    return entry.model_copy(update=update)


def create_fake_service(settings: object) -> FakeTutorService:
    """Factory for ``MLTUTOR_TUI_SERVICE_FACTORY=tests.tui.fakes:create_fake_service``.

    For trying the app by hand: the sigmoid turn for most questions, the Hessian turn for a
    question about a Hessian, the bias-variance answer (a long formula) for one about variance;
    the real bundled topics and notes.
    """
    from mltutor.knowledge.notes import load_notes

    notes = load_notes()
    topics = [
        TopicInfo(slug=n.slug, title=n.title, title_ru=n.title_ru, questions=len(n.questions))
        for n in notes
    ]
    return _ByQuestion(
        token_delay=0.02,
        sessions=demo_sessions(),
        topics=topics,
        notes={n.slug: n.body for n in notes},
    )


class _ByQuestion(FakeTutorService):
    """Picks the scripted turn from words in the question (for trying the app by hand)."""

    def ask(self, question: str, **kwargs: Any) -> Iterator[Event]:
        from tests.tui.scripts import bias_variance_script, hessian_script

        lowered = question.lower()
        if "hessian" in lowered:
            self.script = hessian_script()
        elif "variance" in lowered:
            self.script = bias_variance_script()
        else:
            self.script = sigmoid_script()
        return super().ask(question, **kwargs)


def create_unreachable_service(settings: object) -> FakeTutorService:
    """A service whose model endpoint is down: start fails, checking still works."""
    return FakeTutorService(
        start_error=ProviderError(
            "cannot reach the model at http://127.0.0.1:9/v1", "unreachable", retryable=True
        ),
        ready=False,
    )
