"""Suite files: the schema, every bad line named with its line number, selection of cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mltutor.evals.bundled import load_suite
from mltutor.evals.errors import SuiteError
from mltutor.evals.suites import DerivationCase, QACase, Selection, load_file, select

GOOD_QA = {
    "kind": "qa",
    "id": "q1",
    "question": "Why does L1 give sparse weights?",
    "topic": "regularization",
}


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_file_loads_with_comments_blank_lines_and_default_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            "# my suite",
            json.dumps(GOOD_QA),
            "",
            json.dumps(
                {
                    "kind": "qa",
                    "question": "What is a p-value?",
                    "language": "en",
                    "difficulty": "easy",
                }
            ),
        ],
    )
    suite = load_file(path)
    assert suite.kind == "qa" and [c.id for c in suite.cases] == ["q1", "L4"]
    assert isinstance(suite.cases[1], QACase) and suite.cases[1].difficulty == "easy"
    assert len(suite.hash) == 64 and suite.hash == load_file(path).hash


def test_every_bad_line_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            json.dumps(GOOD_QA),
            '{"kind": "qa", "question": "unterminated',
            json.dumps({"kind": "essay", "question": "?"}),
            json.dumps({"kind": "qa", "id": "q3"}),
            json.dumps({**GOOD_QA, "language": "de"}),
            json.dumps(GOOD_QA),
            json.dumps({"kind": "derivation", "id": "d1", "steps": ["x = 1"]}),
            "[1, 2]",
            json.dumps({**GOOD_QA, "id": "q9", "colour": "red"}),
        ],
    )
    with pytest.raises(SuiteError) as info:
        load_file(path)
    problems = info.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "7", "8", "9"]
    text = "\n".join(problems)
    assert "not valid JSON" in text
    assert "kind must be one of" in text and "'essay'" in text
    assert "question: Field required" in text
    assert "language" in text
    assert "duplicate id 'q1' (first on line 1)" in text
    assert "kind 'derivation' in a 'qa' suite" in text
    assert "must be a JSON object" in text
    assert "colour" in text
    assert str(path) in info.value.message and "8 bad line(s)" in info.value.message


def test_derivation_step_out_of_range_and_grading_bands(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [json.dumps({"kind": "derivation", "steps": ["x^2 = 2x"], "first_wrong_step": 3})],
    )
    with pytest.raises(
        SuiteError, match=r"suite.jsonl:1: .*first_wrong_step is 3 but there are only 1"
    ):
        load_file(path)
    path = write(
        tmp_path,
        [
            json.dumps(
                {
                    "kind": "grading",
                    "question": "q",
                    "answers": [{"band": "good", "text": "a"}, {"band": "good", "text": "b"}],
                }
            )
        ],
    )
    with pytest.raises(SuiteError, match="two different bands"):
        load_file(path)


def test_not_utf8_and_empty_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(json.dumps(GOOD_QA).encode() + b"\n\xff\xfe\n")
    with pytest.raises(SuiteError, match=r"bad.jsonl:2: not UTF-8"):
        load_file(bad)
    empty = write(tmp_path, ["# nothing here"])
    with pytest.raises(SuiteError, match="no cases"):
        load_file(empty)
    with pytest.raises(SuiteError, match=r"no bundled suite or file 'nope\.jsonl'"):
        load_suite("nope.jsonl")


def test_derivation_text_joins_steps() -> None:
    case = DerivationCase(
        kind="derivation", id="d", steps=["d/dx x^2", "= 2x"], first_wrong_step=None
    )
    assert case.text == "d/dx x^2\n= 2x"


def test_selection_topics_language_per_topic_and_seeded_limit() -> None:
    cases = load_suite("bank").cases
    assert len({c.topic for c in cases}) >= 24
    one_each = select(cases, Selection(language="en", per_topic=1))
    assert len(one_each) == len({c.topic for c in cases})
    assert all(c.language == "en" for c in one_each)
    assert [c.id for c in one_each] == [
        c.id for c in select(cases, Selection(language="en", per_topic=1))
    ]
    calc = select(cases, Selection(topics=["calculus"], language="ru"))
    assert calc and all(c.topic == "calculus" and c.language == "ru" for c in calc)
    a = select(cases, Selection(limit=10, seed=1))
    b = select(cases, Selection(limit=10, seed=1))
    c = select(cases, Selection(limit=10, seed=2))
    assert [x.id for x in a] == [x.id for x in b] and [x.id for x in a] != [x.id for x in c]
    order = {x.id: i for i, x in enumerate(cases)}
    assert [order[x.id] for x in a] == sorted(order[x.id] for x in a)  # suite order kept
    with pytest.raises(SuiteError, match="no cases with topic astrology"):
        select(cases, Selection(topics=["astrology"]))


def test_cli_refuses_a_bad_suite_before_running(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(GOOD_QA), "{oops"])
    out = tmp_path / "runs"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mltutor.cli",
            "eval",
            "run",
            str(path),
            "--solver",
            "raw",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:2: not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()  # nothing started
