"""The derivation checker on a corpus of derivations across the study topics, in three notations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mltutor.tools.checker import check_derivation, format_report
from mltutor.tools.limits import ToolLimits

DATA = Path(__file__).parent / "data"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (DATA / "derivations.yaml").read_text(encoding="utf-8")
)
# written independently to imitate the held-out suite (realistic derivations, one planted mistake)
EXTRA: list[dict[str, Any]] = yaml.safe_load(
    (DATA / "derivations_extra.yaml").read_text(encoding="utf-8")
)


def test_corpus_is_broad() -> None:
    assert len(CASES) >= 40
    assert {c["notation"] for c in CASES} == {"plain", "unicode", "latex"}
    assert sum(c["verdict"] == "incorrect" for c in CASES) >= 15
    assert sum(c["verdict"] == "correct" for c in CASES) >= 15


@pytest.mark.parametrize("case", CASES + EXTRA, ids=[c["id"] for c in CASES + EXTRA])
def test_derivation(case: dict[str, Any]) -> None:
    report = check_derivation(case["text"])
    assert report.verdict == case["verdict"], format_report(report)
    assert report.first_wrong_step == case.get("first_wrong"), format_report(report)
    if "diagnosis" in case:
        wrong = next(s for s in report.steps if s.status == "wrong")
        assert wrong.diagnosis and case["diagnosis"] in wrong.diagnosis, format_report(report)


def test_defined_names_with_digits_are_reused() -> None:
    report = check_derivation("R2 = 0.8\n1/(1 - R2) = 5\nL1 = abs(w)\ndL1/dw = sign(w)")
    assert report.verdict == "correct", format_report(report)


def test_wrong_step_reports_expected_value() -> None:
    report = check_derivation("d/dx x^2 sin(x) = 2x sin(x)")
    step = report.steps[0]
    assert step.status == "wrong"
    assert step.expected is not None and "cos" in step.expected
    assert step.column == 19


def test_unparsed_step_has_column() -> None:
    report = check_derivation("x^2 = x x\n= 2 * (")
    assert [s.status for s in report.steps] == ["ok", "unparsed"]
    assert report.steps[1].column == 8
    assert report.verdict == "unverifiable"


def test_continuation_after_unparsed_is_unverifiable() -> None:
    report = check_derivation("x^2 = (\n= x x")
    assert [s.status for s in report.steps] == ["unparsed", "unverifiable"]


def test_rounding_rule() -> None:
    assert check_derivation("1 - 0.95^10 = 0.4013").verdict == "correct"
    assert check_derivation("1 - 0.95^10 = 0.40").verdict == "correct"
    assert check_derivation("1 - 0.95^10 = 0.4012").verdict == "incorrect"
    assert check_derivation("1/3 = 0.333").verdict == "correct"
    assert check_derivation("1/3 = 0.334").verdict == "incorrect"
    assert check_derivation("1/3 ≈ 0.3333").verdict == "correct"


def test_blank_and_comment_lines_keep_numbering() -> None:
    report = check_derivation("# MSE\nL = (yhat - y)^2\n\ndL/dyhat = yhat - y  # forgot the 2\n")
    assert [s.line for s in report.steps] == [2, 4]
    assert report.first_wrong_step == 4


def test_decoration_is_ignored() -> None:
    text = "$$\\frac{d}{dx} x^2 = 2x$$\n1. d/dx x^3 = 3x^2.\n&= 3x^2 \\\\"
    report = check_derivation(text)
    assert report.verdict == "correct", format_report(report)


def test_timeout_makes_step_unverifiable() -> None:
    limits = ToolLimits(timeout_s=0.3)
    report = check_derivation("d/dx x = ((x + 1)^200 - 1)^50", limits=limits)
    assert report.steps[0].status == "unverifiable"
    assert "gave up" in report.steps[0].message


def test_unknown_leibniz_name_is_unverifiable() -> None:
    report = check_derivation("dL/dw = 2w")
    assert report.steps[0].status == "unverifiable"
    assert "not defined" in report.steps[0].message


def test_json_shape() -> None:
    data = check_derivation("d/dx x^3 = 3x^3").to_json()
    assert set(data) == {"verdict", "first_wrong_step", "steps"}
    assert data["verdict"] == "incorrect" and data["first_wrong_step"] == 1
    step = data["steps"][0]
    assert {"line", "text", "status", "message"} <= set(step)
    json.dumps(data)


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mltutor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    ok = _cli("check", "-", stdin="d/dx x^2 = 2x\n")
    assert ok.returncode == 0, ok.stderr
    assert "Every step holds" in ok.stdout
    wrong = _cli("check", "--json", "-", stdin="d/dx x^2 = 2x\nd/dx x^3 = x^2\n")
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout)["first_wrong_step"] == 2
    missing = _cli("check", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x81\xfe\x00\xff")  # not UTF-8 (a BOM would make it UTF-16)
    assert _cli("check", str(binary)).returncode == 2
