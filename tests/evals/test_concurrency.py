"""1,000 cases at concurrency 16 against the scripted OpenAI-compatible server, killed and resumed:
every case is recorded exactly once, none is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mltutor.evals.reports import summarize
from mltutor.evals.rundir import RunDir
from tests.agent.fake_openai_server import FakeOpenAIServer, text

ROOT = Path(__file__).resolve().parents[2]
N = 1000


def _suite(path: Path) -> Path:
    lines = [
        json.dumps(
            {
                "kind": "qa",
                "id": f"c{i:04d}",
                "question": f"Case {i}: why does gradient descent need a learning rate?",
                "key_points": ["the learning rate scales each step along the negative gradient"],
                "topic": f"t{i % 7}",
            }
        )
        for i in range(N)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _child(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.evals.child_run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_thousand_cases_concurrency_16_kill_and_resume(tmp_path: Path) -> None:
    suite = _suite(tmp_path / "big.jsonl")
    run_dir = tmp_path / "run"
    answer = text("The learning rate scales each step along the negative gradient.", delay_s=0.01)
    with FakeOpenAIServer(default=answer) as server:
        child = _child(str(suite), str(run_dir), server.url, "--concurrency", "16")
        log = run_dir / "cases.jsonl"
        deadline = time.monotonic() + 120
        while _lines(log) < 300 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        killed_at = len(RunDir.open(run_dir).records())
        assert 300 <= killed_at < N
        requests_before = len(server.chat_requests)
        # at most the 16 cases in flight were asked but not recorded
        assert killed_at <= requests_before <= killed_at + 16 + 1

        resumed = _child(str(suite), str(run_dir), server.url, "--resume", "--concurrency", "16")
        out, err = resumed.communicate(timeout=300)
        errors = [r for r in RunDir.open(run_dir).records() if r.status == "error"]
        assert resumed.returncode == 0, (out[-2000:], err[-2000:], errors[:3])
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["remaining"] == 0 and outcome["errors"] == 0
        asked = len(server.chat_requests)
        assert server.unscripted == asked  # every request got the default reply

    records = RunDir.open(run_dir).records()
    ok = [r.case_id for r in records if r.status == "ok"]
    assert len(ok) == len(set(ok)) == N  # every case recorded exactly once, none lost
    assert sorted(ok) == [f"c{i:04d}" for i in range(N)]
    # the resumed session asked only for the cases without a record
    assert asked - requests_before == N - killed_at
    summary = summarize(run_dir)
    assert summary.scored == N and summary.errors == 0 and summary.pending == 0
