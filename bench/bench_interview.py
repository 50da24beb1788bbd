"""Interview latency: the next question after a grade (target < 200 ms), in-process and in the app.

- ``session``: a real interview (real deterministic grader, learner database on disk, no model).
  For every answer, the time from the grader returning to ``answer()`` returning with the next
  prompt in the feedback: recording the attempt, the FSRS review, the topic mastery, choosing a
  follow-up (embedding the bank follow-ups) and opening the next question, the transcript saved.
- ``app``: the same real session behind the Textual app (Pilot, headless), from the grader
  returning in the worker thread to the next question mounted on screen.
- ``grade``: the grading itself, for scale (it runs in a worker; the UI is not blocked meanwhile).

Run: .venv/bin/python bench/bench_interview.py   (writes bench/results/interview.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOPICS = ["statistics", "regularization", "calculus", "information-theory", "probability"]
ANSWERS_PER_RUN = 5


class TimedGrader:
    """The grader, noting when each grade returned."""

    def __init__(self, grader: Any) -> None:
        self._grader = grader
        self.returned: list[float] = []
        self.seconds: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grader, name)

    def grade(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        grade = self._grader.grade(*args, **kwargs)
        now = time.perf_counter()
        self.seconds.append(now - start)
        self.returned.append(now)
        return grade


def answer_for(grader: Any, prompt: Any) -> str:
    q = grader.questions[prompt.question_id]
    if prompt.kind == "follow_up":
        return "I am not sure; it depends on the assumptions."
    return q.reference_answer.split(". ")[0] + "."


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(pct(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
    }


def bench_session(grader: Any, tmp: Path) -> tuple[list[float], list[float]]:
    from mltutor.agent.interview import open_learner, start_interview

    timed = TimedGrader(grader)
    latencies: list[float] = []
    store, _ = open_learner(tmp / "session")
    for topic in TOPICS:
        session = start_interview(timed, store, topics=[topic], n=ANSWERS_PER_RUN)  # type: ignore[arg-type]
        while session.current is not None:
            session.answer(answer_for(grader, session.current))
            latencies.append(time.perf_counter() - timed.returned[-1])
    store.close()
    return latencies, timed.seconds


async def bench_app(grader: Any, tmp: Path) -> list[float]:
    from mltutor.agent.interview import open_learner
    from mltutor.tui.screens import interview as screen_module

    timed = TimedGrader(grader)
    store, _ = open_learner(tmp / "app")
    shown: list[float] = []
    original = screen_module.InterviewScreen._show_prompt

    async def show_prompt(self: Any, prompt: Any) -> None:
        await original(self, prompt)
        if prompt is not None:
            shown.append(time.perf_counter())

    screen_module.InterviewScreen._show_prompt = show_prompt  # type: ignore[method-assign]
    latencies: list[float] = []
    try:
        for topic in TOPICS[:3]:
            await one_app_interview(grader, timed, store, topic, tmp, shown, latencies)
    finally:
        screen_module.InterviewScreen._show_prompt = original  # type: ignore[method-assign]
        store.close()
    return latencies


async def one_app_interview(
    grader: Any,
    timed: TimedGrader,
    store: Any,
    topic: str,
    tmp: Path,
    shown: list[float],
    latencies: list[float],
) -> None:
    """One interview in the app, answered through the answer box; latencies appended."""
    from tests.tui.conftest import wait_for
    from tests.tui.fakes import FakeTutorService
    from textual.widgets import TextArea

    from mltutor.agent.interview import start_interview
    from mltutor.settings import Settings
    from mltutor.tui.app import create_app

    fake = FakeTutorService(
        interview=lambda: start_interview(timed, store, topics=[topic], n=ANSWERS_PER_RUN)  # type: ignore[arg-type]
    )
    settings = Settings(data_dir=tmp / "appdata", cache_dir=tmp / "appcache")
    app = create_app(settings, lambda _s: fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_view.phase == "ready", timeout=60)
        await pilot.press("f2")
        await pilot.pause(0.3)
        screen: Any = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.phase == "asking", timeout=60)
        while screen.phase != "done":
            before = len(shown)
            screen.query_one("#iv-answer", TextArea).text = answer_for(grader, screen.prompt)
            await pilot.press("ctrl+s")
            await wait_for(
                pilot, lambda n=before: len(shown) > n or screen.phase == "done", timeout=60
            )
            if len(shown) > before:
                latencies.append(shown[-1] - timed.returned[-1])


def main() -> None:
    from mltutor.agent.grading import create_grader
    from mltutor.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    grader = create_grader(
        Settings(data_dir=tmp / "data", cache_dir=tmp / "cache"), search=lambda q, **kw: []
    )
    grader.grade("warm up", "x = 1", question_id="calculus-1")  # load the embedder once
    session, grades = bench_session(grader, tmp)
    app = asyncio.run(bench_app(grader, tmp))
    result = {
        "what": "next question on screen after the previous grade (target < 200 ms)",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 1),
        },
        "next_question_session": summary(session),
        "next_question_app": summary(app),
        "grade_deterministic": summary(grades),
        "target_ms": 200,
    }
    out = ROOT / "bench" / "results" / "interview.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
