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
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import (
    Citation,
    ErrorEvent,
    Event,
    FinalEvent,
    RetrievalEvent,
    TokenEvent,
    ToolResultEvent,
    ToolStartedEvent,
    VerificationEvent,
)
from mltutor.agent.service import Progress, ServiceStatus, SessionInfo, TranscriptEntry
from mltutor.tools.checker import CheckReport

BASE_TIME = datetime(2026, 1, 5, 9, 0)

SIGMOID_CITATIONS = [
    Citation(
        label="calculus § Sigmoid derivative",
        topic="calculus",
        heading="Sigmoid derivative",
        source="calculus.md",
        score=0.91,
        text="σ'(x) = σ(x)(1 − σ(x)); the derivative peaks at x = 0 with value 1/4.",
    ),
    Citation(
        label="numerical-stability § Logistic loss",
        topic="numerical-stability",
        heading="Logistic loss",
        source="numerical-stability.md",
        score=0.64,
        text="Compute log σ(x) as -softplus(-x) to avoid overflow.",
    ),
]

SIGMOID_ANSWER = (
    "The sigmoid is $\\sigma(x) = \\frac{1}{1+e^{-x}}$. Differentiating,\n\n"
    "$$\n\\sigma'(x) = \\frac{e^{-x}}{(1+e^{-x})^2} = \\sigma(x)\\,(1-\\sigma(x))\n$$\n\n"
    "so the derivative is largest at $x = 0$, where it equals $\\frac{1}{4}$ [1]."
)


def tokens_of(text: str, size: int = 6) -> list[str]:
    """Split ``text`` into streaming pieces of ``size`` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def sigmoid_script(answer: str = SIGMOID_ANSWER) -> list[Event]:
    """A full turn: retrieval, one tool call, streamed answer, verification, final."""
    events: list[Event] = [
        RetrievalEvent(hits=SIGMOID_CITATIONS),
        ToolStartedEvent(
            call_id="c1", name="differentiate", args={"expr": "1/(1+exp(-x))", "wrt": ["x"]}
        ),
        ToolResultEvent(
            call_id="c1",
            name="differentiate",
            ok=True,
            result={"result": "exp(-x)/(1 + exp(-x))**2"},
            summary="d/dx = e⁻ˣ/(1 + e⁻ˣ)²",
        ),
    ]
    events += [TokenEvent(text=t) for t in tokens_of(answer)]
    events += [
        VerificationEvent(claims_checked=2, claims_failed=0),
        FinalEvent(
            answer=answer,
            citations=[SIGMOID_CITATIONS[0]],
            verified="2 claims checked by the math tools.",
        ),
    ]
    return events


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
    ) -> None:
        self.script = script if script is not None else sigmoid_script()
        self.token_delay = token_delay
        self.start_delay = start_delay
        self.start_error = start_error
        self.ready = ready
        self.explanation = explanation
        self._check = check
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
        for event in script:
            if cancel is not None and cancel.is_set():
                self.cancelled += 1
                yield ErrorEvent(message="stopped by the user", kind="cancelled")
                return
            if isinstance(event, TokenEvent):
                time.sleep(self.token_delay)
            if isinstance(event, FinalEvent) and sid is not None:
                with self._lock:
                    self._transcripts[sid].append(
                        TranscriptEntry(
                            role="assistant",
                            content=event.answer,
                            citations=[c.label for c in event.citations],
                        )
                    )
            yield event

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

    def close(self) -> None:
        self.closed += 1


def demo_sessions() -> list[tuple[str, list[TranscriptEntry]]]:
    """Two stored conversations for resume/export tests and the sessions snapshot."""
    return [
        (
            "Bayes rule for a medical test",
            [
                TranscriptEntry(role="user", content="P(disease | positive) for a 1% prior?"),
                TranscriptEntry(
                    role="assistant",
                    content="With sensitivity 0.99 and specificity "
                    "0.95, $P = \\frac{0.0099}{0.0099 + 0.0495} \\approx 0.167$.",
                    citations=["probability § Bayes rule"],
                ),
            ],
        ),
        (
            "Derivative of softmax",
            [
                TranscriptEntry(role="user", content="What is the Jacobian of softmax?"),
                TranscriptEntry(
                    role="assistant",
                    content="$\\frac{\\partial s_i}{\\partial z_j} = s_i(\\delta_{ij} - s_j)$",
                    citations=["matrix-calculus § Softmax"],
                ),
            ],
        ),
    ]


def create_fake_service(settings: object) -> FakeTutorService:
    """Factory for ``MLTUTOR_TUI_SERVICE_FACTORY=tests.tui.fakes:create_fake_service``."""
    return FakeTutorService(token_delay=0.02, sessions=demo_sessions())


def create_unreachable_service(settings: object) -> FakeTutorService:
    """A service whose model endpoint is down: start fails, checking still works."""
    return FakeTutorService(
        start_error=ProviderError(
            "cannot reach the model at http://127.0.0.1:9/v1", "unreachable", retryable=True
        ),
        ready=False,
    )
