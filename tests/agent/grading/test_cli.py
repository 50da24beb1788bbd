"""``mltutor grade``: text and JSON output, stdin, exit codes, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mltutor.cli import main
from tests.agent.grading.conftest import LexicalSearch
from tests.agent.grading.test_deterministic import L1_GOOD, L1_QUESTION, L1_SWAPPED


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, search: LexicalSearch, session_cache: Path
) -> None:
    """Settings in tmp dirs; the notes search is the lexical one (no index build in tests)."""
    monkeypatch.setenv("MLTUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLTUTOR_CACHE_DIR", str(session_cache / "cache"))
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("MLTUTOR_BASE_URL", "MLTUTOR_MODEL", "MLTUTOR_JUDGE_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("mltutor.agent.grading.grader._lazy_search", lambda *args, **kwargs: search)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["grade", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--question", L1_QUESTION, "--answer", L1_SWAPPED)
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0].startswith("score ")
        and "/10 (wrong) · matched bank question regularization-1" in lines[0]
    )
    assert any(line.startswith("! contradicted: ") for line in lines)
    assert any(line.startswith("✗ missing: ") or line.startswith("✓ ") for line in lines)
    assert any(line.startswith("math: ") and "checked" in line for line in lines)


def test_covered_points_quote_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--question", L1_QUESTION, "--answer", L1_GOOD)
    assert code == 0 and "(good)" in out.splitlines()[0]
    lines = out.splitlines()
    covered = [i for i, line in enumerate(lines) if line.startswith("✓ ")]
    assert covered
    for i in covered:  # the quote is on the point's line, or below it when the point is long
        assert '"' in lines[i] or lines[i + 1].lstrip().startswith('"')


def test_json_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(L1_SWAPPED.encode()), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, _ = run(capsys, "--question", L1_QUESTION, "--answer", "-", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["band"] == "wrong" and data["question_id"] == "regularization-1"
    assert data["rubric_source"] == "bank" and data["grader"]["mode"] == "deterministic"
    assert any(k["verdict"] == "contradicted" for k in data["key_points"])
    assert isinstance(data["math"], list)


def test_question_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--question-id", "calculus-1", "--answer", "σ'(x) = σ(x)(1 − σ(x))", "--json"
    )
    data: dict[str, Any] = json.loads(out)
    assert code == 0 and data["question_id"] == "calculus-1"
    assert data["math"][0]["status"] == "ok"


def test_no_rubric_exits_1_and_says_what_was_tried(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--question", "What is the capital of France?", "--answer", "Paris", "--json"
    )
    assert code == 1
    data = json.loads(out)
    assert data["error"]["kind"] == "no_rubric" and data["error"]["tried"]
    assert "no rubric" in err and "tried: the question bank" in err


def test_unknown_bank_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--question-id", "nope-9", "--answer", "x")
    assert code == 1 and "no bank question with id 'nope-9'" in err


def test_missing_question_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--answer", "something")
    assert code == 2 and "--question" in err


def test_empty_answer_scores_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--question", L1_QUESTION, "--answer", "", "--json")
    data = json.loads(out)
    assert code == 0 and data["score"] == 0 and "the answer is empty" in data["grader"]["notes"]
