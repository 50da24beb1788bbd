"""Services that misbehave the way the real tutor can when the user quits mid-answer.

The real service runs the graph's nodes in LangGraph's executor threads, which Python joins when the
process exits; a model request in prefill ignores cancellation until the server answers, and
stopping a busy model server can take seconds. These fakes reproduce exactly that (no model): the
tmux quit tests check that the app still leaves within its bound.

``MLTUTOR_FAKE_STUCK`` picks the state the answer is stuck in: ``prefill`` (no token yet),
``tool`` (a tool call that does not return), ``stream`` (a stream that never ends and ignores
cancel). ``MLTUTOR_FAKE_LOG`` names a file that gets one line per lifecycle call (start, close),
so a test can see that nothing was started while quitting.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mltutor.agent.events import Event, PhaseEvent, TokenEvent, ToolStartedEvent
from mltutor.agent.service import Progress
from tests.tui.fakes import FakeTutorService
from tests.tui.scripts import HESSIAN_ARGS

BLOCK_S = 120.0
"""How long a stuck request blocks (far beyond any bound the app must keep)."""

CLOSE_S = 5.0
"""How long close() takes (a model server finishing its generation before it stops)."""


class StuckService(FakeTutorService):
    """Answers get stuck in ``mode``; close() is slow; lifecycle calls are logged."""

    def __init__(self, mode: str, log: str | None = None) -> None:
        super().__init__(token_delay=0.02)
        self.mode = mode
        self.log_path = log
        # like LangGraph's: non-daemon worker threads, joined by Python at exit
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="graph-node")

    def _log(self, what: str) -> None:
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(f"{time.time():.3f} {what}\n")

    def start(self, progress: Progress | None = None) -> None:
        self._log("start")
        super().start(progress)

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        best_of: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        self._log(f"ask {self.mode}")
        if self.mode == "stream":
            yield PhaseEvent(phase="writing")
            while True:  # an endless stream that ignores cancel
                yield TokenEvent(text="and so on ")
                time.sleep(0.02)
        if self.mode == "tool":
            yield ToolStartedEvent(call_id="t1", name="hessian", args=HESSIAN_ARGS)
            yield PhaseEvent(phase="tool", detail="hessian")
        else:
            yield PhaseEvent(phase="reading", detail="3,000 tokens of notes", progress=0.1)
        # the node runs in the executor and ignores cancel, as a request in prefill does
        self._pool.submit(time.sleep, BLOCK_S).result()
        self._pool.submit(time.sleep, 0).result()  # after shutdown: "cannot schedule new futures"
        yield TokenEvent(text="too late")

    def close(self) -> None:
        self._log("close")
        time.sleep(CLOSE_S)
        self._log("closed")
        super().close()


def create_stuck_service(settings: object) -> StuckService:
    """Factory for ``MLTUTOR_TUI_SERVICE_FACTORY=tests.tui.stuck:create_stuck_service``."""
    return StuckService(
        os.environ.get("MLTUTOR_FAKE_STUCK", "prefill"), os.environ.get("MLTUTOR_FAKE_LOG")
    )


def log_lines(path: str) -> list[str]:
    """The logged calls, without their times."""
    with open(path, encoding="utf-8") as fh:
        return [line.split(" ", 1)[1].strip() for line in fh if line.strip()]


__all__: list[Any] = ["StuckService", "create_stuck_service", "log_lines"]
