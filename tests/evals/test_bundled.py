"""The bundled suites: each read from its one source of truth, with the counts `eval list` shows."""

from __future__ import annotations

import json
import subprocess
import sys

from mltutor.evals.bundled import BUNDLED, DATA_DIR, load_bundled
from mltutor.evals.retrieval_eval import load_queries
from mltutor.evals.suites import GradingCase, QACase
from mltutor.knowledge.bank import load_questions
from mltutor.knowledge.questions import has_cyrillic
from tests.evals.make_derivations_suite import suite_lines


def test_derivations_suite_matches_the_checker_corpora() -> None:
    shipped = (DATA_DIR / "derivations.jsonl").read_text(encoding="utf-8").splitlines()
    assert shipped == suite_lines(), "run: python -m tests.evals.make_derivations_suite"
    suite = load_bundled("derivations")
    assert len(suite.cases) >= 200
    wrong = [c for c in suite.cases if c.first_wrong_step is not None]  # type: ignore[union-attr]
    assert len(wrong) >= 90 and len(suite.cases) - len(wrong) >= 100


def test_bank_suite_is_the_bank_in_both_languages() -> None:
    questions = load_questions()
    suite = load_bundled("bank")
    cases = [c for c in suite.cases if isinstance(c, QACase)]
    assert len(cases) == len(questions) + sum(q.has_russian for q in questions)
    assert len({c.id for c in cases}) == len(cases)
    by_id = {q.id: q for q in questions}
    for c in cases:
        q = by_id[c.bank_id or ""]
        assert c.topic == q.topic and c.difficulty == q.difficulty
        assert c.key_points == q.key_points_in(c.language)
        if c.language == "ru":
            assert has_cyrillic(c.question) and c.id == f"{q.id}:ru"
        else:
            assert c.question == q.question


def test_retrieval_suite_is_the_retrieval_eval_query_files() -> None:
    suite = load_bundled("retrieval")
    queries = load_queries()
    assert len(suite.cases) == len(queries)
    assert [c.query for c in suite.cases] == [q.query for q in queries]  # type: ignore[union-attr]


def test_grading_suite_is_the_grading_set() -> None:
    suite = load_bundled("grading")
    lines = [
        json.loads(x)
        for x in (DATA_DIR / "grading.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    assert len(suite.cases) == len(lines) >= 40
    first = suite.cases[0]
    assert isinstance(first, GradingCase) and first.id == lines[0]["id"]
    assert [a.band for a in first.answers] == ["good", "partial", "wrong"]


def test_eval_list_json_counts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mltutor.cli", "eval", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == set(BUNDLED)
    for name, row in rows.items():
        assert row["cases"] == len(load_bundled(name).cases) and row["kind"] == BUNDLED[name].kind
