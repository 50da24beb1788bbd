"""Issue 15: a user's eval suite file with bad lines, huge lines, wrong types, bytes that are not
UTF-8, a BOM, CRLF, deep nesting, huge numbers. ``load_file`` either returns exactly the good cases
or raises a SuiteError that names every bad line (``file:line: what``) and nothing else: never
another exception. A suite that loads runs to the end: hostile text inside a valid case gives a
record for every case, never a crash mid-run.

Found here: a U+2028 / U+0085 inside a JSON string split the line (a valid file was refused, with
wrong line numbers); a line nested thousands deep raised RecursionError and a 5,000-digit number
ValueError out of ``load_file``; the whole file was read whatever its size; a ``\\ud800`` escape
loaded as a case and crashed the run when its record was written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.errors import SuiteError
from mltutor.evals.records import RunConfig
from mltutor.evals.reports import summarize
from mltutor.evals.rundir import RunDir
from mltutor.evals.suites import MAX_SUITE_BYTES, load_file
from mltutor.settings import Settings

ODD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(["a\u2028b", "\u0085", "\u202eRTL\u200f", "\ufeff", "x\x00y", "\r"])

GOOD = "good"
BAD = "bad"
SKIPPED = "skipped"


@st.composite
def good_line(draw: st.DrawFn, n: int) -> tuple[str, bytes]:
    question = draw(ODD_TEXT).strip() or "q"
    row = {"kind": "qa", "id": f"c{n}", "question": question, "topic": "t"}
    text = json.dumps(row, ensure_ascii=draw(st.booleans()))
    return GOOD, text.encode("utf-8")


BAD_LINES = [
    b"{not json",
    b'{"kind": "qa", "question": ',
    b"[1, 2, 3]",
    b'"just a string"',
    b"42",
    b'{"kind": "nope", "question": "q"}',
    b'{"kind": ["qa"], "question": "q"}',
    b'{"kind": {"a": 1}, "question": "q"}',
    b'{"kind": "qa", "question": 5}',
    b'{"kind": "qa", "question": ""}',
    b'{"kind": "qa", "question": null, "id": 7}',
    b'{"kind": "qa", "question": "q", "extra": 1}',
    b'{"kind": "qa", "question": "' + b"a" * 30_000 + b'"}',
    b'{"kind": "qa", "question": "q", "id": ' + b"9" * 5000 + b"}",
    b'{"kind": "qa", "question": ' + b"[" * 50_000,
    b'{"kind": "qa", "question": "raw \x00 nul"}',
    b'{"kind": "derivation", "steps": []}',
    b'{"kind": "derivation", "steps": ["x=1"], "first_wrong_step": 9}',
    b'{"kind": "derivation", "steps": ["x=1"], "first_wrong_step": NaN}',
    b'{"kind": "qa", "question": "q", "difficulty": 3}',
    b'{"kind": "qa", "question": "lone \\ud800 escape"}',
]


def bad_line() -> st.SearchStrategy[tuple[str, bytes]]:
    return st.sampled_from(BAD_LINES).map(lambda b: (BAD, b))


def skipped_line() -> st.SearchStrategy[tuple[str, bytes]]:
    return st.sampled_from([b"", b"   ", b"# a comment", b"\t# indented comment"]).map(
        lambda b: (SKIPPED, b)
    )


@st.composite
def suite_file(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """A suite's lines, what each one is, and the file's bytes (BOM and CRLF at random)."""
    lines: list[tuple[str, bytes]] = []
    for n in range(draw(st.integers(0, 8))):
        lines.append(draw(st.one_of(good_line(n), bad_line(), skipped_line())))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = newline.join(b for _, b in lines) + (newline if draw(st.booleans()) else b"")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return [k for k, _ in lines], data


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(suite_file())
def test_a_suite_loads_exactly_its_good_lines_or_names_every_bad_one(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[str], bytes]
) -> None:
    kinds, data = case
    path = tmp_path_factory.mktemp("suite") / "user.jsonl"
    path.write_bytes(data)
    bad = [n for n, k in enumerate(kinds, 1) if k == BAD]
    good = [n for n, k in enumerate(kinds, 1) if k == GOOD]
    try:
        suite = load_file(path)
    except SuiteError as exc:
        named = sorted(int(p.removeprefix(f"{path}:").split(":", 1)[0]) for p in exc.problems)
        if bad:
            assert named == bad, (exc.problems, kinds)
            assert str(exc).startswith(f"{path}: {len(bad)} bad line(s)")
        else:
            assert not good and "no cases" in str(exc)
        return
    assert not bad
    assert [c.id for c in suite.cases] == [f"c{n - 1}" for n in good]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'{"kind":"qa","question":"q"}\n\xff\xfe\n', 2),
        (
            b'{"kind":"qa","question":"q"}\r\n{"kind":"qa","id":"b","question":"\xed\xa0\x80"}\r\n',
            2,
        ),
        ('{"kind":"qa","question":"q"}\n'.encode("utf-16"), 1),
        (b'\n\n{"kind":"qa","question":"caf\xe9"}\n', 3),
    ],
)
def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path, data: bytes, line: int) -> None:
    path = tmp_path / "enc.jsonl"
    path.write_bytes(data)
    with pytest.raises(SuiteError, match=f"{path}:{line}: not UTF-8 text"):
        load_file(path)


def test_separators_inside_strings_are_text_not_line_breaks(tmp_path: Path) -> None:
    rows = [
        {"kind": "qa", "id": "a", "question": "first\u2028second", "topic": "t"},
        {"kind": "qa", "id": "b", "question": "nel\u0085here\u2029", "topic": "t"},
    ]
    path = tmp_path / "sep.jsonl"
    path.write_bytes(b"\r\n".join(json.dumps(r, ensure_ascii=False).encode() for r in rows))
    suite = load_file(path)
    assert [c.question for c in suite.cases] == [r["question"] for r in rows]  # type: ignore[union-attr]


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:  # sparse: nothing on disk
        f.truncate(MAX_SUITE_BYTES + 10)
    with pytest.raises(SuiteError, match="larger than"):
        load_file(path)
    with pytest.raises(SuiteError, match="cannot read suite"):
        load_file(tmp_path)  # a directory


HOSTILE_STEPS = [
    ["\U0001f642 = \u00e9"],  # escaped as a surrogate pair by json.dumps: valid
    ["x\x00 = x"],
    ["9^9^9^9 = 1"],
    ["(" * 400 + "x" + ")" * 400 + " = x"],
    ["__import__('os').system('touch /tmp/pwned')"],
    ["(10^400)! = 1", "0.33333333333333333333333333333 = 1/3"],
    ["\u202ex = 1\u202c", "\u2028"],
    ["x" * 20_000],
]


def test_hostile_text_in_valid_cases_runs_to_the_end(tmp_path: Path, settings: Settings) -> None:
    rows = [
        {"kind": "derivation", "id": f"h{i}", "steps": steps, "topic": "t"}
        for i, steps in enumerate(HOSTILE_STEPS)
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    suite = load_suite(str(path))
    out = launch.start(
        suite,
        RunConfig(suite=suite.source, solver="checker"),
        settings,
        tmp_path,
        run_dir=tmp_path / "run",
    )
    assert out.remaining == 0 and not out.interrupted
    latest = RunDir.open(tmp_path / "run").latest()
    assert set(latest) == {r["id"] for r in rows}
    assert all(r.status in ("ok", "error") for r in latest.values())
    summarize(tmp_path / "run")  # the report reads every record back
    for log in (tmp_path / "run").glob("*.jsonl"):
        for line in log.read_text(encoding="utf-8").splitlines():
            json.loads(line)
    assert not Path("/tmp/pwned").exists()
