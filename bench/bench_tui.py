"""Terminal UI: launch to first frame (cold and warm) and responsiveness while an answer streams.

Run: .venv/bin/python bench/bench_tui.py   (writes bench/results/tui.json)

- Start-up: the installed ``mltutor`` runs in a pseudo-terminal with ``MLTUTOR_TUI_FIRST_FRAME_FILE``
  set, so the app writes the time of its first painted frame and exits; measured from just before
  the process is spawned. Warm: bytecode cached. Cold: ``PYTHONPYCACHEPREFIX`` points at an empty
  dir, so every module is compiled from source (the OS file cache cannot be dropped here).
- Streaming: in-process (headless Pilot) with a scripted service streaming a long LaTeX-heavy answer.
  A probe task sleeps 5 ms in a loop and records how late it wakes (event-loop blockage); every
  150 ms a key is posted to the prompt and timed until the input holds it (handled) and until the
  next refresh has been painted (rendered). Targets: warm start < 1.5 s; no blockage > 50 ms.
- Quit: the installed app in a pseudo-terminal with a service stuck mid-answer (tests/tui/stuck.py:
  prefill, a tool call, an endless stream; close() takes 5 s); ctrl+q, then y; measured from the y to
  the process's exit. Target: < 2 s in every state.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MLTUTOR = Path(sys.executable).parent / "mltutor"


def _launch_once(env: dict[str, str]) -> float:
    """Seconds from spawning ``mltutor`` to its first painted frame."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "first-frame.json"
        run_env = {
            **env,
            "MLTUTOR_TUI_FIRST_FRAME_FILE": str(marker),
            "MLTUTOR_DATA_DIR": str(Path(tmp) / "data"),
            "MLTUTOR_CACHE_DIR": str(Path(tmp) / "cache"),
            "TERM": "xterm-256color",
            "COLUMNS": "100",
            "LINES": "32",
        }
        master, slave = pty.openpty()
        start = time.time()
        proc = subprocess.Popen(
            [str(MLTUTOR)], stdin=slave, stdout=slave, stderr=slave, env=run_env, close_fds=True
        )
        os.close(slave)
        # keep reading the terminal so the app never blocks writing its frame
        while proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        proc.wait(timeout=30)
        os.close(master)
        if not marker.exists():
            raise RuntimeError(f"mltutor exited ({proc.returncode}) without painting a frame")
        return float(json.loads(marker.read_text())["first_frame"]) - start


def bench_startup(warm_runs: int = 7, cold_runs: int = 3) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLTUTOR_")}
    env["MLTUTOR_TUI_SERVICE_FACTORY"] = "tests.tui.fakes:create_fake_service"
    env["PYTHONPATH"] = str(ROOT)
    cold = []
    for _ in range(cold_runs):
        with tempfile.TemporaryDirectory() as prefix:
            cold.append(_launch_once({**env, "PYTHONPYCACHEPREFIX": prefix}))
    _launch_once(env)  # make sure the bytecode cache is there
    warm = [_launch_once(env) for _ in range(warm_runs)]
    imports = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); import mltutor.tui.app; "
            "print(time.perf_counter() - t)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return {
        "warm_first_frame_s": {
            "median": round(statistics.median(warm), 3),
            "max": round(max(warm), 3),
            "runs": len(warm),
        },
        "cold_first_frame_s": {
            "median": round(statistics.median(cold), 3),
            "max": round(max(cold), 3),
            "runs": len(cold),
        },
        "import_tui_app_s": round(float(imports.stdout), 3),
        "target_warm_s": 1.5,
    }


def _quit_once(mode: str) -> float:
    """Seconds from confirming quit (the "y") to the exit of an app stuck in ``mode``."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MLTUTOR_")},
            "MLTUTOR_TUI_SERVICE_FACTORY": "tests.tui.stuck:create_stuck_service",
            "MLTUTOR_FAKE_STUCK": mode,
            "MLTUTOR_DATA_DIR": str(Path(tmp) / "data"),
            "MLTUTOR_CACHE_DIR": str(Path(tmp) / "cache"),
            "MLTUTOR_CONFIG": str(Path(tmp) / "none.toml"),
            "PYTHONPATH": str(ROOT),
            "TERM": "xterm-256color",
            "COLUMNS": "80",
            "LINES": "24",
        }
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [str(MLTUTOR)], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        confirmed: float | None = None
        steps = [(4.0, b"why?\r"), (2.0, b"\x11"), (0.7, b"y")]  # ready, stuck, confirm
        due = time.monotonic() + steps[0][0]
        while proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
            if steps and time.monotonic() >= due:
                _, keys = steps.pop(0)
                os.write(master, keys)
                if not steps:
                    confirmed = time.monotonic()
                else:
                    due = time.monotonic() + steps[0][0]
            if confirmed is not None and time.monotonic() - confirmed > 30:
                proc.kill()
        proc.wait(timeout=30)
        ended = time.monotonic()
        os.close(master)
        if confirmed is None:
            raise RuntimeError(f"mltutor exited ({proc.returncode}) before the quit was confirmed")
        return ended - confirmed


def bench_quit(runs: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("prefill", "tool", "stream"):
        times = [_quit_once(mode) for _ in range(runs)]
        out[mode] = {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
    out["target_s"] = 2.0
    out["runs_per_state"] = runs
    return out


async def _bench_streaming(history: int) -> dict[str, Any]:
    """Stream a long answer under a conversation that already holds ``history`` exchanges."""
    from tests.tui.fakes import SIGMOID_ANSWER, FakeTutorService, sigmoid_script
    from textual import events
    from textual.widgets import Input

    from mltutor.agent.service import TranscriptEntry
    from mltutor.settings import load_settings
    from mltutor.tui.app import create_app
    from mltutor.tui.screens.chat_sessions import MAX_EXCHANGES_SHOWN
    from mltutor.tui.widgets.message import AnswerMessage

    answer = "\n\n".join([SIGMOID_ANSWER] * 40)  # ~9k characters, ~1500 tokens, much LaTeX
    past = [
        TranscriptEntry(
            role=role,
            content=SIGMOID_ANSWER * (2 if role == "assistant" else 0)
            or "What is the derivative of the sigmoid?",
            citations=["calculus § Sigmoid derivative"],
        )
        for _ in range(history)
        for role in ("user", "assistant")
    ]
    fake = FakeTutorService(
        sigmoid_script(answer),
        token_delay=0.002,
        sessions=[("long session", past)] if history else None,
    )
    tmp = Path(tempfile.mkdtemp())
    app = create_app(load_settings(data_dir=tmp / "data", cache_dir=tmp / "cache"), lambda _s: fake)
    lateness: list[float] = []
    handled: list[float] = []
    rendered: list[float] = []
    async with app.run_test(size=(100, 34)) as pilot:
        while app.service_view.phase != "ready":
            await pilot.pause(0.02)
        if history:
            await app.screen.on_session_list_action(  # type: ignore[attr-defined]
                type("Open", (), {"action": "open", "session_id": "s1"})()
            )
            while len(app.screen.query(AnswerMessage)) < min(history, MAX_EXCHANGES_SHOWN):
                await pilot.pause(0.05)
        prompt = app.screen.query_one("#prompt", Input)
        prompt.value = "derive it"
        await pilot.press("enter")
        while not app.screen.query(AnswerMessage):
            await pilot.pause(0.01)
        message = app.screen.query(AnswerMessage).last()
        streaming = True

        async def probe() -> None:
            while streaming:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lateness.append(time.perf_counter() - t - 0.005)

        probe_task = asyncio.create_task(probe())
        started = time.perf_counter()
        keys = 0
        while message.outcome is None:
            await asyncio.sleep(0.15)
            char = "abcdefghij"[keys % 10]
            keys += 1
            before = prompt.value
            t0 = time.perf_counter()
            app.post_message(events.Key(char, char))
            while prompt.value == before:
                await asyncio.sleep(0)
            handled.append(time.perf_counter() - t0)
            painted = asyncio.get_running_loop().create_future()
            app.call_after_refresh(lambda fut=painted: fut.done() or fut.set_result(None))
            await painted
            rendered.append(time.perf_counter() - t0)
        duration = time.perf_counter() - started
        streaming = False
        await probe_task
        shown = len(message.body_source)

    def ms(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)

    tokens = sum(e.type == "token" for e in fake.script)
    return {
        "history_exchanges": history,
        "tokens": tokens,
        "answer_chars": len(answer),
        "shown_chars": shown,
        "stream_s": round(duration, 2),
        "tokens_per_s": round(tokens / duration),
        "keystrokes": len(handled),
        "key_handled_ms": {
            "p50": ms(handled, 0.5),
            "p95": ms(handled, 0.95),
            "max": ms(handled, 1.0),
        },
        "key_rendered_ms": {
            "p50": ms(rendered, 0.5),
            "p95": ms(rendered, 0.95),
            "max": ms(rendered, 1.0),
        },
        "loop_blockage_ms": {
            "p50": ms(lateness, 0.5),
            "p99": ms(lateness, 0.99),
            "max": ms(lateness, 1.0),
            "samples": len(lateness),
        },
        "target_max_blockage_ms": 50,
    }


def main() -> None:
    if not MLTUTOR.exists() or shutil.which("python3") is None:
        raise SystemExit(f"install the package first: no console script at {MLTUTOR}")
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "textual": _version("textual"),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2),  # other work on the machine
        },
        "startup": bench_startup(),
        "streaming": asyncio.run(_bench_streaming(history=0)),
        "streaming_after_20_exchanges": asyncio.run(_bench_streaming(history=20)),
        "quit_mid_answer": bench_quit(),
    }
    for thread in threading.enumerate():  # the scripted service's threads are daemons
        assert thread.daemon or thread is threading.main_thread()
    out = ROOT / "bench" / "results" / "tui.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
