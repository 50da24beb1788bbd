"""The derivation checker against derivations taken from references nobody here wrote.

``data/external_calculus.yaml``: derivatives and antiderivatives from SymPy's own test suite, in
plain, Unicode and LaTeX spellings with every inverse-function notation of issue 14.
``data/external_notation.yaml``: matrix identities and gradients (The Matrix Cookbook, MML, ESL,
Deep Learning, PRML), sums (SymPy's concrete tests, Casella & Berger), expectations and Bayes' rule
(Blitzstein & Hwang). Each case names its source; ``-planted`` cases carry one planted mistake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mltutor.tools.checker import check_derivation, format_report

DATA = Path(__file__).parent / "data"
FILES = ("external_calculus.yaml", "external_notation.yaml")
CASES: list[dict[str, Any]] = [
    case for name in FILES for case in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
]


def test_corpus_is_external_broad_and_sourced() -> None:
    assert len(CASES) >= 150
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c.get("source", "").strip() for c in CASES)
    assert {c["notation"] for c in CASES} == {"plain", "unicode", "latex"}
    planted = [c for c in CASES if c["id"].endswith("-planted")]
    assert len(planted) >= 50
    assert all(c["verdict"] == "incorrect" for c in planted)
    assert sum(c["verdict"] == "correct" for c in CASES) >= 120


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_external_derivation(case: dict[str, Any]) -> None:
    report = check_derivation(case["text"])
    assert report.verdict == case["verdict"], format_report(report)
    assert report.first_wrong_step == case.get("first_wrong"), format_report(report)
    if "diagnosis" in case:
        wrong = next(s for s in report.steps if s.status == "wrong")
        assert wrong.diagnosis and case["diagnosis"] in wrong.diagnosis, format_report(report)


def test_correct_steps_are_never_wrong() -> None:
    """The worst failure: a step of a correct derivation judged wrong (counted over the corpus)."""
    misjudged = []
    for case in CASES:
        if case["verdict"] != "incorrect":
            report = check_derivation(case["text"])
            misjudged += [f"{case['id']}: {s.text}" for s in report.steps if s.status == "wrong"]
    assert not misjudged


def test_wrong_external_lines_get_a_diagnosis() -> None:
    """Planted slips in symbolic results are explained, not only flagged."""
    undiagnosed = []
    symbolic = [c for c in CASES if c["id"].endswith("-planted") and "diagnosis" in c]
    for case in symbolic:
        report = check_derivation(case["text"])
        wrong = [s for s in report.steps if s.status == "wrong"]
        if not wrong or not wrong[0].diagnosis:
            undiagnosed.append(case["id"])
    assert len(symbolic) >= 25
    assert not undiagnosed
