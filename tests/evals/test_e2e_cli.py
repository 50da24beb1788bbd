"""A tiny suite end to end through the command line, with the scripted OpenAI-compatible server (no
network, no model): `eval run` (tutor) killed with SIGKILL, `--resume`, `eval report`, a second run
(raw), `eval report --vs`, Markdown and JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.fake_openai_server import FakeOpenAIServer, RecordedRequest, Reply, text
from tests.evals.conftest import bank_sample, write_qa_suite

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTUTOR_", "OPENAI_"))}
    env.update(
        MLTUTOR_CONFIG=str(tmp_path / "no-config.toml"),
        MLTUTOR_DATA_DIR=str(tmp_path / "data"),
        MLTUTOR_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=str(ROOT),
    )
    return env


def _cli(tmp_path: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mltutor.cli", "eval", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _done(proc: subprocess.Popen[str], timeout: float = 400) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.slow
def test_run_kill_resume_report_vs(tmp_path: Path) -> None:
    questions = bank_sample(4)
    suite = write_qa_suite(tmp_path / "tiny.jsonl", questions)
    answers = {q.question: " ".join(k.rstrip(".") + "." for k in q.key_points) for q in questions}
    slow = {"delay": 1.5}

    def reply(request: RecordedRequest) -> Reply:
        if not request.stream:
            return text("no tool")  # the tutor's optional tool-selection call
        user = str(request.messages[-1]["content"])
        asked = user.rsplit("Question:", 1)[-1]
        answer = next((a for q, a in answers.items() if q in asked), "I am not sure.")
        return text(answer, delay_s=slow["delay"])

    out = tmp_path / "runs"
    with FakeOpenAIServer() as server:
        server.script(*[reply] * 400)
        flags = ["--base-url", server.url, "--model", "fake-model", "--out", str(out)]
        run = _cli(tmp_path, "run", str(suite), "--solver", "tutor", "--no-verify", *flags)
        deadline = time.monotonic() + 300
        log: Path | None = None
        while time.monotonic() < deadline and run.poll() is None:
            logs = list(out.glob("*/cases.jsonl"))
            if logs and logs[0].read_bytes().count(b"\n") >= 1:
                log = logs[0]
                break
            time.sleep(0.05)
        assert log is not None and run.poll() is None, run.communicate()
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        run_dir = log.parent
        kept = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if x.strip()]
        assert 1 <= len(kept) < len(questions)

        slow["delay"] = 0.0
        code, _, err = _done(_cli(tmp_path, "run", "--resume", str(run_dir), "--quiet"))
        assert code == 0, err
        records = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if x.strip()]
        ok = [r["case_id"] for r in records if r["status"] == "ok"]
        assert sorted(ok) == sorted(q.id for q in questions)  # each case once, none lost
        assert all(
            r["details"]["solver"]["retrieved_question_ids"].count(r["case_id"]) == 0
            for r in records
        )

        code, _, err = _done(
            _cli(tmp_path, "run", str(suite), "--solver", "raw", "--quiet", *flags)
        )
        assert code == 0, err
    raw_dir = next(p for p in out.iterdir() if p != run_dir and (p / "manifest.json").exists())

    code, text_out, err = _done(_cli(tmp_path, "report", str(run_dir)))
    assert code == 0, err
    assert "score" in text_out and "by topic" in text_out and "tiny" in text_out

    md = tmp_path / "report.md"
    code, json_out, err = _done(
        _cli(
            tmp_path, "report", str(run_dir), "--vs", str(raw_dir), "--json", "--markdown", str(md)
        )
    )
    assert code == 0, err
    report = json.loads(json_out)
    assert report["scored"] == len(questions) and report["errors"] == 0
    assert report["manifest"]["model"]["name"] == "fake-model"
    assert report["manifest"]["config"]["solver"] == "tutor"
    cmp = report["comparison"]
    assert cmp["pairs"] == len(questions) and cmp["same_suite"] is True
    assert {"difference", "wins", "losses", "ties", "sign_p", "flips"} <= set(cmp)
    assert "## Paired comparison" in md.read_text(encoding="utf-8")
    # a run id (not a path) is found under --out
    code, _, err = _done(_cli(tmp_path, "report", run_dir.name, "--out", str(out), "--json"))
    assert code == 0, err
    code, _, err = _done(_cli(tmp_path, "report", "no-such-run", "--out", str(out)))
    assert code == 2 and "no run 'no-such-run'" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_finished_cases_and_says_how_to_resume(tmp_path: Path, sig: int) -> None:
    questions = bank_sample(5)
    suite = write_qa_suite(tmp_path / "tiny.jsonl", questions)
    out = tmp_path / "runs"
    with FakeOpenAIServer(default=text("It depends on the data.", delay_s=0.8)) as server:
        flags = ["--base-url", server.url, "--model", "fake-model", "--out", str(out)]
        run = _cli(tmp_path, "run", str(suite), "--solver", "raw", *flags)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and run.poll() is None:
            logs = list(out.glob("*/cases.jsonl"))
            if logs and logs[0].read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.05)
        run.send_signal(sig)
        code, _, err = _done(run, timeout=120)
    assert code == 130, err
    assert "--resume" in err and "Traceback" not in err
    log = next(out.glob("*/cases.jsonl"))
    records = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert 1 <= len(records) < len(questions)
    assert all(r["status"] == "ok" for r in records)  # the stopped case is not recorded as an error
