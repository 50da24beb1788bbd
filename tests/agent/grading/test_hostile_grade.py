"""Issue 15: hostile question and answer text for the grader and ``mltutor grade``.

Whatever the text (empty, 50,000 characters, NUL bytes, lone surrogates, right-to-left marks, only a
formula, code, ``9^9^9^9``, parentheses nested hundreds deep) the grader returns a grade or a typed
NoRubricError, within a bound, and never runs the text as Python: ``eval``, ``exec``, ``sympify`` and
``parse_expr`` on a string fail loudly and leave a marker file (bounded SymPy work runs in forked
worker processes, which inherit the patches; an assertion raised there would only be reported as
"unverifiable", so the marker is what the test checks). The grade's JSON is valid and encodable.
Through the command line: ``--json`` prints exactly one JSON document with the documented exit
code (0 graded, 1 no rubric, 2 bad input).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sympy.parsing import sympy_parser

from mltutor.agent.errors import NoRubricError
from mltutor.agent.grading import Grader
from mltutor.cli import main
from tests.agent.grading.conftest import LexicalSearch
from tests.agent.grading.test_deterministic import L1_GOOD, L1_QUESTION

BOUND_S = 30.0
"""Most one grade may take, whatever the text (formula checks are bounded at a few seconds each)."""

HOSTILE = [
    "",
    "   \n\t ",
    "x" * 50_000,
    "L1 " * 17_000,
    "a\x00b\x00" * 100,
    "\x00",
    "\ud800 lone surrogate \udfff",
    "\udcff\udcfe",  # what undecodable bytes in argv become
    "\u202e\u05e2\u05d1\u05e8\u05d9\u05ea \u0645\u0631\u062d\u0628\u0627 L1 \u200f\u200e",
    "\u200b\u200c\u200d\ufeff" * 50,
    "e\u0301" * 200 + " Z\u0336\u0335\u0334" * 100,
    "σ'(x) = σ(x)(1 − σ(x))",
    "$$\\frac{\\partial L}{\\partial w} = X^T(Xw - y)$$",
    "__import__('os').system('touch /tmp/pwned')",
    "eval('1+1'); exec('import os')",
    "().__class__.__bases__[0].__subclasses__()",
    "9^9^9^9",
    "2 ** 2 ** 2 ** 2 ** 2 ** 2",
    "(" * 500 + "x" + ")" * 500,
    "(" * 3000,
    "x = " + "(" * 200 + "1" + ")" * 200,
    "f(x) = x^(10^6), f(3^100) = 1",
    "(x+1)^(10^6) = 0",
    "0.33333333333333333333333333333 = 1/3",
    "(10^400)! = 1",
    "1" * 5000 + " = 1",
    "10^(10^400) = 0",
    "\\input{/etc/passwd} \\write18{rm -rf /}",
    "${jndi:ldap://x}",
    "🙂" * 1000,
    "L1 регуляризация " * 500,
]

QUESTIONS = [
    L1_QUESTION,
    "",
    "?" * 3,
    "x" * 50_000,
    "\ud800\x00",
    "__import__('os').system('touch /tmp/pwned')",
    "(" * 2000,
    "\u202eWhy does L1 give sparse weights?\u202c",
]


@pytest.fixture(scope="module", autouse=True)
def _warm(grader: Grader) -> None:
    """Lazy imports (which legitimately exec generated code) happen before the guards go up."""
    grader.grade(L1_QUESTION, L1_GOOD + " σ'(x) = σ(x)(1 − σ(x)) and x^2 = 4")
    grader.grade(L1_QUESTION, "$$\\frac{\\partial L}{\\partial w} = \\lambda \\, sign(w)$$")


CODEGEN = frozenset(
    {"collections", "dataclasses", "typing", "enum", "functools", "pydantic", "hypothesis"}
)
"""Code generators (``namedtuple``, ``@dataclass``, ``@given``) that exec their own templates."""


def _from_codegen() -> bool:
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return str(caller).split(".")[0] in CODEGEN


@pytest.fixture
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "code-execution-attempted"


@pytest.fixture
def no_code_execution(monkeypatch: pytest.MonkeyPatch, marker: Path) -> Iterator[None]:
    """Every way of running text as code fails loudly and leaves ``marker`` (also in workers)."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        with open(marker, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"{os.getpid()}: {str(args[:1])[:200]}\n")
        raise AssertionError(f"code execution attempted with {str(args[:1])[:200]}")

    real_sympify = sympy.sympify
    real_eval, real_exec = builtins.eval, builtins.exec

    def guarded_sympify(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str):
            forbidden(a)
        return real_sympify(a, *args, **kwargs)

    def guarded_eval(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str) and not _from_codegen():
            forbidden(source)
        return real_eval(source, *args, **kwargs)

    def guarded_exec(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str) and not _from_codegen():
            forbidden(source)
        return real_exec(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", guarded_eval)
    monkeypatch.setattr(builtins, "exec", guarded_exec)
    monkeypatch.setattr(os, "system", forbidden)
    monkeypatch.setattr(sympy, "sympify", guarded_sympify)
    monkeypatch.setattr(sys.modules["sympy.core.sympify"], "sympify", guarded_sympify)
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden)
    yield
    assert not marker.exists(), marker.read_text(encoding="utf-8")
    assert not Path("/tmp/pwned").exists()


def _grade_json(grader: Grader, question: str, answer: str, **kw: Any) -> dict[str, Any] | None:
    """The grade as the CLI prints it (None for a typed no-rubric answer), checked for bounds."""
    start = time.perf_counter()
    try:
        grade = grader.grade(question, answer, **kw)
    except NoRubricError as exc:
        assert exc.message and "Traceback" not in exc.message
        assert time.perf_counter() - start < BOUND_S
        return None
    took = time.perf_counter() - start
    assert took < BOUND_S, f"{took:.1f} s for {answer[:60]!r}"
    data: dict[str, Any] = grade.to_json(with_rubric=True)
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # no lone surrogates: stdout is UTF-8
    assert 0 <= data["score"] <= 10 and data["band"] in ("good", "partial", "wrong")
    return data


@pytest.mark.parametrize("answer", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_get_a_bounded_grade(
    grader: Grader, answer: str, no_code_execution: None
) -> None:
    data = _grade_json(grader, L1_QUESTION, answer)
    assert data is not None and data["question_id"] == "regularization-1"
    if len(answer) > 6000:
        assert any("cut at" in n for n in data["grader"]["notes"])


@pytest.mark.parametrize("question", QUESTIONS, ids=range(len(QUESTIONS)))
def test_hostile_questions_get_a_grade_or_no_rubric(
    grader: Grader, question: str, no_code_execution: None
) -> None:
    _grade_json(grader, question, L1_GOOD)


@pytest.mark.parametrize("answer", ["9^9^9^9", "\ud800", "(" * 500], ids=range(3))
def test_hostile_answers_to_a_bank_id(grader: Grader, answer: str, no_code_execution: None) -> None:
    data = _grade_json(grader, "", answer, question_id="calculus-1")
    assert data is not None and data["question_id"] == "calculus-1"


PIECES = st.sampled_from(
    [
        "L1",
        " sparse ",
        " weights ",
        "λ",
        "|w|",
        "=",
        "^",
        "(",
        ")",
        "9",
        "\x00",
        "\ud800",
        "\u202e",
        "\n",
        ". ",
        "σ(x)",
        "d/dx",
        "∫",
        "__import__('os')",
        "exec(",
        "10^400",
        "!",
        "$",
        "\\frac{",
        "}",
        "не ",
        "ромб",
    ]
)
answers = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=30).map("".join)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(answer=answers)
@example(answer="L1=\ud800")  # found by a full run: the surrogate was quoted back as evidence
def test_random_answers_always_get_a_valid_grade(
    grader: Grader, answer: str, no_code_execution: None
) -> None:
    data = _grade_json(grader, L1_QUESTION, answer)
    assert data is not None


# -- through the command line ------------------------------------------------------------------


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, search: LexicalSearch, session_cache: Path
) -> None:
    monkeypatch.setenv("MLTUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLTUTOR_CACHE_DIR", str(session_cache / "cache"))
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("MLTUTOR_BASE_URL", "MLTUTOR_MODEL", "MLTUTOR_JUDGE_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("mltutor.agent.grading.grader._lazy_search", lambda *a, **k: search)


class _Stdout(io.TextIOWrapper):
    """A UTF-8 stdout with strict errors, like a terminal's: a lone surrogate cannot be printed."""


def _run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: bytes = b"",
) -> tuple[int, str, str]:
    raw = io.BytesIO()
    out = _Stdout(raw, encoding="utf-8", errors="strict", write_through=True)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    monkeypatch.setattr("sys.stdout", out)
    start = time.perf_counter()
    code = main(["grade", *argv])
    assert time.perf_counter() - start < BOUND_S + 10
    out.flush()
    _, err = capsys.readouterr()
    return code, raw.getvalue().decode("utf-8"), err


@pytest.mark.parametrize(
    ("question", "answer", "stdin", "code"),
    [
        (L1_QUESTION, L1_GOOD.replace(" ", " \ud800 ", 3).replace("L1", "L1\udcff"), b"", 0),
        (L1_QUESTION, "-", b"\xff\xfe L1 \x00 sparse " + b"(" * 3000, 0),
        (L1_QUESTION, "__import__('os').system('touch /tmp/pwned')", b"", 0),
        (L1_QUESTION, "-", b"9^9^9^9 = " + b"1" * 50_000, 0),
        ("zxqv wplk \ud800 " * 50, "an answer", b"", 1),
    ],
    ids=range(5),
)
def test_cli_json_is_valid_with_the_documented_exit_code(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_env: None,
    no_code_execution: None,
    question: str,
    answer: str,
    stdin: bytes,
    code: int,
) -> None:
    got, out, err = _run(
        capsys, monkeypatch, "--question", question, "--answer", answer, "--json", stdin=stdin
    )
    assert got == code, err
    data = json.loads(out)  # exactly one JSON document
    if code == 0:
        assert data["band"] in ("good", "partial", "wrong")
    else:
        assert data["error"]["kind"] == "no_rubric" and data["error"]["message"]
    assert "Traceback" not in err


def test_cli_no_question_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cli_env: None
) -> None:
    got, out, err = _run(capsys, monkeypatch, "--answer", "x", "--json")
    assert got == 2 and "give the question" in err
    assert json.loads(out)["error"]["kind"] == "input"
